//! The queue's figures through the `metrics` facade (no-ops without the
//! `metrics` feature).

use super::store::State;

/// The queue's figures through the `metrics` facade (no-ops without the
/// `metrics` feature): `pr_resilience_dlq_records`,
/// `pr_resilience_dlq_bytes`, `pr_resilience_dlq_pushed_total`,
/// `pr_resilience_dlq_rejected_total`, `pr_resilience_dlq_replayed_total`,
/// `pr_resilience_dlq_push_failures_total{reason}`.
pub(super) struct Metrics {
    #[cfg(feature = "metrics")]
    handles: [metrics::Gauge; 2],
    #[cfg(feature = "metrics")]
    counters: [metrics::Counter; 3],
    /// Push failures by reason, in the order of [`PUSH_FAILURES`].
    #[cfg(feature = "metrics")]
    failures: [metrics::Counter; 4],
}

/// The `reason` label values of `pr_resilience_dlq_push_failures_total`: a
/// fixed set, so a label never carries a record's data.
#[cfg(feature = "metrics")]
const PUSH_FAILURES: [&str; 4] = ["io", "full", "too_large", "codec"];

impl Metrics {
    pub(super) fn new() -> Self {
        #[cfg(feature = "metrics")]
        {
            metrics::describe_gauge!(
                "pr_resilience_dlq_records",
                "Records held in the dead-letter queue."
            );
            metrics::describe_gauge!(
                "pr_resilience_dlq_bytes",
                metrics::Unit::Bytes,
                "Bytes of records held in the dead-letter queue, framing included."
            );
            metrics::describe_counter!(
                "pr_resilience_dlq_pushed_total",
                "Records pushed into the dead-letter queue."
            );
            metrics::describe_counter!(
                "pr_resilience_dlq_rejected_total",
                "Records the dead-letter queue refused because it was full."
            );
            metrics::describe_counter!(
                "pr_resilience_dlq_replayed_total",
                "Records replayed successfully and removed from the dead-letter queue."
            );
            metrics::describe_counter!(
                "pr_resilience_dlq_push_failures_total",
                "Pushes into the dead-letter queue that did not store their record, by reason \
                 (io, full, too_large, codec)."
            );
        }
        Self {
            #[cfg(feature = "metrics")]
            handles: [
                metrics::gauge!("pr_resilience_dlq_records"),
                metrics::gauge!("pr_resilience_dlq_bytes"),
            ],
            #[cfg(feature = "metrics")]
            counters: [
                metrics::counter!("pr_resilience_dlq_pushed_total"),
                metrics::counter!("pr_resilience_dlq_rejected_total"),
                metrics::counter!("pr_resilience_dlq_replayed_total"),
            ],
            #[cfg(feature = "metrics")]
            failures: PUSH_FAILURES
                .map(|reason| metrics::counter!("pr_resilience_dlq_push_failures_total", "reason" => reason)),
        }
    }

    #[cfg_attr(
        not(feature = "metrics"),
        allow(
            clippy::unused_self,
            unused_variables,
            reason = "no-op without metrics"
        )
    )]
    pub(super) fn push_failed(&self, reason: &'static str) {
        #[cfg(feature = "metrics")]
        if let Some(i) = PUSH_FAILURES.iter().position(|r| *r == reason) {
            self.failures[i].increment(1);
        }
    }

    #[cfg_attr(
        not(feature = "metrics"),
        allow(
            clippy::unused_self,
            unused_variables,
            reason = "no-op without metrics"
        )
    )]
    pub(super) fn report(&self, state: &State) {
        #[cfg(feature = "metrics")]
        {
            #[allow(clippy::cast_precision_loss, reason = "a gauge is an f64")]
            self.handles[0].set(state.live.len() as f64);
            #[allow(clippy::cast_precision_loss, reason = "a gauge is an f64")]
            self.handles[1].set(state.live_bytes as f64);
        }
    }

    pub(super) fn pushed(&self, state: &State) {
        #[cfg(feature = "metrics")]
        self.counters[0].increment(1);
        self.report(state);
    }

    #[cfg_attr(
        not(feature = "metrics"),
        allow(clippy::unused_self, reason = "no-op without metrics")
    )]
    pub(super) fn rejected(&self) {
        #[cfg(feature = "metrics")]
        self.counters[1].increment(1);
    }

    #[cfg_attr(
        not(feature = "metrics"),
        allow(
            clippy::unused_self,
            unused_variables,
            reason = "no-op without metrics"
        )
    )]
    pub(super) fn replayed(&self, n: u64) {
        #[cfg(feature = "metrics")]
        self.counters[2].increment(n);
    }
}
