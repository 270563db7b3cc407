//! pr-resilience's error type and codes.

use std::time::Duration;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-resilience defines.
    pub static CODES;

    /// The circuit breaker is open and refuses calls until its next probe.
    pub CIRCUIT_OPEN = "resilience.circuit_open", SERVICE_UNAVAILABLE, transient;
}

/// What a resilience policy can answer instead of the operation's own result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The breaker refused the call; `retry_after` is the time until it lets a probe through.
    #[error("circuit breaker `{name}` is open; next probe in {retry_after:?}")]
    CircuitOpen {
        /// The breaker's name.
        name: String,
        /// Time until the breaker lets a probe call through.
        retry_after: Duration,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::CircuitOpen { .. } => &CIRCUIT_OPEN,
        }
    }
}
