//! How the daemon writes a log field: control characters escaped and long values cut, so a
//! value that came in a request (a site or schema name, a description, a path) can neither
//! forge a log line with a newline, write raw NULs or escape sequences to a terminal or the
//! journal, nor flood the log with a megabyte per line.
//!
//! Applied to every field (the message included) by the one formatter the CLI installs, so no
//! handler has to remember it.

use std::fmt::{self, Write as _};

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{Writer, debug_fn};

/// Characters of a field value kept in the log; the rest is replaced by a count.
pub const MAX_FIELD_CHARS: usize = 512;

/// The field formatter of the daemon's log: `name=value` pairs separated by spaces, the
/// message bare, every value escaped and cut by [`clean`].
pub fn fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(
        |w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
            let text = clean(&format!("{value:?}"));
            match field.name() {
                "message" => w.write_str(&text),
                name => write!(w, "{name}={text}"),
            }
        },
    )
    .delimited(" ")
}

/// `text` with every control character (and the Unicode line and paragraph separators)
/// escaped as `\n`, `\0`, `\u{1b}`..., cut after [`MAX_FIELD_CHARS`] characters with the number
/// of bytes left out.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_FIELD_CHARS + 32));
    for (n, (at, c)) in text.char_indices().enumerate() {
        if n == MAX_FIELD_CHARS {
            let _ = write!(out, "...[{} more bytes]", text.len() - at);
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 8 item 11: a newline in a value cannot forge a line, a NUL is not written raw,
    /// a 1 MB value is cut, in spans and events, `%` and plain values alike.
    #[test]
    fn request_values_are_escaped_and_cut() {
        let buf = Buffer::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(fields())
            .finish();
        let forged = "s1\n2026-01-01T00:00:00Z  INFO Backup deleted. backup_id=1";
        let huge = "x".repeat(1 << 20);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", site = %forged);
            let _in = span.enter();
            tracing::warn!(schema = forged, nul = "a\0b", esc = %"\u{1b}[31mred", big = %huge, "Request failed: {forged}");
        });
        let text = String::from_utf8(buf.0.lock().expect("buffer").clone()).expect("utf-8");
        assert_eq!(text.lines().count(), 1, "one event, one line: {text:.2000}");
        assert!(
            !text.contains('\0') && !text.contains('\u{1b}'),
            "{text:.2000}"
        );
        assert!(text.contains("s1\\n2026"), "{text:.2000}");
        assert!(
            text.len() < 8 * MAX_FIELD_CHARS,
            "cut: {} bytes",
            text.len()
        );
        assert!(
            text.contains(&format!("[{} more bytes]", (1 << 20) - MAX_FIELD_CHARS)),
            "{text:.2000}"
        );
    }
}
