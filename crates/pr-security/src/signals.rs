//! Injection signals: heuristics that flag input looking like SQL injection,
//! cross-site scripting or shell command injection.
//!
//! These are **defense in depth, never the defense**. They are for logging,
//! alerting, rate limiting and raising the bar on scanners; the defenses are
//! parameterized queries, context-aware output encoding
//! ([`escape_html`](crate::output::escape_html), [`sanitize_html`](crate::output::sanitize_html)
//! with feature `html`) and never passing input to a shell. A payload written
//! to evade them will get through, and some honest input will be flagged:
//! the crate README publishes both rates on public corpora.
//!
//! Each detector is its own part (`sql`, `xss`, `command`); `decode` holds
//! the normalisation they share (truncation, percent and HTML entity
//! decoding), so every detector sees input undone the same way.

mod command;
mod decode;
mod sql;
mod xss;

pub use command::command_injection_signal;
pub use sql::sql_injection_signal;
pub use xss::xss_signal;

/// What a detector found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing suspicious.
    Clean,
    /// Looks like an injection attempt, with the rule that matched.
    Suspicious(&'static str),
}

impl Verdict {
    /// Whether a rule matched.
    #[must_use]
    pub const fn is_suspicious(self) -> bool {
        matches!(self, Self::Suspicious(_))
    }

    /// The rule that matched.
    #[must_use]
    pub const fn reason(self) -> Option<&'static str> {
        match self {
            Self::Clean => None,
            Self::Suspicious(reason) => Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_and_odd_input_is_fine() {
        let big = "'".repeat(100_000);
        let _ = sql_injection_signal(&big);
        let _ = xss_signal(&big);
        let _ = command_injection_signal(&big);
        // Multi-byte characters right after `&` once panicked.
        let _ = xss_signal("&ensp;\u{27f6}&ensp;`x`");
        let _ = xss_signal("&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}");
    }
}
