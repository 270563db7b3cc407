//! A fast recorder for the metrics facade: typed handles, bounded
//! histograms with statistics, label limits, name linting, Prometheus and
//! `OpenMetrics` exposition.
//!
//! The Rust ecosystem instruments through the [`metrics`] facade crate;
//! `pr-metrics` is the recorder a service installs, so that its own metrics
//! and every library's land on one page. Beside the facade, a [`Registry`]
//! hands out typed handles ([`Counter`], [`Gauge`], [`Histogram`] with its
//! [`Timer`] guard) that point straight at their series: no name lookup,
//! lock or allocation when recording. Contended counters are sharded over
//! cache lines, so they scale across threads and stay exact.
//!
//! - **Histograms** have fixed buckets ([`DEFAULT_BUCKETS`], [`linear`],
//!   [`exponential`]) and constant memory whatever the scrape rate, plus
//!   count, sum, mean, min, max, standard deviation and p50 / p90 / p99 over
//!   a rolling window from a bounded sketch (relative error at most
//!   [`QUANTILE_RELATIVE_ERROR`], 1/32). Any histogram can be exposed as a
//!   summary instead.
//! - **Labels** are limited per metric (`max_series_per_metric`): further
//!   label sets go to one overflow series (`metric_overflow="true"`) and a
//!   warning is logged once. Series idle longer than `idle_timeout`
//!   can be dropped.
//! - **Names** are checked when a metric is registered, by the rules of
//!   `promtool check metrics` (`_total` on counters only, base units,
//!   snake case, no reserved labels or suffixes). A bad name is an
//!   [`Error::Lint`] with a code such as `metrics.counter_without_total`,
//!   never a silent rewrite.
//! - **Exposition** in Prometheus text 0.0.4 or `OpenMetrics` 1.0, chosen by
//!   [`ExpositionFormat::from_accept`]; HELP from `describe_*`, units, global labels
//!   (service, instance) on every series, `+Inf` always equal to `_count`.
//! - **Exemplars** in `OpenMetrics` scrapes: with a trace-id source
//!   ([`RegistryBuilder::exemplars`]), each histogram bucket and counter
//!   keeps the last observation made in a trace; see [Exemplars](#exemplars).
//! - **Snapshots** of every metric with its statistics, as serde data.
//!
//! # Examples
//!
//! ```
//! use pr_metrics::{ExpositionFormat, MetricKind, Registry};
//!
//! # fn main() -> Result<(), pr_metrics::Error> {
//! let registry = Registry::builder().global_label("service", "checkout").build()?;
//!
//! // Typed handles: registered once, then no lookup on the hot path.
//! let requests = registry.counter("http_requests_total", &[("method", "GET")])?;
//! let latency = registry.histogram("http_request_duration_seconds", &[])?;
//! registry.describe(
//!     "http_request_duration_seconds",
//!     MetricKind::Histogram,
//!     Some(metrics::Unit::Seconds),
//!     "Time to answer a request.",
//! )?;
//! requests.inc();
//! latency.record(0.042);
//! {
//!     let _timer = latency.start_timer(); // records the elapsed seconds when dropped
//! }
//!
//! // The `metrics` facade, through this registry's recorder.
//! metrics::with_local_recorder(&registry.recorder(), || {
//!     metrics::counter!("jobs_done_total", "queue" => "mail").increment(3);
//! });
//!
//! // Bad names are refused with a code, not rewritten.
//! let err = registry.counter("http_requests", &[]).unwrap_err();
//! assert_eq!(pr_errors::CodedError::code(&err).as_str(), "metrics.counter_without_total");
//!
//! let text = registry.render(ExpositionFormat::Prometheus);
//! assert!(text.contains(r#"http_requests_total{service="checkout",method="GET"} 1"#));
//! assert!(text.contains(r#"jobs_done_total{service="checkout",queue="mail"} 3"#));
//!
//! let stats = latency.snapshot();
//! assert_eq!(stats.count, 2);
//! assert!(stats.max >= Some(0.042));
//! # Ok(())
//! # }
//! ```
//!
//! # Exemplars
//!
//! An exemplar ties a bucket (or a counter's `_total`) to one trace that
//! landed in it. The crate depends on no tracing library: the application
//! passes [`RegistryBuilder::exemplars`] a closure returning the current
//! [`TraceIds`], or `None` outside a trace (pr-facade reads the current
//! span's `OpenTelemetry` ids). The last observation per bucket or counter
//! is kept, with the registry clock's wall time to the millisecond, and
//! `OpenMetrics` scrapes show it after the sample:
//!
//! ```text
//! http_request_duration_seconds_bucket{le="0.25"} 7 # {trace_id="4bf9…",span_id="00f0…"} 0.21 1700000000.123
//! ```
//!
//! Prometheus text 0.0.4 has no exemplars; summaries and gauges carry none.
//! The source runs on every observation, so it must be cheap and return
//! `None` when no trace is active; keeping an exemplar is a few atomic
//! stores into the bucket's own slot, no lock. Without a source the cost is
//! one branch per observation.
//!
//! # Feature flags
//!
//! The recorder, typed API, exposition and snapshots are always built.
//!
//! - `http`: [`http::router`], the axum route `GET /metrics` answering in
//!   the format the `Accept` header asks for, with the matching
//!   `Content-Type`, gzip-compressed when `Accept-Encoding` allows.
//!
//!   ```toml
//!   pr-metrics = { version = "0.1", features = ["http"] }
//!   ```
//!
//! - `schema`: `schemars::JsonSchema` on [`MetricsConfig`] and the types it holds,
//!   so pr-config can generate its templates (`docs/config/` holds them).
//!
//!   ```toml
//!   pr-metrics = { version = "0.1", features = ["schema"] }
//!   ```
//!
//! # Errors
//!
//! Registration and configuration fail with [`Error`]; its codes are in
//! [`codes`]. Recording never fails.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod buckets;
mod cells;
mod config;
mod error;
mod exemplar;
mod handles;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod lint;
mod literal;
mod recorder;
mod registry;
mod sketch;
mod snapshot;
mod text;

// The registry builder takes the toolkit's one clock: re-exported so that its
// signature reads `pr_metrics::Clock`, as pr-config re-exports pr-core's units.
pub use pr_core::time::Clock;

pub use buckets::{DEFAULT_BUCKETS, exponential, linear};
pub use config::MetricsConfig;
pub use error::{Error, LintRule, MetricKind};
pub use exemplar::TraceIds;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        ABBREVIATED_UNIT, CODES, COUNTER_WITHOUT_TOTAL, INVALID_BUCKETS, INVALID_CONFIG,
        INVALID_LABEL, INVALID_NAME, KIND_CONFLICT, NON_BASE_UNIT, NOT_SNAKE_CASE,
        RECORDER_INSTALLED, RESERVED_LABEL, RESERVED_SUFFIX, TOTAL_ON_NON_COUNTER, TYPE_IN_NAME,
        UNIT_SUFFIX,
    };
}
pub use handles::{Counter, Gauge, Histogram, Timer};
pub use recorder::Recorder;
pub use registry::{Registry, RegistryBuilder};
pub use sketch::QUANTILE_RELATIVE_ERROR;
pub use snapshot::{
    Bucket, FamilySnapshot, HistogramSnapshot, SeriesSnapshot, SeriesValue, Snapshot,
};
pub use text::ExpositionFormat;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
