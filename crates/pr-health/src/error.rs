//! pr-health's error type and codes.

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-health defines.
    pub static CODES;

    /// A check was added under a name the registry already has.
    pub DUPLICATE_CHECK = "health.duplicate_check", INTERNAL_SERVER_ERROR, permanent;
    /// The health configuration has invalid values.
    pub INVALID_CONFIG = "health.invalid_config", INTERNAL_SERVER_ERROR, permanent;
}

/// What can go wrong when setting up health checks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A check with this name is already registered.
    #[error("a health check named `{name}` is already registered")]
    DuplicateCheck {
        /// The name both checks use.
        name: String,
    },
    /// The configuration is invalid; every problem is listed.
    #[error("invalid health configuration: {}", pr_core::validate::join(problems))]
    InvalidConfig {
        /// Every problem, each at its key.
        problems: Vec<pr_core::validate::Violation>,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::DuplicateCheck { .. } => &DUPLICATE_CHECK,
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
        }
    }
}
