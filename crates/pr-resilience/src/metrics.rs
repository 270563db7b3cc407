//! Metrics through the `metrics` facade (feature `metrics`): handles are
//! registered once per policy, so hot paths do no name lookup.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `pr_resilience_breaker_calls_total` | counter | `breaker`, `outcome` (`success`, `failure`, `slow_success`, `slow_failure`) |
//! | `pr_resilience_breaker_rejected_total` | counter | `breaker` |
//! | `pr_resilience_breaker_state` | gauge (1 for the current state) | `breaker`, `state` |
//! | `pr_resilience_retries_total` | counter | `policy` |
//! | `pr_resilience_bulkhead_in_use` | gauge | `bulkhead` |
//! | `pr_resilience_bulkhead_rejected_total` | counter | `bulkhead` |
//! | `pr_resilience_timeouts_total` | counter | `timeout` |

// Each policy's handles are compiled with its area's feature; the imports
// follow them.
use metrics::counter;
#[cfg(any(feature = "breaker", feature = "bulkhead"))]
use metrics::{Counter, Gauge, gauge};
#[cfg(any(feature = "breaker", feature = "bulkhead", feature = "retry"))]
use metrics::{describe_counter, describe_gauge};

/// Describes every metric to the recorder (help text and unit); called
/// when a policy is built.
#[cfg(any(feature = "breaker", feature = "bulkhead", feature = "retry"))]
pub(crate) fn describe() {
    describe_counter!(
        "pr_resilience_breaker_calls_total",
        "Calls a circuit breaker recorded, by outcome."
    );
    describe_counter!(
        "pr_resilience_breaker_rejected_total",
        "Calls a circuit breaker refused."
    );
    describe_gauge!(
        "pr_resilience_breaker_state",
        "1 for the circuit breaker's current state, 0 for the others."
    );
    describe_counter!("pr_resilience_retries_total", "Retries scheduled.");
    describe_gauge!(
        "pr_resilience_bulkhead_in_use",
        "Calls running in a bulkhead."
    );
    describe_counter!(
        "pr_resilience_bulkhead_rejected_total",
        "Calls a bulkhead refused."
    );
    describe_counter!(
        "pr_resilience_timeouts_total",
        "Calls cut short by a timeout."
    );
}

#[cfg(feature = "breaker")]
/// A breaker's handles. It takes the states by name (the breaker's
/// `State::ALL`, in order) so that this module does not depend on the
/// breaker's, which holds it.
pub(crate) struct BreakerMetrics {
    outcomes: [Counter; 4],
    pub(crate) rejected: Counter,
    states: Vec<Gauge>,
}

#[cfg(feature = "breaker")]
impl BreakerMetrics {
    /// Handles for the breaker `name`, whose states are `states`, the first
    /// the one it starts in.
    pub(crate) fn new(name: &str, states: &[&'static str]) -> Self {
        describe();
        let outcome = |outcome: &'static str| counter!("pr_resilience_breaker_calls_total", "breaker" => name.to_owned(), "outcome" => outcome);
        let states = states
            .iter()
            .map(|state| gauge!("pr_resilience_breaker_state", "breaker" => name.to_owned(), "state" => *state))
            .collect();
        let metrics = Self {
            outcomes: [
                outcome("success"),
                outcome("failure"),
                outcome("slow_success"),
                outcome("slow_failure"),
            ],
            rejected: counter!("pr_resilience_breaker_rejected_total", "breaker" => name.to_owned()),
            states,
        };
        metrics.state(0);
        metrics
    }

    /// `code` is the window's slot code (recorded | failure | slow).
    #[inline]
    pub(crate) fn outcome(&self, code: u8) {
        let index = usize::from((code >> 1) & 1) + usize::from((code >> 2) & 1) * 2;
        if let Some(counter) = self.outcomes.get(index) {
            counter.increment(1);
        }
    }

    /// Sets the gauge of the state at `to` (an index into the states
    /// given to [`new`](Self::new)) to 1, the others to 0.
    pub(crate) fn state(&self, to: usize) {
        for (i, gauge) in self.states.iter().enumerate() {
            gauge.set(if i == to { 1.0 } else { 0.0 });
        }
    }
}

#[cfg(feature = "retry")]
pub(crate) fn retry(policy: &str) {
    counter!("pr_resilience_retries_total", "policy" => policy.to_owned()).increment(1);
}

#[cfg(feature = "timeout")]
pub(crate) fn timeout(name: &str) {
    counter!("pr_resilience_timeouts_total", "timeout" => name.to_owned()).increment(1);
}

#[cfg(feature = "bulkhead")]
pub(crate) struct BulkheadMetrics {
    pub(crate) in_use: Gauge,
    pub(crate) rejected: Counter,
}

#[cfg(feature = "bulkhead")]
impl BulkheadMetrics {
    pub(crate) fn new(name: &str) -> Self {
        describe();
        Self {
            in_use: gauge!("pr_resilience_bulkhead_in_use", "bulkhead" => name.to_owned()),
            rejected: counter!("pr_resilience_bulkhead_rejected_total", "bulkhead" => name.to_owned()),
        }
    }
}
