//! Blob codec: canonical JSON, its SHA-256 key, and zstd compression.
//!
//! Every entity a backup holds goes through [`EncodedBlob::encode`] before it reaches a
//! [`Store`](super::Store): the key is the hash of the canonical, *uncompressed* bytes, so two
//! backups of an unchanged object produce the same key and the second one costs nothing, no
//! matter how the API happened to order the object's keys.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::error::{BlobProblem, Error, Result};

/// zstd level for blobs. Level 3 (zstd's default) is fast enough to keep up with the API and
/// already shrinks Assets JSON several-fold; higher levels cost CPU for a few percent.
const ZSTD_LEVEL: i32 = 3;

/// Largest decompressed blob we accept: the base64 JSON of the largest attachment a site may
/// send (`max_download_mb`) is about 4/3 of it. Decoding allocates as the data decompresses
/// (at most [`RESERVE`] ahead), so a corrupted `raw_len` cannot make us allocate more than
/// the blob really holds.
const MAX_RAW_LEN: u64 = 8 << 30;
/// Memory reserved for a blob's JSON before decompressing it.
const RESERVE: u64 = 8 << 20;

/// Serializes `value` as canonical JSON: object keys sorted (by their UTF-8 bytes) at every
/// depth, no whitespace. Strings and numbers are written exactly as serde_json writes them.
///
/// We don't rely on `serde_json::Map` being a `BTreeMap`: another crate in the build may turn
/// on serde_json's `preserve_order` feature, which would silently change every hash.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(key, out);
                out.push(b':');
                write_canonical(val, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string or scalar into a Vec cannot fail: no I/O, no non-string map keys.
    let written = serde_json::to_writer(&mut *out, value);
    debug_assert!(written.is_ok());
}

/// Lower-case hex SHA-256 of `bytes`: the key of a blob.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One entity ready to be stored: key, uncompressed length and zstd bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBlob {
    /// Hex SHA-256 of the canonical JSON.
    pub hash: String,
    /// Length of the canonical JSON in bytes.
    pub raw_len: usize,
    /// The canonical JSON, zstd-compressed.
    pub data: Vec<u8>,
}

impl EncodedBlob {
    /// Canonicalizes, hashes and compresses `value`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if zstd fails (it only does on allocation failure).
    pub fn encode(value: &Value) -> Result<Self> {
        let raw = canonical_json(value);
        let hash = content_hash(&raw);
        let data = zstd::bulk::compress(&raw, ZSTD_LEVEL)?;
        Ok(EncodedBlob {
            hash,
            raw_len: raw.len(),
            data,
        })
    }
}

/// A blob encoded into a file rather than memory (a large attachment): key, uncompressed
/// length, and the zstd bytes in `file` (`data_len` of them, read from its start).
#[derive(Debug)]
pub struct SpooledBlob {
    /// Hex SHA-256 of the canonical JSON.
    pub hash: String,
    /// Length of the canonical JSON in bytes.
    pub raw_len: u64,
    /// Length of the compressed bytes.
    pub data_len: u64,
    /// The compressed bytes (an unnamed temporary file).
    pub file: std::fs::File,
}

/// Encodes the canonical JSON `{"<field>":"<standard base64 of src>"}` into `out` as it reads
/// `src`, never holding it: the same key, length and bytes as [`EncodedBlob::encode`] of that
/// object (base64 has no character JSON escapes, so the string is the base64 itself).
///
/// # Errors
///
/// [`Error::Io`] when reading `src` or writing `out` fails.
pub fn encode_base64_object(
    field: &str,
    mut src: impl std::io::Read,
    out: std::fs::File,
) -> Result<SpooledBlob> {
    use std::io::{Seek as _, Write as _};

    /// Hashes and counts what it passes on to the compressor. It takes every write whole:
    /// base64's `EncoderWriter` answers a write with `Ok(0)` while it flushes what its
    /// delegate took only in part, which `io::copy` reads as a dead writer.
    struct Tee<W> {
        hasher: Sha256,
        len: u64,
        inner: W,
    }
    impl<W: std::io::Write> std::io::Write for Tee<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.inner.write_all(buf)?;
            self.hasher.update(buf);
            self.len += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }

    let zstd = zstd::stream::Encoder::new(std::io::BufWriter::new(out), ZSTD_LEVEL)?;
    let mut tee = Tee {
        hasher: Sha256::new(),
        len: 0,
        inner: zstd,
    };
    let mut head = Vec::with_capacity(field.len() + 8);
    head.push(b'{');
    write_json(field, &mut head);
    head.extend_from_slice(b":\"");
    tee.write_all(&head)?;
    let mut b64 =
        base64::write::EncoderWriter::new(tee, &base64::engine::general_purpose::STANDARD);
    std::io::copy(&mut src, &mut b64)?;
    let mut tee = b64.finish()?;
    tee.write_all(b"\"}")?;
    let mut file = tee
        .inner
        .finish()?
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    let data_len = file.stream_position()?;
    file.rewind()?;
    Ok(SpooledBlob {
        hash: hex::encode(tee.hasher.finalize()),
        raw_len: tee.len,
        data_len,
        file,
    })
}

/// Decompresses a stored blob and checks it against its key, returning the canonical JSON.
///
/// Reads always verify: a restore must never write silently corrupted data back to a site, and
/// hashing a few KiB is cheap next to an API call.
///
/// # Errors
///
/// [`Error::Corrupt`] when the blob does not decompress to `raw_len` bytes hashing to `hash`.
pub fn decode_blob(hash: &str, data: &[u8], raw_len: i64) -> Result<Vec<u8>> {
    let corrupt = |problem, source| Error::Corrupt {
        hash: hash.to_owned(),
        problem,
        source,
    };
    let raw_len = u64::try_from(raw_len)
        .ok()
        .filter(|n| *n <= MAX_RAW_LEN)
        .ok_or_else(|| corrupt(BlobProblem::LengthMismatch, None))?;
    let raw = if raw_len <= RESERVE {
        // The common case (every entity but a large attachment): one allocation of the
        // recorded length, which bounds what zstd may write.
        zstd::bulk::decompress(data, raw_len as usize)
            .map_err(|e| corrupt(BlobProblem::Undecodable, Some(e)))?
    } else {
        // Read at most one byte past the recorded length: enough to tell a longer blob,
        // never more than that; the buffer grows with what really decompresses.
        let mut raw = Vec::with_capacity(RESERVE as usize);
        let decoder = zstd::stream::read::Decoder::with_buffer(data)
            .map_err(|e| corrupt(BlobProblem::Undecodable, Some(e)))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(decoder, raw_len + 1), &mut raw)
            .map_err(|e| corrupt(BlobProblem::Undecodable, Some(e)))?;
        raw
    };
    if raw.len() as u64 != raw_len {
        return Err(corrupt(BlobProblem::LengthMismatch, None));
    }
    if content_hash(&raw) != hash {
        return Err(corrupt(BlobProblem::HashMismatch, None));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_recursively_and_drops_whitespace() {
        let a: Value = serde_json::from_str(
            r#"{ "b": 1, "a": { "z": [ {"y": 2, "x": 1} ], "c": "é\n" }, "A": null }"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&a)).unwrap(),
            r#"{"A":null,"a":{"c":"é\n","z":[{"x":1,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn canonical_json_is_independent_of_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"id":"7","attrs":{"n":1,"m":[1,2]},"k":true}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"k":true,"attrs":{"m":[1,2],"n":1},"id":"7"}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            EncodedBlob::encode(&a).unwrap().hash,
            EncodedBlob::encode(&b).unwrap().hash
        );
        // Array order is data, not formatting: it must change the hash.
        let c = json!({"k":true,"attrs":{"m":[2,1],"n":1},"id":"7"});
        assert_ne!(canonical_json(&a), canonical_json(&c));
    }

    #[test]
    fn encode_then_decode_round_trips_and_checks_the_hash() {
        let v = json!({"name": "Laptop", "attributes": [{"id": 1, "value": "x".repeat(500)}]});
        let blob = EncodedBlob::encode(&v).unwrap();
        assert!(
            blob.data.len() < blob.raw_len,
            "repetitive JSON must compress"
        );
        let raw = decode_blob(&blob.hash, &blob.data, blob.raw_len as i64).unwrap();
        assert_eq!(raw, canonical_json(&v));

        let other = content_hash(b"something else");
        let err = decode_blob(&other, &blob.data, blob.raw_len as i64).unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt {
                problem: BlobProblem::HashMismatch,
                ..
            }
        ));
        let err = decode_blob(&blob.hash, b"not zstd", blob.raw_len as i64).unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt {
                problem: BlobProblem::Undecodable,
                ..
            }
        ));
        // A recorded length too long (even a huge one, which allocates nothing).
        for wrong in [blob.raw_len as i64 + 5, 4 << 30] {
            let err = decode_blob(&blob.hash, &blob.data, wrong).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Corrupt {
                        problem: BlobProblem::LengthMismatch,
                        ..
                    }
                ),
                "{wrong}: {err:?}"
            );
        }
        let err = decode_blob(&blob.hash, &blob.data, -1).unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt {
                problem: BlobProblem::LengthMismatch,
                ..
            }
        ));
    }

    #[test]
    fn a_base64_object_encoded_from_a_stream_is_the_blob_of_its_json() {
        use std::io::Read as _;
        // Random bytes (xorshift) of several MiB make zstd take its input in part, which
        // the base64 writer must survive.
        let mut x: u64 = 88_172_645_463_325_252;
        let mut random = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        };
        for len in [0usize, 1, 2, 3, 4, 100_000, 300_001, 6 << 20] {
            let bytes: Vec<u8> = (0..len).map(|_| random()).collect();
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
            let value = json!({ "base64": b64 });
            let whole = EncodedBlob::encode(&value).unwrap();
            let mut spooled =
                encode_base64_object("base64", bytes.as_slice(), tempfile::tempfile().unwrap())
                    .unwrap();
            assert_eq!(
                (spooled.hash.as_str(), spooled.raw_len),
                (whole.hash.as_str(), whole.raw_len as u64),
                "{len}"
            );
            let mut data = Vec::new();
            spooled.file.read_to_end(&mut data).unwrap();
            assert_eq!(data.len() as u64, spooled.data_len);
            let raw = decode_blob(&spooled.hash, &data, spooled.raw_len as i64).unwrap();
            assert_eq!(raw, canonical_json(&value), "{len}");
        }
    }

    #[test]
    fn a_blob_over_the_reserve_decodes_as_it_streams_and_checks_its_length() {
        let v = json!({ "base64": "QUJD".repeat(((RESERVE as usize) / 4) + 1000) });
        let blob = EncodedBlob::encode(&v).unwrap();
        assert!(blob.raw_len as u64 > RESERVE);
        let raw = decode_blob(&blob.hash, &blob.data, blob.raw_len as i64).unwrap();
        assert!(raw == canonical_json(&v));
        for wrong in [blob.raw_len as i64 - 1, blob.raw_len as i64 + 1] {
            let err = decode_blob(&blob.hash, &blob.data, wrong).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Corrupt {
                        problem: BlobProblem::LengthMismatch,
                        ..
                    }
                ),
                "{wrong}: {err:?}"
            );
        }
    }

    #[test]
    fn content_hash_is_lower_hex_sha256() {
        assert_eq!(
            content_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
