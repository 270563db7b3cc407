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
        // Help text and unit, so that the exposition passes `promtool check metrics`.
        metrics::describe_histogram!(
            "pr_health_check_duration_seconds",
            metrics::Unit::Seconds,
            "Time one health check run took."
        );
        metrics::describe_gauge!(
            "pr_health_check_up",
            "1 when the health check passes (UP or DEGRADED), else 0."
        );
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
