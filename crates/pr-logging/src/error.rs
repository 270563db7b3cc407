//! pr-logging's error type and codes.

use std::path::PathBuf;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-logging defines.
    pub static CODES;

    /// The logging configuration has invalid values.
    pub INVALID_CONFIG = "logging.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// A level filter (config, `RUST_LOG` or a runtime change) could not be parsed.
    pub INVALID_FILTER = "logging.invalid_filter", BAD_REQUEST, permanent;
    /// A log or audit file could not be opened, read or written.
    pub IO = "logging.io", INTERNAL_SERVER_ERROR, transient;
    /// A global subscriber was already installed in this process.
    pub ALREADY_INITIALIZED = "logging.already_initialized", INTERNAL_SERVER_ERROR, permanent;
    /// The `log` crate's records could not be bridged: another `log` logger is installed.
    pub LOG_BRIDGE = "logging.log_bridge", INTERNAL_SERVER_ERROR, permanent;
    /// A `POST /loggers` came without the bearer token (feature `http`).
    pub UNAUTHORIZED = "logging.unauthorized", UNAUTHORIZED, permanent, public;
    /// A `POST /loggers` body is not `{"filter": ..., "duration_secs"?: ...}` (feature `http`).
    pub INVALID_REQUEST = "logging.invalid_request", BAD_REQUEST, permanent, public;
}

/// What can go wrong when setting up logging, changing levels or verifying
/// an audit file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid logging configuration: {}", pr_core::validate::join(problems))]
    InvalidConfig {
        /// Every problem, each at its key relative to the logging section.
        problems: Vec<pr_core::validate::Violation>,
    },
    /// A filter directive could not be parsed. The message names the
    /// directive by position, never by its text: a filter may hold anything.
    #[error(
        "invalid log filter from {source_name}: directive {position}: {reason} (expected \
         comma-separated directives, each `level` or `target=level`, a level being trace, \
         debug, info, warn, error or off)"
    )]
    InvalidFilter {
        /// Where the filter came from (`config`, `RUST_LOG`, `runtime`).
        source_name: &'static str,
        /// The offending directive's 1-based position among the
        /// comma-separated ones.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A file or directory operation failed.
    #[error("logging i/o on `{}` failed while trying to {action}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (`open`, `create directory`, `read`, ...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `init` was called when a global subscriber was already set.
    #[error("a global tracing subscriber is already installed in this process")]
    AlreadyInitialized,
    /// The `log` bridge could not be installed: another `log` logger was
    /// set first. Turn `log_bridge` off to keep that logger.
    #[error(
        "cannot bridge the `log` crate: another `log` logger is already installed in this \
         process (set `logging.log_bridge = false` to keep it)"
    )]
    LogBridge,
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            path: path.into(),
            action,
            source,
        }
    }
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::InvalidFilter { .. } => &INVALID_FILTER,
            Self::Io { .. } => &IO,
            Self::AlreadyInitialized => &ALREADY_INITIALIZED,
            Self::LogBridge => &LOG_BRIDGE,
        }
    }
}
