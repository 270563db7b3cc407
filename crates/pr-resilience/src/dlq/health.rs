//! A dead-letter queue as a pr-health check: down when full, degraded past
//! 80 % of a bound.

use std::sync::Arc;

use pr_health::{Check, CheckFuture, Outcome};

use super::{Dlq, Inner, stats};
use crate::rate::bucket::lock;

/// The health of a [`Dlq`]: `Down` when it refuses records (full),
/// `Degraded` past 80 % of `max_records` or `max_bytes`, else `Up` with
/// its size. Made by [`Dlq::health_check`].
#[must_use = "a check does nothing until it is added to a registry"]
pub struct DlqCheck {
    name: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DlqCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlqCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T> Dlq<T> {
    /// This queue as a health check named `dlq:<dir>`.
    pub fn health_check(&self) -> DlqCheck {
        DlqCheck {
            name: format!("dlq:{}", self.inner.config.dir.display()),
            inner: Arc::clone(&self.inner),
        }
    }
}

impl DlqCheck {
    fn outcome(&self) -> Outcome {
        let config = &self.inner.config;
        let stats = stats(config, &lock(&self.inner.state));
        let size = format!(
            "{} records, {} bytes (bounds {}, {})",
            stats.records, stats.bytes, config.max_records, config.max_bytes
        );
        if stats.full {
            return Outcome::down(format!("full: {size}"));
        }
        // In u128: a bound near u64::MAX overflows once multiplied.
        let past_80 = |used: u64, bound: u64| u128::from(used) * 5 >= u128::from(bound) * 4;
        if past_80(stats.records, config.max_records) || past_80(stats.bytes, config.max_bytes) {
            return Outcome::degraded(format!("over 80% full: {size}"));
        }
        Outcome::up().with_message(size)
    }
}

impl Check for DlqCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let outcome = self.outcome();
        Box::pin(std::future::ready(outcome))
    }
}
