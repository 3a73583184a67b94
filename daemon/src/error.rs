//! Error helpers shared by every module: [`ErrorChain`], the one way an error and its sources
//! become text for a person (API messages, persisted job and phase notes, logs).
//!
//! Library code keeps errors typed until they are shown (STYLE §3); this is where they are
//! shown.

use std::fmt;

/// Displays an error with its sources, `"a: b: c"`. A source whose text the outer message
/// already ends with is not repeated (some errors embed their source in their own message).
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&error_chain(self.0))
    }
}

/// An error and its sources as one line, `"a: b: c"` (see [`ErrorChain`]).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapping: inner")]
    struct Repeats(#[source] Inner);

    #[test]
    fn sources_are_joined_and_not_repeated() {
        assert_eq!(error_chain(&Outer(Inner)), "outer: inner");
        assert_eq!(ErrorChain(&Outer(Inner)).to_string(), "outer: inner");
        assert_eq!(error_chain(&Repeats(Inner)), "wrapping: inner");
    }
}
