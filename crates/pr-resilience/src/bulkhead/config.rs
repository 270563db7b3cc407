//! [`BulkheadConfig`](crate::bulkhead::BulkheadConfig): a bulkhead's
//! settings as configuration (serde), checked by [`Validate`] and turned
//! into the [`BulkheadBuilder`].
//!
//! Every field is optional: an unset field takes the value of the
//! `defaults.bulkhead` section of a
//! `ResilienceConfig` (`pr_resilience::policies`) when the bulkhead
//! is one of its named instances, else the builder's default (stated on
//! each field). A problem is reported where the value was written.

use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::{Bulkhead, BulkheadBuilder};
use crate::Error;

/// A bulkhead's settings. Each unset field takes the `defaults.bulkhead`
/// value of its `ResilienceConfig` (`pr_resilience::policies`), or
/// else the default stated here (the [`Bulkhead::builder`] defaults: 25
/// concurrent calls, no queue, Resilience4j's), so `Default` (nothing set)
/// is safe in production.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BulkheadConfig {
    /// The most calls running at once (a count, at least 1). Default 25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The most calls waiting for a place (a count; `0`: refuse at once
    /// when full). Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_queue: Option<usize>,
    /// The longest a queued call waits for a place before it is refused
    /// (`"500ms"`; a plain number is seconds; `"0s"`: as long as it takes).
    /// Default `"0s"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait: Option<Duration>,
}

impl BulkheadConfig {
    /// These settings with each unset field taken from `defaults`: how a
    /// named instance inherits its section's `defaults.bulkhead`.
    #[must_use]
    pub fn or(&self, defaults: &Self) -> Self {
        Self {
            limit: self.limit.or(defaults.limit),
            max_queue: self.max_queue.or(defaults.max_queue),
            max_wait: self.max_wait.or(defaults.max_wait),
        }
    }

    /// A builder holding these settings, the unset ones at the builder's
    /// defaults, named `name`. It does not validate:
    /// [`Bulkhead::from_config`] does, or the builder's `build`.
    pub fn to_builder(&self, name: impl Into<String>) -> BulkheadBuilder {
        let mut builder = Bulkhead::builder(name);
        if let Some(limit) = self.limit {
            builder = builder.limit(limit);
        }
        if let Some(queue) = self.max_queue {
            builder = builder.max_queue(queue);
        }
        if let Some(wait) = self.max_wait {
            let wait = wait.as_std();
            builder = builder.max_wait((!wait.is_zero()).then_some(wait));
        }
        builder
    }
}

/// Every problem at once, each at its key relative to the bulkhead's
/// section (`limit`); no message repeats a value.
impl Validate for BulkheadConfig {
    fn validate(&self, v: &mut Validator) {
        if let Some(limit) = self.limit {
            v.check(limit >= 1, "limit", "must be at least 1");
            v.check(
                limit <= Semaphore::MAX_PERMITS,
                "limit",
                "must be at most tokio's semaphore maximum (2^61 - 1)",
            );
        }
    }
}

impl Bulkhead {
    /// A bulkhead named `name` (in errors and metrics) from its
    /// configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem, each at its key
    /// relative to the bulkhead's section.
    pub fn from_config(name: impl Into<String>, config: &BulkheadConfig) -> Result<Self, Error> {
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        config.to_builder(name).build()
    }
}
