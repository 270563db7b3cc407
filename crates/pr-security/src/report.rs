//! Findings of the permission and environment checks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing; not a problem on its own.
    Info,
    /// Weakens the service's defences; fix before production.
    Warning,
    /// Exploitable as it stands; do not run like this in production.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: a stable code (`perm.world_writable`, `env.running_as_root`,
/// ...), a severity and a message that names the subject (never a secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Stable code, `perm.<reason>` or `env.<reason>`.
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// What was found, naming the file, setting or argument.
    pub message: String,
}

impl Finding {
    #[cfg(all(unix, feature = "files"))]
    pub(crate) fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            code,
            severity,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.severity, self.code, self.message)
    }
}

/// The findings of a check, in the order they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SecurityReport {
    /// Every finding.
    pub findings: Vec<Finding>,
}

impl SecurityReport {
    /// The most serious severity, `None` when there are no findings.
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether nothing at or above `severity` was found.
    #[must_use]
    pub fn passes(&self, severity: Severity) -> bool {
        self.worst().is_none_or(|worst| worst < severity)
    }

    /// Whether a finding with `code` was made.
    #[must_use]
    pub fn has(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    #[cfg(all(unix, feature = "files"))]
    pub(crate) fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

impl fmt::Display for SecurityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return f.write_str("no findings");
        }
        for (i, finding) in self.findings.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{finding}")?;
        }
        Ok(())
    }
}
