//! [`RetryConfig`](crate::retry::RetryConfig): a retry policy's settings as
//! configuration (serde), checked by [`Validate`] and turned into the
//! [`RetryBuilder`].
//!
//! Every field is optional: an unset field takes the value of the
//! `defaults.retry` section of a
//! `ResilienceConfig` (`pr_resilience::policies`) when the policy is
//! one of its named instances, else the builder's default (stated on each
//! field). So one type serves both the defaults and the instances, and a
//! problem is reported where the value was written.

use std::time::Duration as StdDuration;

use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use super::{Backoff, Jitter, Retry, RetryBuilder};
use crate::Error;

/// How the wait before each retry grows: [`Backoff`] without its values,
/// which [`RetryConfig`] holds in `base_delay` and `factor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackoffKind {
    /// `base_delay` every time.
    Constant,
    /// `base_delay × n` before the n-th retry.
    Linear,
    /// `base_delay × factor^(n-1)` before the n-th retry.
    Exponential,
    /// Polly's decorrelated jitter around a median first wait of
    /// `base_delay` (`jitter` is not applied on top).
    DecorrelatedJitter,
}

/// A retry policy's settings. Each unset field takes the `defaults.retry`
/// value of its `ResilienceConfig` (`pr_resilience::policies`), or
/// else the default stated here (the [`Retry::builder`] defaults: 3
/// retries, exponential from 200 ms doubling, equal jitter, at most 30 s
/// between attempts), so `Default` (nothing set) is safe in production.
/// Transient errors are retried (the [`Transient`](super::Transient)
/// predicate).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetryConfig {
    /// The most retries after the first attempt (`0` disables retrying).
    /// Default 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// How the wait grows: `"constant"`, `"linear"`, `"exponential"` or
    /// `"decorrelated_jitter"`. Default `"exponential"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffKind>,
    /// The first wait, the step of a linear backoff, or the median first
    /// wait of decorrelated jitter (`"200ms"`; a plain number is seconds).
    /// Default `"200ms"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_delay: Option<Duration>,
    /// The growth per retry of an exponential backoff (a number, at least
    /// 1; 2 doubles). Default 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// The longest computed wait (`"30s"`; a plain number is seconds;
    /// `"0s"`: no cap). A server's retry-after is not capped. Default
    /// `"30s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay: Option<Duration>,
    /// Gives up when the next wait would end later than this after the
    /// first attempt (`"10s"`; a plain number is seconds; `"0s"`: no
    /// limit). Default `"0s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_elapsed: Option<Duration>,
    /// Randomness on the computed wait: `"none"`, `"full"` (zero to the
    /// wait) or `"equal"` (half the wait plus a random part of the other
    /// half). Default `"equal"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Jitter>,
    /// In a pipeline, answer `resilience.retries_exhausted` when the policy
    /// gives up on a result its predicate still rejects, instead of that
    /// result. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_after_max_attempts: Option<bool>,
}

/// The duration, or `None` for zero (off).
fn unless_zero(d: Duration) -> Option<StdDuration> {
    let d = d.as_std();
    (!d.is_zero()).then_some(d)
}

impl RetryConfig {
    /// These settings with each unset field taken from `defaults`: how a
    /// named instance inherits its section's `defaults.retry`.
    #[must_use]
    pub fn or(&self, defaults: &Self) -> Self {
        Self {
            max_retries: self.max_retries.or(defaults.max_retries),
            backoff: self.backoff.or(defaults.backoff),
            base_delay: self.base_delay.or(defaults.base_delay),
            factor: self.factor.or(defaults.factor),
            max_delay: self.max_delay.or(defaults.max_delay),
            max_elapsed: self.max_elapsed.or(defaults.max_elapsed),
            jitter: self.jitter.or(defaults.jitter),
            fail_after_max_attempts: self
                .fail_after_max_attempts
                .or(defaults.fail_after_max_attempts),
        }
    }

    /// A builder holding these settings, the unset ones at the builder's
    /// defaults, named `name`, to which code adds what configuration does
    /// not hold (a clock, a budget, an `on_retry` hook). It does not
    /// validate: [`Retry::from_config`] does, or the builder's `build`.
    pub fn to_builder(&self, name: impl Into<String>) -> RetryBuilder {
        let mut builder = RetryBuilder::default().name(name);
        if self.backoff.is_some() || self.base_delay.is_some() || self.factor.is_some() {
            // What is unset comes from the builder's own default backoff.
            let (default_base, default_factor) = match builder.backoff {
                Backoff::Exponential { base, factor } => (base, factor),
                Backoff::Constant(base)
                | Backoff::Linear(base)
                | Backoff::DecorrelatedJitter(base) => (base, 2.0),
            };
            let base = self.base_delay.map_or(default_base, Duration::as_std);
            let factor = self.factor.unwrap_or(default_factor);
            builder = builder.backoff(match self.backoff.unwrap_or(BackoffKind::Exponential) {
                BackoffKind::Constant => Backoff::Constant(base),
                BackoffKind::Linear => Backoff::Linear(base),
                BackoffKind::Exponential => Backoff::Exponential { base, factor },
                BackoffKind::DecorrelatedJitter => Backoff::DecorrelatedJitter(base),
            });
        }
        if let Some(retries) = self.max_retries {
            builder = builder.max_retries(retries);
        }
        if let Some(max) = self.max_delay {
            builder = builder.max_delay(unless_zero(max));
        }
        if let Some(max) = self.max_elapsed {
            builder = builder.max_elapsed(unless_zero(max));
        }
        if let Some(jitter) = self.jitter {
            builder = builder.jitter(jitter);
        }
        if let Some(fail) = self.fail_after_max_attempts {
            builder = builder.fail_after_max_attempts(fail);
        }
        builder
    }
}

/// Every problem at once, each at its key relative to the policy's section
/// (`factor`); no message repeats a value. Each set field is checked on its
/// own, so a bad value in `defaults.retry` is reported there once, not in
/// every instance that inherits it.
impl Validate for RetryConfig {
    fn validate(&self, v: &mut Validator) {
        if let Some(factor) = self.factor {
            v.check(
                factor.is_finite() && factor >= 1.0,
                "factor",
                "must be a finite number of at least 1",
            );
        }
    }
}

impl Retry {
    /// A retry policy named `name` (in events and metrics) from its
    /// configuration, retrying transient errors. For a clock, a budget or
    /// a hook, start from [`RetryConfig::to_builder`] instead.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem, each at its key
    /// relative to the policy's section.
    pub fn from_config(name: impl Into<String>, config: &RetryConfig) -> Result<Self, Error> {
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        config.to_builder(name).build()
    }
}
