//! Layered, validated configuration with provenance, secrets, feature
//! flags, hot reload and templates, on figment and serde.
//!
//! A [`ConfigLoader`] builds any `T: Deserialize + Serialize + Default +
//! Validate` from layered sources, lowest first:
//!
//! 1. `T::default()`;
//! 2. configuration files (TOML, JSON, or YAML with the `yaml` feature, by
//!    extension; each required or optional), in order;
//! 3. profile files: `name.{profile}.ext` beside each file, the profile from
//!    the builder or the `<PREFIX>_PROFILE` variable;
//! 4. a `.env` file;
//! 5. environment variables `<PREFIX>__<KEY>__<SUB>` (`APP__DATABASE__URL`
//!    is `database.url`; see [`env_name`]), and `<PREFIX>__<KEY>_FILE` naming
//!    a secret file (the Docker / Kubernetes convention), whose permissions
//!    are checked with `pr-security`;
//! 6. any figment [`Provider`](figment::Provider);
//! 7. programmatic overrides (command-line flags).
//!
//! Loading reports **every** problem at once ([`Error::Invalid`]): values of
//! the wrong type, bad durations, missing keys, failed [`Validate`] rules,
//! unknown keys in strict mode, malformed files, unsafe secret files. Each
//! [`ConfigProblem`] names the key, the [`Source`] that supplied the value (file
//! and line, env var, default, override) and a stable code, and describes
//! what was expected and the *kind* of value found, never the value.
//! [`Loaded::explain`] shows which source won for each key and which it
//! shadowed, with secrets masked. Secrets use [`SecretString`] (re-exported
//! from `pr-core`, the toolkit's one secret type): redacted in `Debug`, `Display` and `Serialize`,
//! zeroed on drop.
//!
//! [`Duration`] (`"30s"`) and [`ByteSize`] (`"64MiB"`) parse as typed values.
//!
//! Feature flags ([`Flags`]) live in the configuration, so they load and
//! validate with it: on / off, gradual rollout by percentage with a
//! stickiness field (user id, session id, or a custom context field), and
//! weighted variants, bucketed exactly as Unleash does (`murmur3` `x86_32` of
//! `"{groupId}:{value}"`, seed 0, `% 100 + 1`), so rollouts agree with the
//! Unleash SDKs. The Unleash client specification's gradual-rollout,
//! flexible-rollout, variant and custom-stickiness suites (files 03, 04, 10,
//! 08 and 12: 48 of 48 cases) run in the tests. Out of scope: constraints
//! (09, 11, 13, 14, 15, 21, 22), the `userWithId` / `remoteAddress` /
//! hostname / random strategies (02, 05, 06, 07), strategy variants (16),
//! dependent features (17) and the delta API (19, 20): a strategy this crate
//! does not know, or one with constraints, counts as off.
//!
//! # Examples
//!
//! ```
//! use pr_config::{ConfigLoader, Duration, SecretString, Validate, Validator};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Default, Deserialize, Serialize)]
//! #[serde(default)]
//! struct Config {
//!     /// Listen port.
//!     port: u16,
//!     /// Request timeout.
//!     timeout: Duration,
//!     /// Database password.
//!     password: SecretString,
//! }
//!
//! impl Validate for Config {
//!     fn validate(&self, v: &mut Validator) {
//!         v.range("port", &self.port, &(1..=65535));
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("pr-config-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let file = dir.join("app.toml");
//! std::fs::write(&file, "port = 8080\ntimeout = \"5s\"\n")?;
//!
//! let loaded = ConfigLoader::<Config>::builder()
//!     .file(&file)
//!     .env_prefix("APP")
//!     .env_vars([("APP__PORT", "9090"), ("APP__PASSWORD", "hunter2")])
//!     .build()
//!     .load()?;
//! assert_eq!(loaded.config.port, 9090);
//! assert_eq!(loaded.config.timeout.as_std(), std::time::Duration::from_secs(5));
//! let explained = loaded.explain().to_string();
//! assert!(explained.contains("port = 9090  # from env var APP__PORT, shadowing default, file"));
//! assert!(!explained.contains("hunter2"));
//!
//! // Every problem at once, none showing its value.
//! let err = ConfigLoader::<Config>::builder()
//!     .file(&file)
//!     .env_prefix("APP")
//!     .env_vars([("APP__PORT", "0"), ("APP__TIMEOUT", "soon")])
//!     .build()
//!     .load()
//!     .unwrap_err();
//! assert_eq!(err.problems().len(), 2);
//! assert!(err.to_string().contains("[config.invalid_value] `timeout` from env var APP__TIMEOUT"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None is on by default: the default build reads, merges and validates
//! files (TOML and JSON), `.env`, the environment and secret files, and
//! compiles no notify, YAML parser, schemars or garde.
//!
//! - `reload`: [`ConfigHandle`] — `current()` is a lock-free read
//!   (`arc-swap`) of the last good configuration (`peek()` a cheaper
//!   short-lived borrow, `reader()` a per-thread cache for the hottest
//!   paths), `subscribe()` sees each
//!   applied one, `reload()` builds and validates a new configuration
//!   completely before swapping and keeps the old one on failure, and
//!   `status()` ([`ReloadStatus`]: generation, last success, last error) is
//!   what a health check reads. [`ConfigHandle::reload_on_sighup`] reloads
//!   on SIGHUP.
//!
//!   ```toml
//!   pr-config = { version = "0.1", features = ["reload"] }
//!   ```
//! - `watch` (with `reload`): [`ConfigHandle::watch`] watches the files'
//!   directories with notify (atomic renames and the Kubernetes `ConfigMap`
//!   `..data` symlink swap are seen; debounced; polling fallback) and
//!   reloads when they change.
//!
//!   ```toml
//!   pr-config = { version = "0.1", features = ["watch"] }
//!   ```
//! - `health` (with `reload`): [`ReloadCheck`], the reload status as a
//!   pr-health check: Up while the last reload succeeded, Degraded (not
//!   critical) while the last one failed and the last good configuration
//!   is in use.
//!
//!   ```toml
//!   pr-config = { version = "0.1", features = ["health"] }
//!   ```
//! - `schema`: [`Template`] — from one schema (derive
//!   `schemars::JsonSchema` on the configuration types, so doc comments
//!   become descriptions) and `T::default()`: a commented TOML default file,
//!   a `.env.example` with the exact variable names, defaults, and which keys
//!   are required or secret, and a Markdown reference. [`Duration`],
//!   [`ByteSize`] and [`Flags`] implement `JsonSchema`; give a
//!   [`SecretString`] field `#[schemars(with = "String")]`.
//!
//!   ```toml
//!   pr-config = { version = "0.1", features = ["schema"] }
//!   ```
//! - `garde`: [`Validator::garde`] runs rules derived with garde
//!   (`#[derive(garde::Validate)]`), so rules can be attributes instead of
//!   code; each failure is reported at its key with its source.
//!
//!   ```toml
//!   pr-config = { version = "0.1", features = ["garde"] }
//!   ```
//! - `yaml`: `.yaml` / `.yml` files (on `serde_norway`, the maintained
//!   `serde_yaml` fork), with key lines in problems.
//!
//!   ```toml
//!   pr-config = { version = "0.1", features = ["yaml"] }
//!   ```
//!
//! # Errors
//!
//! [`Error`], with codes in [`codes`]; [`Error::Invalid`] carries one
//! [`ConfigProblem`] per finding, each with its own code.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod env;
mod error;
mod explain;
mod flags;
mod format;
#[cfg(feature = "health")]
mod health;
mod loader;
#[cfg(feature = "reload")]
mod reload;
#[cfg(feature = "schema")]
mod template;
mod tree;

pub use env::{env_name, key_for_env};
pub use error::{ConfigProblem, Error, Source, Warning};

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        CODES, FILE_MISSING, INSECURE_SECRET_FILE, INVALID, INVALID_TYPE, INVALID_VALUE, IO,
        MISSING_VALUE, PARSE_FAILED, UNKNOWN_KEY, VALIDATION_FAILED, WATCH_FAILED,
    };
}
pub use explain::{Explanation, ExplanationEntry};
pub use flags::{
    Flag, FlagContext, Flags, Strategy, Variant, VariantChoice, VariantOverride, bucket,
};
pub use format::FileFormat;
#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
pub use health::ReloadCheck;
pub use loader::{ConfigLoader, ConfigLoaderBuilder, Loaded, SecretFilePolicy};
pub use pr_core::secret::SecretString;
pub use pr_core::units::{ByteSize, Duration, ParseUnitError};
pub use pr_core::validate::{Validate, Validator, Violation};
pub use pr_core::validate_fields;
#[cfg(feature = "reload")]
#[cfg_attr(docsrs, doc(cfg(feature = "reload")))]
pub use reload::{ConfigHandle, Current, Reader, ReloadStatus};
#[cfg(feature = "watch")]
#[cfg_attr(docsrs, doc(cfg(feature = "watch")))]
pub use reload::{WatchMode, Watcher};
#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
pub use template::{Template, TemplateEntry};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
