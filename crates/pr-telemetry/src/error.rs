//! pr-telemetry's error type and codes.

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-telemetry defines.
    pub static CODES;

    /// The telemetry configuration (or an `OTEL_*` variable it reads) has invalid values.
    pub INVALID_CONFIG = "telemetry.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// The OTLP exporter or its thread could not be started.
    pub EXPORTER = "telemetry.exporter", INTERNAL_SERVER_ERROR, permanent;
    /// Shutdown could not export every queued span in time, or an export failed.
    pub FLUSH_INCOMPLETE = "telemetry.flush_incomplete", INTERNAL_SERVER_ERROR, transient;
}

/// What can go wrong when setting up or shutting down telemetry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; every problem is listed, each at its
    /// key in the `telemetry` section or the name of the variable.
    #[error(
        "invalid telemetry configuration: {}",
        pr_core::validate::join(problems)
    )]
    InvalidConfig {
        /// Every problem.
        problems: Vec<pr_core::validate::Violation>,
    },
    /// The exporter could not be started.
    #[error("cannot start the OTLP exporter to `{endpoint}`: {reason}")]
    Exporter {
        /// The endpoint it was for.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// Shutdown ended before every queued span was exported.
    #[error("telemetry shutdown incomplete: {reason} ({dropped} spans dropped in all)")]
    FlushIncomplete {
        /// Why (a timeout, the collector's answer).
        reason: String,
        /// Spans dropped over the exporter's life, every reason.
        dropped: u64,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::Exporter { .. } => &EXPORTER,
            Self::FlushIncomplete { .. } => &FLUSH_INCOMPLETE,
        }
    }
}
