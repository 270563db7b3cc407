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
//! the normalisation they share (percent and HTML entity decoding) and the
//! overlapping windows the whole input is read in, so every detector sees
//! input undone and cut the same way, in time linear in its length.

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
    use super::decode::{OVERLAP, WINDOW, steps};
    use super::*;

    type Detector = fn(&str) -> Verdict;

    /// Work the three detectors do on `input`, counted by `decode::charge`.
    fn work(input: &str) -> usize {
        let before = steps();
        let _ = sql_injection_signal(input);
        let _ = xss_signal(input);
        let _ = command_injection_signal(input);
        steps() - before
    }

    /// Every ASCII character that is not a letter or digit (each operator,
    /// quote, bracket, separator and control character), and the tokens a
    /// rule starts from, each to be repeated into a long run.
    fn adversarial_units() -> Vec<String> {
        let mut units: Vec<String> = (0u8..0x80)
            .filter(|b| !b.is_ascii_alphanumeric())
            .map(|b| char::from(b).to_string())
            .collect();
        units.extend(
            [
                "' or ", "' or '", "')", "union ", "union/*", "/*", "*/", ";select ", "; ", "or ",
                "or 1", "&& ", "\\n", "\\nid", "`", "$(", "${", " on", " onxxx ", "<svg", "<",
                "\"><", "&#", "&#9", "%", "%2", "%25", "&lt;", "\t", "é", "\u{202e}",
            ]
            .map(String::from),
        );
        units
    }

    fn run_of(unit: &str, bytes: usize) -> String {
        unit.repeat(bytes / unit.len())
    }

    /// Linear work, counted in steps rather than timed: within one window
    /// (2 KiB against 8 KiB: four times the input, at most 4.5 times the
    /// work; a rule that rescanned the rest of its input from each
    /// candidate would do about 16 times), across windows (64 KiB against
    /// 8 KiB: 8 times the input, at most 10 times the work), and at most
    /// `MAX_STEPS_PER_BYTE` steps per byte on every run.
    #[test]
    fn work_is_linear_on_runs_of_every_operator() {
        const MAX_STEPS_PER_BYTE: usize = 12;
        let mut worst = (0.0_f64, String::new());
        for unit in adversarial_units() {
            let small = work(&run_of(&unit, 2 * 1024));
            let window = work(&run_of(&unit, 8 * 1024));
            let large = run_of(&unit, 64 * 1024);
            let many = work(&large);
            assert!(
                window * 2 <= small * 9,
                "{unit:?}: {small} then {window} steps"
            );
            assert!(many <= window * 10, "{unit:?}: {window} then {many} steps");
            assert!(
                many <= large.len() * MAX_STEPS_PER_BYTE,
                "{unit:?}: {many} steps"
            );
            #[expect(clippy::cast_precision_loss, reason = "a ratio to print")]
            let per_byte = many as f64 / large.len() as f64;
            if per_byte > worst.0 {
                worst = (per_byte, unit);
            }
        }
        eprintln!(
            "most steps per byte: {:.2} on runs of {:?}",
            worst.0, worst.1
        );
    }

    /// The whole input is read: a payload after any amount of filler, and
    /// one that straddles the cut between two windows, is found.
    #[test]
    fn payloads_are_found_anywhere_in_long_input() {
        let cases: [(Detector, &str); 3] = [
            (sql_injection_signal, "' or 1=1--"),
            (xss_signal, "<img src=x onerror=print()>"),
            (command_injection_signal, "; cat /etc/passwd"),
        ];
        for (detector, payload) in cases {
            for filler in [WINDOW, 3 * WINDOW + 17, 1 << 20] {
                let input = format!("{}{payload}", "a ".repeat(filler / 2));
                assert!(detector(&input).is_suspicious(), "{payload} after {filler}");
            }
            // Byte by byte across where the second window starts and where
            // the first ends (the payload is seen by one or the other).
            let cut = WINDOW - OVERLAP;
            let starts = (cut - payload.len() - 8)..(cut + 8);
            for at in starts.chain((WINDOW - payload.len() - 8)..(WINDOW + 8)) {
                let mut input = "a".repeat(at);
                input.push(' ');
                input.push_str(payload);
                input.push(' ');
                input.push_str(&"a".repeat(2 * WINDOW));
                assert!(detector(&input).is_suspicious(), "{payload} at {at}");
            }
        }
    }

    /// A cut between windows is not the start or end of the input: honest
    /// text that would only be flagged at an edge (`or x=y` leading the
    /// input, `; id` ending it) is not flagged at a cut.
    #[test]
    fn cuts_are_not_edges() {
        for (unit, detector) in [
            ("or x=yy ", sql_injection_signal as fn(&str) -> Verdict),
            ("salt or 1 ", sql_injection_signal),
            ("Q&A; cat ", command_injection_signal),
        ] {
            // Flagged at an edge, as designed ...
            assert!(detector(unit.trim()).is_suspicious(), "{unit}");
            // ... and clean in the middle of a long run, wherever the cuts fall.
            for pad in 0..unit.len() {
                let input = format!(
                    "z {}{}z",
                    " ".repeat(pad),
                    unit.repeat(3 * WINDOW / unit.len())
                );
                let mut shown = input.clone();
                shown.truncate(40);
                assert_eq!(detector(&input), Verdict::Clean, "{shown:?} ({pad})");
            }
        }
    }

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
