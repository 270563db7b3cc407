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
    /// An outbound call could not connect to its server (refused, unreachable, name not resolved, TLS handshake failed).
    pub CLIENT_CONNECT = "http.client_connect", BAD_GATEWAY, transient;
    /// An outbound call's server name resolved to an address the client's address check refuses (an SSRF guard).
    pub CLIENT_ADDRESS_REFUSED = "http.client_address_refused", BAD_GATEWAY, permanent;
    /// An outbound call's attempt took longer than the client's timeout.
    pub CLIENT_TIMEOUT = "http.client_timeout", GATEWAY_TIMEOUT, transient;
    /// An outbound call's connection failed once made (reset, closed early, a protocol error).
    pub CLIENT_TRANSPORT = "http.client_transport", BAD_GATEWAY, transient;
    /// The server of an outbound call answered 5xx, 408 or 429; it may answer later (after its Retry-After).
    pub CLIENT_UNAVAILABLE = "http.client_unavailable", SERVICE_UNAVAILABLE, transient;
    /// The server of an outbound call refused the request (a 4xx other than 408 and 429).
    pub CLIENT_STATUS = "http.client_status", BAD_GATEWAY, permanent;
    /// An outbound call's response body is larger than the client takes.
    pub CLIENT_BODY_TOO_LARGE = "http.client_body_too_large", BAD_GATEWAY, permanent;
    /// An outbound call's path is not a path and query the client can send.
    pub CLIENT_INVALID_URL = "http.client_invalid_url", INTERNAL_SERVER_ERROR, permanent;
    /// A JWKS (an identity provider's signing keys) could not be fetched or read, or holds no usable key.
    pub JWKS_UNAVAILABLE = "http.jwks_unavailable", SERVICE_UNAVAILABLE, transient;
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
    /// A JWKS could not be fetched or read, or holds no usable key. The
    /// location is a URL without its query (which may hold a secret) or a
    /// file's path; the problem never holds key material.
    #[error("JWKS {location}: {problem}")]
    Jwks {
        /// The URL (scheme, host, port and path) or the file.
        location: String,
        /// What is wrong.
        problem: String,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::Tls { .. } => &TLS_FILES,
            Self::Jwks { .. } => &JWKS_UNAVAILABLE,
        }
    }
}
