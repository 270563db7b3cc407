//! pr-resources' error type and codes.

use std::path::PathBuf;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-resources defines.
    pub static CODES;

    /// A file under /proc or /sys/fs/cgroup, or a path to measure, could not be read.
    pub READ_FAILED = "resources.read_failed", INTERNAL_SERVER_ERROR, transient;
    /// A file under /proc or /sys/fs/cgroup did not have the expected format.
    pub PARSE_FAILED = "resources.parse_failed", INTERNAL_SERVER_ERROR, permanent;
    /// A memory reservation would take the budget past its limit.
    pub BUDGET_EXCEEDED = "resources.budget_exceeded", SERVICE_UNAVAILABLE, transient;
    /// The resources configuration has invalid values.
    pub INVALID_CONFIG = "resources.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// A process limit (rlimit) could not be read or set.
    pub LIMIT_FAILED = "resources.limit_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The platform does not provide this measurement.
    pub UNSUPPORTED = "resources.unsupported", NOT_IMPLEMENTED, permanent;
}

/// What can go wrong when reading resources, reserving memory or setting limits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content was not in the expected format.
    #[error("cannot parse `{}`: {what}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was expected and not found.
        what: String,
    },
    /// A reservation would take the budget past its limit.
    #[error(
        "memory budget `{budget}` exceeded: reserving {requested} bytes with {used} of {limit} bytes in use"
    )]
    BudgetExceeded {
        /// The budget's name.
        budget: String,
        /// Bytes asked for.
        requested: u64,
        /// Bytes reserved when asked.
        used: u64,
        /// The budget's limit in bytes.
        limit: u64,
    },
    /// The configuration is invalid; every problem is listed.
    #[error(
        "invalid resources configuration: {}",
        pr_core::validate::join(problems)
    )]
    InvalidConfig {
        /// Every problem, each at its key.
        problems: Vec<pr_core::validate::Violation>,
    },
    /// An rlimit could not be read or set.
    #[error("cannot {action} the `{resource}` limit")]
    Limit {
        /// `read` or `set`.
        action: &'static str,
        /// The resource (`open_files`, `core_dumps`).
        resource: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not available on this platform.
    #[error("{what} is not supported on this platform")]
    Unsupported {
        /// The measurement.
        what: &'static str,
    },
}

impl Error {
    pub(crate) fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Read {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Self::Parse {
            path: path.into(),
            what: what.into(),
        }
    }
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::Read { .. } => &READ_FAILED,
            Self::Parse { .. } => &PARSE_FAILED,
            Self::BudgetExceeded { .. } => &BUDGET_EXCEEDED,
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::Limit { .. } => &LIMIT_FAILED,
            Self::Unsupported { .. } => &UNSUPPORTED,
        }
    }
}
