//! [`Explanation`]: which source won for each key.

use std::fmt;

use crate::Source;

/// One key of the effective configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExplanationEntry {
    /// The dotted key path.
    pub key: String,
    /// The effective value, printable (`[redacted]` for secrets).
    pub value: String,
    /// Whether the key holds a secret.
    pub secret: bool,
    /// The source that won.
    pub source: Source,
    /// The sources it shadowed, lowest first.
    pub shadowed: Vec<Source>,
}

/// The effective configuration, key by key, with provenance; secrets masked.
/// Its `Display` is one line per key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explanation {
    pub(crate) entries: Vec<ExplanationEntry>,
}

impl Explanation {
    /// Every key, in key order.
    #[must_use]
    pub fn entries(&self) -> &[ExplanationEntry] {
        &self.entries
    }

    /// The entry of `key`.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<&ExplanationEntry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            write!(
                f,
                "{} = {}  # from {}",
                entry.key, entry.value, entry.source
            )?;
            if !entry.shadowed.is_empty() {
                f.write_str(", shadowing ")?;
                for (i, s) in entry.shadowed.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
