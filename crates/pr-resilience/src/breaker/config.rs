//! [`BreakerConfig`](crate::breaker::BreakerConfig): a circuit breaker's
//! settings as configuration (serde), checked by [`Validate`] with the
//! rules [`BreakerBuilder::build`] applies, and turned into that builder.
//!
//! Every field is optional: an unset field takes the value of the
//! `defaults.breaker` section of a
//! `ResilienceConfig` (`pr_resilience::policies`) when the breaker
//! is one of its named instances, else the builder's default (stated on
//! each field). A problem is reported where the value was written.

use std::time::Duration as StdDuration;

use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use super::{BreakerBuilder, CircuitBreaker, SlidingWindow};
use crate::Error;

/// Which sliding window a [`BreakerConfig`] describes: the last
/// `window_size` calls, or the calls of the last `window_duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SlidingWindowKind {
    /// The last `window_size` calls ([`SlidingWindow::Count`]).
    Count,
    /// The calls of the last `window_duration`, in `window_buckets`
    /// buckets ([`SlidingWindow::Time`]).
    Time,
}

/// A circuit breaker's settings (Resilience4j's names, in snake case).
/// Each unset field takes the `defaults.breaker` value of its
/// `ResilienceConfig` (`pr_resilience::policies`), or else the
/// default stated here (the [`CircuitBreaker::builder`] defaults), so
/// `Default` (nothing set) is safe in production.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// `"count"` (the last `window_size` calls) or `"time"` (the calls of
    /// the last `window_duration`). Default `"count"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<SlidingWindowKind>,
    /// Calls in a count window (at least 1). Default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_size: Option<u32>,
    /// A time window's length (`"60s"`; a plain number is seconds; more
    /// than zero). Default `"60s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_duration: Option<Duration>,
    /// Buckets a time window is cut into; it slides one bucket at a time
    /// (1 to 1024). Default 60.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_buckets: Option<u32>,
    /// Opens when the failure rate reaches this percentage (more than 0,
    /// at most 100). Default 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_rate_threshold: Option<f64>,
    /// Opens when the rate of slow calls reaches this percentage (more than
    /// 0, at most 100). Default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_call_rate_threshold: Option<f64>,
    /// A call taking this long or longer is slow (`"2s"`; a plain number is
    /// seconds; `"0s"`: calls are not timed). Default `"60s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_call_duration: Option<Duration>,
    /// No verdict before the window holds this many calls (a count). Default
    /// 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_calls: Option<u32>,
    /// How long the breaker stays open before letting probes through
    /// (`"60s"`; a plain number is seconds). Default `"60s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_in_open: Option<Duration>,
    /// Each re-open from half-open multiplies the wait in open by this (a
    /// finite number, at least 1; 1 keeps it). Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_backoff_factor: Option<f64>,
    /// The longest the wait in open grows to by `open_backoff_factor`
    /// (`"10m"`; a plain number is seconds). Default `"10m"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_in_open: Option<Duration>,
    /// Probe calls let through in half-open (1 to 1024). Default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permitted_calls_in_half_open: Option<u32>,
    /// How long a half-open probe may run before its place goes to another
    /// probe (`"60s"`; a plain number is seconds; more than zero). Default
    /// `"60s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_lease: Option<Duration>,
    /// Count every error as a failure, a permanent one (bad input, a 404)
    /// too, as Resilience4j does; without it a permanent error does not
    /// count. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_all_errors: Option<bool>,
}

/// The time window's defaults, when the kind is `"time"`.
const DEFAULT_WINDOW_DURATION: StdDuration = StdDuration::from_secs(60);
const DEFAULT_WINDOW_BUCKETS: u32 = 60;
/// The count window's default size, the builder's.
const DEFAULT_WINDOW_SIZE: u32 = 100;

impl BreakerConfig {
    /// These settings with each unset field taken from `defaults`: how a
    /// named instance inherits its section's `defaults.breaker`.
    #[must_use]
    pub fn or(&self, defaults: &Self) -> Self {
        Self {
            sliding_window: self.sliding_window.or(defaults.sliding_window),
            window_size: self.window_size.or(defaults.window_size),
            window_duration: self.window_duration.or(defaults.window_duration),
            window_buckets: self.window_buckets.or(defaults.window_buckets),
            failure_rate_threshold: self
                .failure_rate_threshold
                .or(defaults.failure_rate_threshold),
            slow_call_rate_threshold: self
                .slow_call_rate_threshold
                .or(defaults.slow_call_rate_threshold),
            slow_call_duration: self.slow_call_duration.or(defaults.slow_call_duration),
            minimum_calls: self.minimum_calls.or(defaults.minimum_calls),
            wait_in_open: self.wait_in_open.or(defaults.wait_in_open),
            open_backoff_factor: self.open_backoff_factor.or(defaults.open_backoff_factor),
            max_wait_in_open: self.max_wait_in_open.or(defaults.max_wait_in_open),
            permitted_calls_in_half_open: self
                .permitted_calls_in_half_open
                .or(defaults.permitted_calls_in_half_open),
            probe_lease: self.probe_lease.or(defaults.probe_lease),
            record_all_errors: self.record_all_errors.or(defaults.record_all_errors),
        }
    }

    /// A builder holding these settings, the unset ones at the builder's
    /// defaults, named `name`, to which code adds what configuration does
    /// not hold (a clock, transition listeners). It does not validate:
    /// [`CircuitBreaker::from_config`] does, or the builder's `build`.
    pub fn to_builder(&self, name: impl Into<String>) -> BreakerBuilder {
        let mut builder = CircuitBreaker::builder(name);
        match self.sliding_window {
            Some(SlidingWindowKind::Time) => {
                builder = builder.sliding_window(SlidingWindow::Time {
                    size: self
                        .window_duration
                        .map_or(DEFAULT_WINDOW_DURATION, Duration::as_std),
                    buckets: self.window_buckets.unwrap_or(DEFAULT_WINDOW_BUCKETS),
                });
            }
            Some(SlidingWindowKind::Count) | None => {
                if let Some(size) = self.window_size {
                    builder = builder.sliding_window(SlidingWindow::Count(size));
                } else if self.sliding_window.is_some() {
                    builder = builder.sliding_window(SlidingWindow::Count(DEFAULT_WINDOW_SIZE));
                }
            }
        }
        if let Some(percent) = self.failure_rate_threshold {
            builder = builder.failure_rate_threshold(percent);
        }
        if let Some(percent) = self.slow_call_rate_threshold {
            builder = builder.slow_call_rate_threshold(percent);
        }
        if let Some(slow) = self.slow_call_duration {
            let slow = slow.as_std();
            builder = builder.slow_call_duration((!slow.is_zero()).then_some(slow));
        }
        if let Some(calls) = self.minimum_calls {
            builder = builder.minimum_calls(calls);
        }
        if let Some(wait) = self.wait_in_open {
            builder = builder.wait_in_open(wait.as_std());
        }
        if self.open_backoff_factor.is_some() || self.max_wait_in_open.is_some() {
            let factor = self.open_backoff_factor.unwrap_or(builder.open_factor);
            let max = self
                .max_wait_in_open
                .map_or(builder.max_wait_open, Duration::as_std);
            builder = builder.open_backoff(factor, max);
        }
        if let Some(calls) = self.permitted_calls_in_half_open {
            builder = builder.permitted_calls_in_half_open(calls);
        }
        if let Some(lease) = self.probe_lease {
            builder = builder.probe_lease(lease.as_std());
        }
        if self.record_all_errors == Some(true) {
            builder = builder.record_all_errors();
        }
        builder
    }
}

/// Every problem at once, each at its key relative to the breaker's
/// section (`failure_rate_threshold`, `window_buckets`): the rules of
/// [`BreakerBuilder::build`], without the values in the messages. Each set
/// field is checked on its own, so a bad value in `defaults.breaker` is
/// reported there once.
impl Validate for BreakerConfig {
    fn validate(&self, v: &mut Validator) {
        let percent = |p: Option<f64>| p.is_none_or(|p| p > 0.0 && p <= 100.0);
        v.check(
            percent(self.failure_rate_threshold),
            "failure_rate_threshold",
            "must be more than 0 and at most 100 (a percentage)",
        );
        v.check(
            percent(self.slow_call_rate_threshold),
            "slow_call_rate_threshold",
            "must be more than 0 and at most 100 (a percentage)",
        );
        v.check(
            self.window_size.is_none_or(|n| n > 0),
            "window_size",
            "must be at least 1",
        );
        v.check(
            self.window_duration.is_none_or(|d| !d.as_std().is_zero()),
            "window_duration",
            "must be more than zero",
        );
        v.check(
            self.window_buckets.is_none_or(|n| (1..=1024).contains(&n)),
            "window_buckets",
            "must be between 1 and 1024",
        );
        v.check(
            self.permitted_calls_in_half_open
                .is_none_or(|n| (1..=1024).contains(&n)),
            "permitted_calls_in_half_open",
            "must be between 1 and 1024",
        );
        v.check(
            self.probe_lease.is_none_or(|d| !d.as_std().is_zero()),
            "probe_lease",
            "must be more than zero",
        );
        v.check(
            self.open_backoff_factor
                .is_none_or(|f| f.is_finite() && f >= 1.0),
            "open_backoff_factor",
            "must be a finite number of at least 1",
        );
    }
}

impl CircuitBreaker {
    /// A closed breaker named `name` (in errors, events and metrics) from
    /// its configuration. For a clock or listeners, start from
    /// [`BreakerConfig::to_builder`] instead.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem, each at its key
    /// relative to the breaker's section.
    pub fn from_config(name: impl Into<String>, config: &BreakerConfig) -> Result<Self, Error> {
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        config.to_builder(name).build()
    }
}
