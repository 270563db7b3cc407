//! pr-security's error type and codes.
//!
//! No message ever contains a secret, a key, a password or a token. Messages
//! about untrusted input describe what is wrong (and where) rather than
//! echoing the input, so that they are safe to log.

use std::io;

use pr_errors::{CodeInfo, CodedError};

#[cfg(feature = "files")]
use crate::files::PathIssue;

pr_errors::codes! {
    /// Every code pr-security defines.
    pub static CODES;

    /// A stored relative path failed the traversal check.
    pub INVALID_PATH = "security.invalid_path", BAD_REQUEST, permanent, public;
    /// Opening a path beneath a `SafeRoot` would have left the root.
    pub PATH_ESCAPE = "security.path_escape", FORBIDDEN, permanent, public;
    /// A file-system operation failed.
    pub IO = "security.io", INTERNAL_SERVER_ERROR, transient;
    /// An email address is not valid in the requested mode.
    pub INVALID_EMAIL = "security.invalid_email", BAD_REQUEST, permanent, public;
    /// A URL could not be parsed.
    pub INVALID_URL = "security.invalid_url", BAD_REQUEST, permanent, public;
    /// A URL parsed but its scheme, credentials or host break the URL policy (e.g. the SSRF guard).
    pub URL_NOT_ALLOWED = "security.url_not_allowed", BAD_REQUEST, permanent, public;
    /// A URL's host name could not be resolved to any address.
    pub RESOLVE_FAILED = "security.resolve_failed", BAD_GATEWAY, transient;
    /// HTML given to the sanitizer is larger or nested deeper than its limits.
    pub HTML_LIMIT = "security.html_limit", PAYLOAD_TOO_LARGE, permanent, public;
    /// A host name is not a valid DNS name.
    pub INVALID_HOSTNAME = "security.invalid_hostname", BAD_REQUEST, permanent, public;
    /// An IP address could not be parsed.
    pub INVALID_IP = "security.invalid_ip", BAD_REQUEST, permanent, public;
    /// A number could not be parsed.
    pub INVALID_NUMBER = "security.invalid_number", BAD_REQUEST, permanent, public;
    /// A number is outside its allowed range.
    pub OUT_OF_RANGE = "security.out_of_range", BAD_REQUEST, permanent, public;
    /// A string is shorter or longer than allowed.
    pub INVALID_LENGTH = "security.invalid_length", BAD_REQUEST, permanent, public;
    /// A string has a character outside its allowed class.
    pub INVALID_CHARACTERS = "security.invalid_characters", BAD_REQUEST, permanent, public;
    /// A date-time is not valid RFC 3339.
    pub INVALID_DATE = "security.invalid_date", BAD_REQUEST, permanent, public;
    /// A signature, authentication tag or password did not verify.
    pub VERIFICATION_FAILED = "security.verification_failed", UNAUTHORIZED, permanent;
    /// A sealed secret names a key id the keyring does not hold.
    pub UNKNOWN_KEY = "security.unknown_key", INTERNAL_SERVER_ERROR, permanent;
    /// Key material has the wrong length or a key id is malformed.
    pub INVALID_KEY = "security.invalid_key", INTERNAL_SERVER_ERROR, permanent;
    /// A token, API key, sealed secret or password hash string is malformed.
    pub MALFORMED = "security.malformed", BAD_REQUEST, permanent;
    /// The operating system's random number generator failed.
    pub RANDOM_UNAVAILABLE = "security.random_unavailable", SERVICE_UNAVAILABLE, transient;
    /// A cryptographic operation failed (e.g. sealing a too-large message).
    pub CRYPTO_FAILED = "security.crypto_failed", INTERNAL_SERVER_ERROR, permanent;
    /// A file's permissions break its policy (world-writable, a readable secret, a foreign owner).
    pub INSECURE_PERMISSIONS = "security.insecure_permissions", INTERNAL_SERVER_ERROR, permanent;
    /// The security configuration has invalid values.
    pub INVALID_CONFIG = "security.invalid_config", INTERNAL_SERVER_ERROR, permanent;
}

/// What can go wrong in pr-security. Every variant has a stable code
/// (`security.<reason>`, see [`CODES`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A stored path was rejected.
    #[cfg(feature = "files")]
    #[error("invalid path: {issue}")]
    InvalidPath {
        /// Why.
        issue: PathIssue,
    },
    /// A path opened beneath a `SafeRoot` would leave the root (a `..`
    /// component, an absolute path, or a symbolic link pointing outside).
    #[error("path {path:?} escapes the root directory: {reason}")]
    PathEscape {
        /// The relative path as given (control characters escaped).
        path: String,
        /// Why the path is refused.
        reason: &'static str,
    },
    /// A file-system call failed.
    #[error("{op} {path:?} failed: {source}")]
    Io {
        /// The operation (`open`, `create`, `list`, `stat`, ...).
        op: &'static str,
        /// The path it was applied to.
        path: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An email address was rejected.
    #[error("invalid email address: {issue}")]
    InvalidEmail {
        /// Why (the address itself is not echoed).
        issue: &'static str,
    },
    /// A URL could not be parsed.
    #[error("invalid url: {issue}")]
    InvalidUrl {
        /// The parser's reason.
        issue: String,
    },
    /// A URL broke the [`UrlPolicy`](crate::validation::UrlPolicy).
    #[error("url not allowed: {issue}")]
    UrlNotAllowed {
        /// Which rule it broke.
        issue: String,
    },
    /// A host name did not resolve (the resolver failed or found nothing).
    #[error("resolving {host:?} failed: {issue}")]
    ResolveFailed {
        /// The host name (already checked by the URL policy).
        host: String,
        /// The resolver's reason.
        issue: String,
    },
    /// HTML given to `sanitize_html` is beyond its `HtmlLimits`.
    #[error("html input exceeds the sanitizer's {what} limit of {limit}")]
    HtmlLimit {
        /// Which limit (`size in bytes`, `nesting depth`, `passes to a stable
        /// output`).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A host name was rejected.
    #[error("invalid hostname: {issue}")]
    InvalidHostname {
        /// Why.
        issue: &'static str,
    },
    /// An IP address could not be parsed.
    #[error("invalid ip address: {issue}")]
    InvalidIp {
        /// Why.
        issue: &'static str,
    },
    /// A number could not be parsed.
    #[error("invalid number: {issue}")]
    InvalidNumber {
        /// Why.
        issue: &'static str,
    },
    /// A number is outside `[min, max]`.
    #[error("number {value} is out of range [{min}, {max}]")]
    OutOfRange {
        /// The value.
        value: String,
        /// Lowest allowed value.
        min: String,
        /// Highest allowed value.
        max: String,
    },
    /// A string's length (in characters) is outside `[min, max]`.
    #[error("length {actual} is outside [{min}, {max}] characters")]
    InvalidLength {
        /// The string's length in characters.
        actual: usize,
        /// Minimum length.
        min: usize,
        /// Maximum length.
        max: usize,
    },
    /// A string has a character outside its class.
    #[error("character at index {index} is not allowed in {class}")]
    InvalidCharacters {
        /// The character index (not byte index) of the first offending character.
        index: usize,
        /// The class that was required.
        class: &'static str,
    },
    /// A date-time was rejected.
    #[error("invalid rfc 3339 date-time: {issue}")]
    InvalidDate {
        /// Why.
        issue: &'static str,
    },
    /// A signature, tag or sealed secret did not verify.
    #[error("{what} did not verify")]
    VerificationFailed {
        /// What was being verified (`hmac signature`, `sealed secret`, ...).
        what: &'static str,
    },
    /// A sealed secret names a key the keyring does not have.
    #[error("key id {key_id:?} is not in the keyring")]
    UnknownKey {
        /// The key id (an identifier, not key material).
        key_id: String,
    },
    /// Key material or a key id is invalid.
    #[error("invalid key: {issue}")]
    InvalidKey {
        /// Why (never the key).
        issue: String,
    },
    /// An encoded value is malformed.
    #[error("malformed {what}: {issue}")]
    Malformed {
        /// What was being parsed (`api key`, `password hash`, `sealed secret`).
        what: &'static str,
        /// Why.
        issue: &'static str,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    RandomUnavailable,
    /// A cryptographic primitive failed.
    #[error("{what} failed")]
    CryptoFailed {
        /// The operation.
        what: &'static str,
    },
    /// A file's permissions break its [`PermissionPolicy`](crate::files::PermissionPolicy).
    #[error("insecure permissions on {path:?}: {}", findings.join(", "))]
    InsecurePermissions {
        /// The file.
        path: String,
        /// The finding codes (`perm.world_readable`, ...).
        findings: Vec<&'static str>,
    },
    /// The configuration is invalid; every problem is listed.
    #[error(
        "invalid security configuration: {}",
        pr_core::validate::join(problems)
    )]
    InvalidConfig {
        /// Every problem, each at its key.
        problems: Vec<pr_core::validate::Violation>,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            #[cfg(feature = "files")]
            Self::InvalidPath { .. } => &INVALID_PATH,
            Self::PathEscape { .. } => &PATH_ESCAPE,
            Self::Io { .. } => &IO,
            Self::InvalidEmail { .. } => &INVALID_EMAIL,
            Self::InvalidUrl { .. } => &INVALID_URL,
            Self::UrlNotAllowed { .. } => &URL_NOT_ALLOWED,
            Self::ResolveFailed { .. } => &RESOLVE_FAILED,
            Self::HtmlLimit { .. } => &HTML_LIMIT,
            Self::InvalidHostname { .. } => &INVALID_HOSTNAME,
            Self::InvalidIp { .. } => &INVALID_IP,
            Self::InvalidNumber { .. } => &INVALID_NUMBER,
            Self::OutOfRange { .. } => &OUT_OF_RANGE,
            Self::InvalidLength { .. } => &INVALID_LENGTH,
            Self::InvalidCharacters { .. } => &INVALID_CHARACTERS,
            Self::InvalidDate { .. } => &INVALID_DATE,
            Self::VerificationFailed { .. } => &VERIFICATION_FAILED,
            Self::UnknownKey { .. } => &UNKNOWN_KEY,
            Self::InvalidKey { .. } => &INVALID_KEY,
            Self::Malformed { .. } => &MALFORMED,
            Self::RandomUnavailable => &RANDOM_UNAVAILABLE,
            Self::CryptoFailed { .. } => &CRYPTO_FAILED,
            Self::InsecurePermissions { .. } => &INSECURE_PERMISSIONS,
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
        }
    }
}

impl Error {
    #[cfg(any(all(unix, feature = "files"), feature = "secrets"))]
    pub(crate) fn malformed(what: &'static str, issue: &'static str) -> Self {
        Self::Malformed { what, issue }
    }
}
