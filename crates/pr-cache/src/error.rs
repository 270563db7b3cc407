//! pr-cache's error type and codes.

use std::path::PathBuf;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-cache defines.
    pub static CODES;

    /// The cache configuration has invalid values.
    pub INVALID_CONFIG = "cache.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// Reading or writing the file cache's directory failed.
    pub IO = "cache.io", SERVICE_UNAVAILABLE, transient;
    /// A value could not be serialized or deserialized.
    pub CODEC = "cache.codec", INTERNAL_SERVER_ERROR, permanent;
    /// A key is too long or otherwise unusable.
    pub INVALID_KEY = "cache.invalid_key", BAD_REQUEST, permanent;
    /// The Redis tier failed (connection, command or pub/sub).
    pub REDIS = "cache.redis", SERVICE_UNAVAILABLE, transient;
    /// The loader of a value failed.
    pub LOAD_FAILED = "cache.load_failed", BAD_GATEWAY, transient;
}

/// What can go wrong in a cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid cache configuration: {}", pr_core::validate::join(problems))]
    InvalidConfig {
        /// Every problem, each at its key (a configuration field, or the
        /// builder method that set it).
        problems: Vec<pr_core::validate::Violation>,
    },
    /// A file operation failed.
    #[error("cache file {op} failed for `{}`", path.display())]
    Io {
        /// What was being done (`write`, `read`, `lock`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A value could not be encoded or decoded.
    #[error("cache value of type `{type_name}` could not be {op}")]
    Codec {
        /// `serialized` or `deserialized`.
        op: &'static str,
        /// The value's type.
        type_name: &'static str,
        /// The codec's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The key cannot be used.
    #[error("cache key of {len} bytes is invalid: {reason}")]
    InvalidKey {
        /// The key's length in bytes (the key itself is not echoed).
        len: usize,
        /// Why.
        reason: &'static str,
    },
    /// A Redis command or connection failed.
    #[error("redis cache {op} failed")]
    Redis {
        /// What was being done.
        op: &'static str,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A loader failed.
    #[error("cache loader failed")]
    LoadFailed {
        /// The loader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::Io { .. } => &IO,
            Self::Codec { .. } => &CODEC,
            Self::InvalidKey { .. } => &INVALID_KEY,
            Self::Redis { .. } => &REDIS,
            Self::LoadFailed { .. } => &LOAD_FAILED,
        }
    }
}
