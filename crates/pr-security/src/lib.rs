//! Trust-boundary helpers for Rust services: contained file access,
//! permission and environment checks, secrets and crypto on ring, input
//! validation, output sanitization and injection signals.
//!
//! # Examples
//!
//! ```
//! use pr_security::files::check_stored_path;
//! use pr_security::secrets::HmacKey;
//! use pr_security::validation::{EmailMode, UrlPolicy, validate_email};
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
//! One module per area; the root holds only [`Error`], [`SecurityConfig`]
//! and the findings of the checks ([`SecurityReport`], [`Finding`], [`Severity`]).
//!
//! - Files, [`files`]: [`SafeRoot`](files::SafeRoot) (open beneath a directory
//!   handle), [`check_stored_path`](files::check_stored_path),
//!   [`sanitize_filename`](files::sanitize_filename),
//!   [`PermissionPolicy`](files::PermissionPolicy),
//!   [`read_secret_file`](files::read_secret_file).
//! - The process, [`environment`]: [`EnvironmentCheck`](environment::EnvironmentCheck)
//!   (root, writable directories and configuration, core dumps, debug
//!   settings in production, umask, secrets on the command line).
//! - Secrets and crypto, all on `ring`, [`secrets`]:
//!   [`SecretString`](secrets::SecretString),
//!   [`random_token`](secrets::random_token), [`ApiKey`](secrets::ApiKey),
//!   [`HmacKey`](secrets::HmacKey), [`Keyring`](secrets::Keyring),
//!   [`PasswordHasher`](secrets::PasswordHasher),
//!   [`constant_time_eq`](secrets::constant_time_eq).
//! - Validation, [`validation`]: [`validate_email`](validation::validate_email),
//!   [`UrlPolicy`](validation::UrlPolicy) (with the SSRF guard),
//!   [`is_public_ip`](validation::is_public_ip),
//!   [`validate_hostname`](validation::validate_hostname),
//!   [`validate_int`](validation::validate_int),
//!   [`TextRule`](validation::TextRule),
//!   [`validate_rfc3339`](validation::validate_rfc3339).
//! - Output, [`output`]: [`escape_html`](output::escape_html),
//!   [`escape_html_attr`](output::escape_html_attr),
//!   [`neutralize_log`](output::neutralize_log),
//!   [`neutralize_header`](output::neutralize_header), and `sanitize_html`
//!   (feature `html`).
//! - Injection signals, for logging and alerting, never as the defense,
//!   [`signals`]:
//!   [`sql_injection_signal`](signals::sql_injection_signal),
//!   [`xss_signal`](signals::xss_signal),
//!   [`command_injection_signal`](signals::command_injection_signal)
//!   (their measured detection and false-positive rates are in the README).
//! - Error codes, [`codes`].
//! - Settings: [`SecurityConfig`], checked by `pr_core::validate::Validate`.
//!
//! # Feature flags
//!
//! Each area is a feature, all on by default: `files`, `environment` (with
//! `files`), `secrets` (ring), `validation` (url, with its IDNA tables),
//! `output` and `signals`. [`SecurityConfig`] is there with `secrets` and
//! `validation`. [`Error`], the [`codes`] and the findings of the checks are
//! always there. A crate that only checks the permissions of its secret
//! files (as pr-config does) compiles no ring and no url:
//!
//! ```toml
//! pr-security = { version = "0.1", default-features = false, features = ["files"] }
//! ```
//!
//! - `html`: `sanitize_html`, HTML sanitization with ammonia's safe
//!   allow-list (pulls in html5ever; turns on `output`).
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
//! are in [`codes`]. No message contains a secret.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

#[cfg(any(
    feature = "validation",
    feature = "output",
    feature = "files",
    feature = "signals"
))]
mod chars;
#[cfg(all(feature = "secrets", feature = "validation"))]
mod config;
#[cfg(all(unix, feature = "environment"))]
#[cfg_attr(docsrs, doc(cfg(feature = "environment")))]
pub mod environment;
mod error;
#[cfg(feature = "files")]
#[cfg_attr(docsrs, doc(cfg(feature = "files")))]
pub mod files;
#[cfg(feature = "output")]
#[cfg_attr(docsrs, doc(cfg(feature = "output")))]
pub mod output;
mod report;
#[cfg(feature = "secrets")]
#[cfg_attr(docsrs, doc(cfg(feature = "secrets")))]
pub mod secrets;
#[cfg(feature = "signals")]
#[cfg_attr(docsrs, doc(cfg(feature = "signals")))]
pub mod signals;
#[cfg(feature = "validation")]
#[cfg_attr(docsrs, doc(cfg(feature = "validation")))]
pub mod validation;

#[cfg(all(feature = "secrets", feature = "validation"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "secrets", feature = "validation"))))]
pub use config::SecurityConfig;
pub use error::Error;
pub use report::{Finding, SecurityReport, Severity};

/// The stable codes of [`Error`] (`security.<reason>`), each with its HTTP
/// status and retry class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        CODES, CRYPTO_FAILED, INSECURE_PERMISSIONS, INVALID_CHARACTERS, INVALID_CONFIG,
        INVALID_DATE, INVALID_EMAIL, INVALID_HOSTNAME, INVALID_IP, INVALID_KEY, INVALID_LENGTH,
        INVALID_NUMBER, INVALID_PATH, INVALID_URL, IO, MALFORMED, OUT_OF_RANGE, PATH_ESCAPE,
        RANDOM_UNAVAILABLE, UNKNOWN_KEY, URL_NOT_ALLOWED, VERIFICATION_FAILED,
    };
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
