//! The floor of the pr toolkit: the few things every crate of it shares, so
//! that no crate grows its own copy. Small and stable, like `tracing-core`:
//! a type moves in only when two or more crates need the same thing.
//!
//! - [`units`]: [`Duration`](units::Duration) (`"30s"`) and
//!   [`ByteSize`](units::ByteSize) (`"64MiB"`), which read and write human
//!   text in configuration files (serde; JSON Schema with feature `schema`).
//! - [`secret`]: [`SecretString`](secret::SecretString) and
//!   [`SecretBytes`](secret::SecretBytes), which never print, compare in
//!   constant time (with a bearer-token check) and are wiped on drop.
//! - [`sync`]: locks that ignore poisoning.
//! - [`validate`]: [`Validate`](validate::Validate), the rules every
//!   configuration type checks, reported as keyed
//!   [`Violation`](validate::Violation)s (garde-derived rules too, with
//!   feature `garde`).
//! - [`time`]: the one [`Clock`](time::Clock) every crate reads (system,
//!   precise, tokio's with feature `tokio`) and the one
//!   [`ManualClock`](time::ManualClock) tests drive them all with.
//! - `fs` (feature `fs`): the durable-file kit the crash-safe stores build
//!   on: atomic whole-file writes with a directory sync, file locks,
//!   CRC-32C framed records with torn-tail recovery, and the one
//!   `Durability` policy.
//!
//! ```
//! use pr_core::units::{ByteSize, Duration};
//!
//! let ttl: Duration = "1m30s".parse()?;
//! assert_eq!(ttl.as_std(), std::time::Duration::from_secs(90));
//! let size: ByteSize = "64MiB".parse()?;
//! assert_eq!(size.as_u64(), 64 << 20);
//!
//! let counter = std::sync::Mutex::new(0);
//! *pr_core::sync::lock(&counter) += 1;
//! # Ok::<(), pr_core::units::ParseUnitError>(())
//! ```
//!
//! pr-core depends on nothing of ours, and every crate of the toolkit may
//! depend on it (pr-errors included, should it need to): it sits at the very
//! bottom of the layering in `docs/STYLE.md`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

#[cfg(feature = "fs")]
#[cfg_attr(docsrs, doc(cfg(feature = "fs")))]
pub mod fs;
pub mod secret;
pub mod sync;
pub mod time;
pub mod units;
pub mod validate;
