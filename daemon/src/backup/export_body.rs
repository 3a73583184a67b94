//! The bytes of an attachment blob (canonical `{"base64":"..."}`) decoded as the JSON streams
//! in, so that the export writes a large attachment without holding it (and the attachments
//! task holds its bytes only, not also its JSON).

use std::io::{self, Write};

use base64::Engine as _;

/// What the canonical JSON of an attachment blob starts with.
const HEAD: &[u8] = br#"{"base64":""#;
/// What it ends with (base64 has no `"`: the first one ends the string).
const TAIL: &[u8] = br#""}"#;

/// A `Write` taking the canonical JSON of an attachment blob and writing the bytes its base64
/// stands for into `out`. Anything else than that JSON is `InvalidData`.
pub(crate) struct Base64Body<W: Write> {
    out: W,
    /// How much of [`HEAD`] was seen.
    head: usize,
    /// How much of [`TAIL`] was seen (the string is over once it is not 0).
    tail: usize,
    /// Base64 characters short of a whole quad, waiting for the next write.
    carry: Vec<u8>,
    /// Decoded bytes written.
    written: u64,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("attachment blob: {what}"),
    )
}

impl<W: Write> Base64Body<W> {
    pub(crate) fn new(out: W) -> Self {
        Base64Body {
            out,
            head: 0,
            tail: 0,
            carry: Vec::with_capacity(4),
            written: 0,
        }
    }

    /// Checks that the whole JSON came, flushes, and returns the number of bytes written.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        if self.head < HEAD.len() || self.tail < TAIL.len() || !self.carry.is_empty() {
            return Err(invalid("cut short"));
        }
        self.out.flush()?;
        Ok(self.written)
    }

    /// Decodes every whole quad of `carry` + `chars`; keeps the rest.
    fn body(&mut self, chars: &[u8]) -> io::Result<()> {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chars);
        let whole = data.len() / 4 * 4;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&data[..whole])
            .map_err(|e| invalid(&e.to_string()))?;
        self.out.write_all(&bytes)?;
        self.written += bytes.len() as u64;
        data.drain(..whole);
        self.carry = data;
        Ok(())
    }
}

impl<W: Write> Write for Base64Body<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        if self.head < HEAD.len() {
            let n = (HEAD.len() - self.head).min(rest.len());
            if rest[..n] != HEAD[self.head..self.head + n] {
                return Err(invalid("not {\"base64\": ...}"));
            }
            self.head += n;
            rest = &rest[n..];
        }
        if self.tail == 0 {
            let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
            self.body(&rest[..end])?;
            rest = &rest[end..];
        }
        if !rest.is_empty() {
            let n = rest.len();
            if self.tail + n > TAIL.len() || rest != &TAIL[self.tail..self.tail + n] {
                return Err(invalid("trailing bytes after the base64 string"));
            }
            self.tail += n;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::Base64Body;

    fn through(json: &[u8], step: usize) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut body = Base64Body::new(&mut out);
        for piece in json.chunks(step.max(1)) {
            body.write_all(piece)?;
        }
        body.finish()?;
        Ok(out)
    }

    #[test]
    fn decodes_the_base64_of_the_json_whatever_the_write_sizes() {
        for len in [0usize, 1, 2, 3, 4, 5, 1000, 70_001] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let json = crate::store::canonical_json(
                &serde_json::to_value(crate::model::AttachmentBytes::new(&bytes)).unwrap(),
            );
            for step in [1, 2, 3, 5, 11, 4096, json.len()] {
                assert_eq!(through(&json, step).unwrap(), bytes, "{len} by {step}");
            }
        }
    }

    #[test]
    fn anything_else_is_invalid_data() {
        for bad in [
            &br#"{"base64":"QUJD"#[..],
            br#"{"base64":"QUJD"}x"#,
            br#"{"base64":"QUJ"}"#,
            br#"{"base64":"QU!D"}"#,
            br#"{"other":"QUJD"}"#,
            br#"{"base64":"QUJD","x":1}"#,
            b"",
        ] {
            let err = through(bad, 3).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{bad:?}");
        }
    }
}
