//! pr-http's error type and codes: the codes of its own answers (panics,
//! timeouts, limits) and of an invalid configuration.

use pr_core::validate::Violation;
use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-http defines.
    pub static CODES;

    /// A handler panicked; the request was answered with a 500 and the server goes on.
    pub PANIC = "http.panic", INTERNAL_SERVER_ERROR, permanent;
    /// The response took longer than the server's request timeout.
    pub TIMEOUT = "http.timeout", SERVICE_UNAVAILABLE, transient;
    /// The request body is larger than the server takes.
    pub BODY_TOO_LARGE = "http.body_too_large", PAYLOAD_TOO_LARGE, permanent, public;
    /// The server has as many requests in flight as it takes; try again shortly.
    pub OVERLOADED = "http.overloaded", SERVICE_UNAVAILABLE, transient, public;
    /// The request carries no credentials, or ones the service does not accept.
    pub UNAUTHENTICATED = "http.unauthenticated", UNAUTHORIZED, permanent, public;
    /// The request is authenticated but lacks a scope the route needs.
    pub FORBIDDEN = "http.forbidden", FORBIDDEN, permanent, public;
    /// A TLS certificate, key or CA file cannot be read or used.
    pub TLS_FILES = "http.tls_files", INTERNAL_SERVER_ERROR, permanent;
    /// The `http` section's settings are invalid.
    pub INVALID_CONFIG = "http.invalid_config", INTERNAL_SERVER_ERROR, permanent;
}

/// What building pr-http's layers can fail with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration breaks its rules; every problem, each at its key.
    #[error("invalid http configuration: {}", pr_core::validate::join(problems))]
    InvalidConfig {
        /// The problems.
        problems: Vec<Violation>,
    },
    /// A TLS file cannot be read, holds no usable PEM item, or the key does
    /// not fit the certificate. The message never holds key material.
    #[error("TLS file {}: {problem}", path.display())]
    Tls {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::Tls { .. } => &TLS_FILES,
        }
    }
}
