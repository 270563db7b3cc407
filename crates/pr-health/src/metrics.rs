//! Check durations and statuses through the `metrics` facade.
//!
//! - `pr_health_check_duration_seconds{check}`: histogram of run durations.
//! - `pr_health_check_up{check}`: 1 while the check passes (up or degraded), 0 otherwise.
//!
//! Handles are registered once, when the check is added.

use std::time::Duration;

use crate::Status;

pub(crate) struct CheckMetrics {
    duration: metrics::Histogram,
    up: metrics::Gauge,
}

impl CheckMetrics {
    pub(crate) fn new(check: &str) -> Self {
        let labels = [("check", check.to_owned())];
        Self {
            duration: metrics::histogram!("pr_health_check_duration_seconds", &labels),
            up: metrics::gauge!("pr_health_check_up", &labels),
        }
    }

    pub(crate) fn record(&self, status: Status, duration: Duration) {
        self.duration.record(duration.as_secs_f64());
        self.up.set(if status.is_passing() { 1.0 } else { 0.0 });
    }
}
