//! The pr production-readiness toolkit in one dependency: re-exports of every
//! pr crate, one feature each.
//!
//! Depend on `pr-facade` with the features you need (or `full`) instead of on
//! each crate; every crate is reachable under a short module name, and its
//! own documentation is the reference. Beside the re-exports, [`app`] wires
//! them into one production setup: `App::builder("name")` loads and
//! validates the configuration, installs logging and the metrics recorder,
//! starts resource sampling and health checks, serves the ops endpoints
//! (probes, `/metrics`, `/loggers`, `/info`, `/status`) and shuts down
//! gracefully on SIGTERM / SIGINT. `cargo run --example service` runs a demo.
//!
//! # Examples
//!
//! ```
//! use pr_facade::errors::{Report, RetryClass};
//!
//! let report = Report::unclassified(std::io::Error::other("disk full"));
//! assert_eq!(report.retry(), RetryClass::Permanent);
//! assert_eq!(report.status().as_u16(), 500);
//! ```
//!
//! # Feature flags
//!
//! - `app` (default): [`app`] and [`prelude`]; turns on `config`, `errors`,
//!   `health`, `logging`, `metrics` and `resources`.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["app"] }
//!   ```
//! - `cache`: [`cache`], the `pr-cache` crate with its metrics and health
//!   check: a memory cache on moka with statistics, one loader run per key
//!   and stale-while-revalidate, a crash-safe file cache, tiers and
//!   memoization. (The Redis tier: enable `pr-cache/redis` directly.)
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["cache"] }
//!   ```
//! - `config`: [`config`], the `pr-config` crate: layered configuration
//!   (defaults, files, profiles, `.env`, environment, overrides) with every
//!   problem reported at once with its source, `explain()`, secrets and
//!   reloading a handle (TOML and JSON files; what follows is opt-in).
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["config"] }
//!   ```
//! - `yaml`, `garde`, `schema`, `watch`: pr-config's YAML files, garde
//!   rules, templates and JSON Schema (`JsonSchema` on the configuration
//!   types of every crate that is on), and file watching
//!   (`ConfigHandle::watch`); each turns on `config`, all are in `full`.
//! - `errors` (default): [`errors`], the `pr-errors` crate with problem details.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["errors"] }
//!   ```
//! - `health`: [`health`], the `pr-health` crate with its HTTP router and
//!   metrics.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["health"] }
//!   ```
//! - `http`: [`http`], the `pr-http` crate with its defaults and
//!   authentication: the service's own HTTP edge (`http::layers` around an
//!   axum router: request ids, trace context, access log, request metrics,
//!   problem responses, limits, per-client rate limit, CORS, security
//!   headers).
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["http"] }
//!   ```
//! - `tls`: HTTPS for the app's ops server (`ops.tls`) and API
//!   ([`app::ApiListener::with_tls`]) on rustls, the certificate files
//!   reloaded when they change, client certificates when a CA is given.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["tls"] }
//!   ```
//! - `logging`: [`logging`], the `pr-logging` crate: the `tracing`
//!   subscriber with JSON / text outputs, rotated and compressed files,
//!   redaction, runtime levels and the HMAC-chained audit log.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["logging"] }
//!   ```
//! - `metrics`: [`metrics`], the `pr-metrics` crate: a recorder for the
//!   `metrics` facade, typed handles, histograms with statistics, Prometheus
//!   and `OpenMetrics` exposition, and its `/metrics` route.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["metrics"] }
//!   ```
//! - `resources`: [`resources`], the `pr-resources` crate with its health
//!   checks and metrics: process / system / cgroup / disk sampling into a
//!   lock-free snapshot, memory budgets, start-up limits, threshold alerts.
//!   (GPUs: enable `pr-resources/gpu` directly.)
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["resources"] }
//!   ```
//! - `resilience`: [`resilience`], the `pr-resilience` crate with its tower
//!   layers, metrics and health checks: retry with budgets, a lock-free
//!   circuit breaker, bulkhead, timeouts, fallback, hedging, failover and
//!   pipelines. (Chaos injection: enable `pr-resilience/chaos` directly.)
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["resilience"] }
//!   ```
//! - `security`: [`security`], the `pr-security` crate: contained file
//!   access, secrets, HMAC / AEAD / password hashing on ring, input
//!   validation with an SSRF guard, output sanitization.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["security"] }
//!   ```
//! - `telemetry`: [`telemetry`], the `pr-telemetry` crate: OpenTelemetry
//!   spans from tracing, exported over OTLP (HTTP or gRPC) through a
//!   bounded queue, W3C propagation.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["telemetry"] }
//!   ```
//! - `full`: every crate.
//!
//!   ```toml
//!   pr-facade = { version = "0.1", features = ["full"] }
//!   ```
//!
//! # Errors
//!
//! Each crate has its own error type; all implement
//! `pr_facade::errors::CodedError`, and `docs/error-codes.md` lists every code.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

#[cfg(feature = "app")]
#[cfg_attr(docsrs, doc(cfg(feature = "app")))]
pub mod app;
#[cfg(feature = "app")]
#[cfg_attr(docsrs, doc(cfg(feature = "app")))]
pub mod prelude;

#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
#[doc(inline)]
pub use pr_cache as cache;

#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
#[doc(inline)]
pub use pr_config as config;

#[cfg(feature = "errors")]
#[cfg_attr(docsrs, doc(cfg(feature = "errors")))]
#[doc(inline)]
pub use pr_errors as errors;

#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
#[doc(inline)]
pub use pr_health as health;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use pr_http as http;

#[cfg(feature = "logging")]
#[cfg_attr(docsrs, doc(cfg(feature = "logging")))]
#[doc(inline)]
pub use pr_logging as logging;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
#[doc(inline)]
pub use pr_metrics as metrics;

#[cfg(feature = "resources")]
#[cfg_attr(docsrs, doc(cfg(feature = "resources")))]
#[doc(inline)]
pub use pr_resources as resources;

#[cfg(feature = "resilience")]
#[cfg_attr(docsrs, doc(cfg(feature = "resilience")))]
#[doc(inline)]
pub use pr_resilience as resilience;

#[cfg(feature = "security")]
#[cfg_attr(docsrs, doc(cfg(feature = "security")))]
#[doc(inline)]
pub use pr_security as security;
#[cfg(feature = "telemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "telemetry")))]
#[doc(inline)]
pub use pr_telemetry as telemetry;
