//! Structured logs for Rust services on tracing: JSON and console formats,
//! rotated and compressed files, redaction, runtime levels and a
//! tamper-evident audit log.
//!
//! Applications and libraries keep writing `tracing` events and spans;
//! `pr-logging` is the subscriber a service installs with one call to
//! [`init`]. It is one [`tracing_subscriber::Layer`] over the registry that
//! filters (with `RUST_LOG` syntax, changeable at run time through a
//! [`LevelHandle`]), formats each event once per format with redaction in
//! the formatter, and writes the line to every output whose level admits it.
//!
//! Other layers join it: [`LoggingBuilder::with_layer`] adds one (an
//! OpenTelemetry or tokio-console layer, your own) to the subscriber that
//! [`init`] installs, and [`LoggingBuilder::build_layer`] returns pr-logging
//! as a layer to compose by hand. Beside others its levels are a per-layer
//! filter: they decide what pr-logging writes, not what the others see.
//! Records of the `log` crate are bridged by [`init`] ([`bridge_log`]) and
//! written with their own target and location.
//!
//! # Examples
//!
//! ```
//! use pr_logging::{FileConfig, LogFormat, Logging, LoggingConfig};
//!
//! # fn main() -> Result<(), pr_logging::Error> {
//! let dir = std::env::temp_dir().join(format!("pr-logging-doc-{}", std::process::id()));
//! let mut config = LoggingConfig::default();
//! config.console.enabled = false;
//! config.files.push(FileConfig::new(dir.join("app.log")));
//! let mut errors = FileConfig::new(dir.join("error.log"));
//! errors.level = "warn".to_owned();
//! config.files.push(errors);
//!
//! // `pr_logging::init(&config)?` installs it globally; `build` lets a test
//! // or a scope use it without doing so.
//! let (dispatch, guard) = Logging::builder(&config).build()?;
//! tracing::dispatcher::with_default(&dispatch, || {
//!     tracing::info!(user = "ada", password = "hunter2", "signed in");
//!     tracing::warn!(disk_free_bytes = 1024_u64, "disk almost full");
//! });
//! guard.levels().set("debug")?;
//! drop(guard); // flushes
//!
//! let all = std::fs::read_to_string(dir.join("app.log")).map_err(|e| pr_logging::Error::Io {
//!     path: dir.join("app.log"),
//!     action: "read",
//!     source: e,
//! })?;
//! assert!(all.contains(r#""message":"signed in""#));
//! assert!(all.contains(r#""password":"[redacted]""#) && !all.contains("hunter2"));
//! let errors = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
//! assert_eq!(errors.lines().count(), 1);
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! On by default:
//!
//! - `audit`: the tamper-evident audit log ([`AuditConfig`], [`verify`],
//!   [`verify_all`]) and `hmac` redaction ([`RedactionMode::Hmac`]), on
//!   ring.
//! - `gzip`: gzip of rotated files in the background
//!   ([`FileConfig::compress`]), on flate2.
//!
//! Without them the crate compiles neither ring nor flate2; a configuration
//! that asks for what the build lacks (`compress = true`, `mode = "hmac"`,
//! an `audit` section) is refused when it is validated, with a problem at
//! its key that names the feature, never ignored. `compress` defaults to
//! on with `gzip` and off without it.
//!
//! ```toml
//! pr-logging = { version = "0.1", default-features = false, features = ["gzip"] }
//! ```
//!
//! Off by default:
//!
//! - `metrics`: counters through the `metrics` facade, registered once per
//!   output: `pr_logging_lines_total`, `pr_logging_written_bytes_total`,
//!   `pr_logging_dropped_lines_total`, `pr_logging_write_errors_total`,
//!   `pr_logging_rotations_total`, `pr_logging_compressed_files_total`,
//!   `pr_logging_deleted_files_total`, `pr_logging_reopens_total` (label
//!   `output`) and `pr_logging_redactions_total`.
//!
//!   ```toml
//!   pr-logging = { version = "0.1", features = ["metrics"] }
//!   ```
//! - `http`: [`http::router`], the axum routes `GET` / `POST /loggers` to
//!   read and change levels at run time (changes need a bearer token).
//!
//!   ```toml
//!   pr-logging = { version = "0.1", features = ["http"] }
//!   ```
//!
//! - `schema`: `schemars::JsonSchema` on [`LoggingConfig`] and the types it holds,
//!   so pr-config can generate its templates (`docs/config/` holds them).
//!
//!   ```toml
//!   pr-logging = { version = "0.1", features = ["schema"] }
//!   ```
//!
//! # Errors
//!
//! Setting up, changing levels and verifying audit files fail with
//! [`Error`]; its codes (`logging.<reason>`) are in [`codes`]. Writing logs
//! never fails the application: write errors are counted in [`LoggingSnapshot`] and
//! logging recovers when the cause goes away.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

#[cfg(feature = "audit")]
mod audit;
mod builder;
mod config;
mod error;
mod filter;
mod helpers;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod json;
mod layer;
mod output;
mod ratelimit;
mod redact;
mod rolling;
mod stats;
mod time;

// The logging builder takes the toolkit's one clock: re-exported so that its
// signature reads `pr_logging::Clock`, as pr-config re-exports pr-core's units.
pub use pr_core::time::Clock;

#[cfg(feature = "audit")]
#[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
pub use audit::{AuditBreak, AuditReport, audit_files, verify, verify_all, verify_files};
pub use builder::{FlushReport, Logging, LoggingBuilder, LoggingGuard, bridge_log, init};
pub use config::{
    AuditConfig, Color, ConsoleConfig, Every, FileConfig, LogFormat, LogRateLimitConfig,
    LoggingConfig, QueueConfig, RedactionConfig, RedactionMode, RetentionConfig, RotationConfig,
    Stream, WhenFull,
};
pub use error::Error;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        ALREADY_INITIALIZED, CODES, INVALID_CONFIG, INVALID_FILTER, INVALID_REQUEST, IO,
        LOG_BRIDGE, UNAUTHORIZED,
    };
}
pub use filter::LevelHandle;
pub use helpers::{Timed, log_metric, timed};
pub use stats::{HealthProbe, LoggingHealth, LoggingSnapshot, OutputHealth, OutputSnapshot};

/// Logs an audit event: an INFO event with target `audit`, which goes to
/// the audit log only (when one is configured), whatever the level filter.
///
/// ```
/// pr_logging::audit!(actor = "ada", action = "delete", object = "order/17", "order deleted");
/// ```
#[macro_export]
macro_rules! audit {
    ($($arg:tt)+) => {
        ::tracing::event!(target: "audit", ::tracing::Level::INFO, $($arg)+)
    };
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
