//! Trust-boundary helpers for Rust services: contained file access,
//! permission and environment checks, secrets and crypto on ring, input
//! validation, output sanitization and injection signals.
//!
//! # Examples
//!
//! ```
//! use pr_security::{EmailMode, HmacKey, UrlPolicy, check_stored_path, validate_email};
//!
//! # fn main() -> Result<(), pr_security::Error> {
//! // A relative path from a client, to be stored: decoded, then checked.
//! assert!(check_stored_path("%2e%2e%2fetc%2fpasswd").is_err());
//! assert_eq!(check_stored_path("avatars/42.png")?.as_str(), "avatars/42.png");
//!
//! // A webhook URL the server will call: https only, no internal hosts.
//! assert!(UrlPolicy::default().check("https://169.254.169.254/latest/meta-data").is_err());
//!
//! // An email address from a form.
//! assert_eq!(validate_email("ann@Example.org", EmailMode::Html)?.domain(), "example.org");
//!
//! // A signed cookie value, verified in constant time.
//! let key = HmacKey::generate()?;
//! let tag = key.sign(b"user=42");
//! key.verify(b"user=42", &tag)?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is where
//!
//! - Files: [`SafeRoot`] (open beneath a directory handle), [`check_stored_path`],
//!   [`sanitize_filename`], [`PermissionPolicy`], [`read_secret_file`].
//! - Settings: [`SecurityConfig`] with `validate()`.
//! - The process: [`EnvironmentCheck`] (root, writable directories and
//!   configuration, core dumps, debug settings in production, umask, secrets
//!   on the command line), reporting [`Finding`]s with a [`Severity`].
//! - Secrets and crypto, all on `ring`: [`SecretString`], [`random_token`],
//!   [`ApiKey`], [`HmacKey`], [`Keyring`], [`PasswordHasher`],
//!   [`constant_time_eq`].
//! - Validation: [`validate_email`], [`UrlPolicy`] (with the SSRF guard),
//!   [`is_public_ip`], [`validate_hostname`], [`validate_ip`],
//!   [`validate_int`], [`TextRule`], [`validate_rfc3339`].
//! - Output: [`escape_html`], [`escape_html_attr`], [`neutralize_log`],
//!   [`neutralize_header`], and `sanitize_html` (feature `html`).
//! - Injection signals, for logging and alerting, never as the defense:
//!   [`sql_injection_signal`], [`xss_signal`], [`command_injection_signal`]
//!   (their measured detection and false-positive rates are in the README).
//!
//! # Feature flags
//!
//! - `html`: `sanitize_html`, HTML sanitization with ammonia's safe
//!   allow-list (pulls in html5ever).
//!
//!   ```toml
//!   pr-security = { version = "0.1", features = ["html"] }
//!   ```
//!
//! - `schema`: `schemars::JsonSchema` on [`SecurityConfig`] and the types it holds,
//!   so pr-config can generate its templates (`docs/config/` holds them).
//!
//!   ```toml
//!   pr-security = { version = "0.1", features = ["schema"] }
//!   ```
//!
//! # Errors
//!
//! Every fallible function returns [`Error`]; its codes (`security.<reason>`)
//! are in [`CODES`]. No message contains a secret.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod config;
mod crypto;
mod email;
#[cfg(unix)]
mod env;
mod error;
mod net;
mod path;
#[cfg(unix)]
mod perms;
mod report;
#[cfg(unix)]
mod root;
mod sanitize;
mod secret;
mod signals;
mod validate;

pub use config::SecurityConfig;
pub use crypto::{
    HmacKey, Keyring, OWASP_PBKDF2_SHA256_ITERATIONS, PasswordHasher, PasswordVerdict,
    hash_password,
};
pub use email::{Email, EmailMode, validate_email};
#[cfg(unix)]
pub use env::{EnvironmentCheck, current_umask};
pub use error::{
    CODES, CRYPTO_FAILED, Error, INSECURE_PERMISSIONS, INVALID_CHARACTERS, INVALID_CONFIG,
    INVALID_DATE, INVALID_EMAIL, INVALID_HOSTNAME, INVALID_IP, INVALID_KEY, INVALID_LENGTH,
    INVALID_NUMBER, INVALID_PATH, INVALID_URL, IO, MALFORMED, OUT_OF_RANGE, PATH_ESCAPE,
    RANDOM_UNAVAILABLE, UNKNOWN_KEY, URL_NOT_ALLOWED, VERIFICATION_FAILED,
};
pub use net::{
    MAX_URL_LEN, Url, UrlPolicy, is_public_ip, parse_url, validate_hostname, validate_ip,
};
pub use path::{
    MAX_COMPONENT_LEN, MAX_STORED_PATH_LEN, PathIssue, StoredPath, check_stored_path,
    decode_stored_path, is_reserved_name, sanitize_filename,
};
#[cfg(unix)]
pub use perms::{MAX_SECRET_FILE_LEN, PermissionPolicy, read_secret_file};
pub use report::{Finding, Report, Severity};
#[cfg(unix)]
pub use root::{Entry, EntryKind, OpenMode, Resolver, SafeRoot};
#[cfg(feature = "html")]
pub use sanitize::sanitize_html;
pub use sanitize::{escape_html, escape_html_attr, neutralize_header, neutralize_log};
pub use secret::{
    ApiKey, SecretBytes, SecretString, TokenEncoding, constant_time_eq, fill_random, random_token,
};
pub use signals::{Verdict, command_injection_signal, sql_injection_signal, xss_signal};
pub use validate::{
    CharClass, DateTime, TextRule, check_range, validate_f64, validate_int, validate_rfc3339,
};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
