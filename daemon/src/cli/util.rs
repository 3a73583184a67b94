//! Helpers every command shares: [`Failure`] (what a command prints on error, and its exit
//! code), printing an answer as text or JSON, path segments, absolute paths and the terminal
//! confirmation prompt.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::output::print_json;
use crate::api::client::ClientError;

/// A command's failure: what to print on stderr, and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Printed on stderr as `error: {message}`.
    pub message: String,
    /// Exit code (1 for errors, 2 for usage).
    pub code: u8,
}

impl Failure {
    /// Exit code 1 with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }

    /// Exit code 2 with `message`.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::error(crate::error::error_chain(&e))
    }
}

/// Prints `body` as JSON, or the text `render` makes.
pub(super) fn emit(
    json: bool,
    body: &impl serde::Serialize,
    render: impl FnOnce() -> String,
) -> Result<(), Failure> {
    if json {
        print_json(body);
    } else {
        let text = render();
        println!("{}", text.trim_end());
    }
    Ok(())
}

/// Percent-encodes a path segment (site names are restricted, but a typo may hold anything).
pub(super) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The daemon resolves paths in its own working directory; send it an absolute one.
pub(super) fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| Failure::error(format!("cannot resolve {}: {e}", path.display())))
}

/// Asks `question` on the terminal; refuses with `no_terminal` when nobody can answer and
/// with `declined` unless the answer is yes.
pub(super) fn confirm(no_terminal: &str, question: &str, declined: &str) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::error(no_terminal));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::error(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::error(declined))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("prod-1.x_y~"), "prod-1.x_y~");
    }
}
