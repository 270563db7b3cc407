//! Health checks that run in parallel with timeouts, lifecycle-aware
//! liveness / readiness / startup probes, and the ops HTTP router.
//!
//! A service registers a [`Check`] per dependency (a database, a disk, a
//! downstream API) in a [`HealthRegistry`]. A probe runs the checks of its
//! [`Group`] in parallel, each bounded by its timeout, and caches the results;
//! a [`Refresher`] keeps the cache warm so that a probe never waits on a slow
//! dependency (except for a check's first result). A check that times out or
//! panics is `Down`, never a hung or crashed server.
//!
//! Probes also follow the application's [`Lifecycle`]
//! (starting → ready → draining → stopped): readiness is false until startup
//! completes and from the moment draining begins, while liveness stays true
//! until the process stops and never depends on an external dependency.
//! Ready means checked: [`HealthRegistry::mark_ready`] turns the lifecycle
//! ready only after every registered check has run once (or timed out).
//!
//! The group's status is the worst of its checks', where a non-critical check
//! counts at most as `Degraded` ([`aggregate`]); `Degraded` passes a probe
//! (HTTP 200 by default, configurable), `Unknown` and `Down` fail it (503).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use pr_health::{HealthConfig, HealthRegistry, Outcome, Status, check_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pr_health::Error> {
//! let registry = HealthRegistry::new(HealthConfig::default())?;
//! registry.add(check_fn("database", || async { Outcome::up() }))?;
//! registry.add(
//!     check_fn("recommendations", || async { Outcome::down("connection refused") })
//!         .critical(false)
//!         .timeout(Duration::from_millis(300)),
//! )?;
//!
//! // Not ready while starting, whatever the checks say.
//! assert_eq!(registry.readiness().await.status, Status::Down);
//!
//! registry.mark_ready().await; // after every check's first run
//! let ready = registry.readiness().await;
//! assert_eq!(ready.status, Status::Degraded); // a non-critical check is down
//! assert_eq!(registry.config().http_status(ready.status).as_u16(), 200);
//!
//! registry.lifecycle().start_draining();
//! assert_eq!(registry.readiness().await.status, Status::Down);
//! assert_eq!(registry.liveness().await.status, Status::Up);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `http`: [`http::router`], the axum routes `/health`, `/health/live`,
//!   `/health/ready`, `/health/startup`, `/livez` and `/readyz`.
//!
//!   ```toml
//!   pr-health = { version = "0.1", features = ["http"] }
//!   ```
//! - `metrics`: `pr_health_check_duration_seconds` and `pr_health_check_up`
//!   per check, through the `metrics` facade.
//!
//!   ```toml
//!   pr-health = { version = "0.1", features = ["metrics"] }
//!   ```
//!
//! - `schema`: `schemars::JsonSchema` on [`HealthConfig`] and the types it holds,
//!   so pr-config can generate its templates (`docs/config/` holds them).
//!
//!   ```toml
//!   pr-health = { version = "0.1", features = ["schema"] }
//!   ```
//!
//! # Errors
//!
//! Setting up can fail with [`Error`] (a duplicate check name, an invalid
//! configuration); its codes are in [`codes`]. Running checks never fails:
//! failures are statuses.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod builtin;
mod check;
mod config;
mod error;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod lifecycle;
#[cfg(feature = "metrics")]
mod metrics;
mod registry;
mod status;

pub use builtin::{DiskSpaceCheck, MemoryCheck, TcpCheck};
pub use check::{Check, CheckFuture, FnCheck, Group, check_fn};
pub use config::{HealthConfig, ShowDetails};
pub use error::Error;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{CODES, DUPLICATE_CHECK, INVALID_CONFIG};
}
pub use lifecycle::{Lifecycle, Phase};
pub use registry::{CheckReport, HealthRegistry, HealthReport, Refresher};
pub use status::{Outcome, Status, aggregate};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
