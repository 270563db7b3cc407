//! The simulated flaky dependency, behind .NET's standard resilience pipeline.

use std::time::Duration;

use pr_facade::errors::CodedError;
use pr_facade::resilience::breaker::{CircuitBreaker, SlidingWindow};
use pr_facade::resilience::pipeline::Pipeline;
use pr_facade::resilience::retry::{Backoff, Jitter, Retry, Transient};

use crate::config::DependencyConfig;

pr_facade::errors::codes! {
    /// The dependency's codes.
    static CODES;
    /// The quotes dependency failed; worth retrying.
    DEPENDENCY_FAILED = "demo.dependency_failed", BAD_GATEWAY, transient, public;
}

/// The dependency failed (at random, or because the request asked).
#[derive(Debug, thiserror::Error)]
#[error("the quotes dependency failed")]
pub(crate) struct Failed;

impl CodedError for Failed {
    fn info(&self) -> &'static pr_facade::errors::CodeInfo {
        &DEPENDENCY_FAILED
    }
}

/// A downstream service that is slow and fails at random.
pub(crate) struct Dependency(pub DependencyConfig);

impl Dependency {
    /// One call: the price of `symbol`, or a failure.
    pub(crate) async fn quote(&self, symbol: &str, fail: bool) -> Result<f64, Failed> {
        let (min, max) = (self.0.min_latency.as_std(), self.0.max_latency.as_std());
        tokio::time::sleep(min + (max - min).mul_f64(fastrand::f64())).await;
        let failed = fail || fastrand::f64() < self.0.failure_rate;
        let outcome = if failed { "failure" } else { "success" };
        metrics::counter!("demo_dependency_calls_total", "outcome" => outcome).increment(1);
        if failed {
            return Err(Failed);
        }
        let cents = symbol
            .bytes()
            .fold(1_000u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
        Ok((cents % 100_000) as f64 / 100.0)
    }
}

/// .NET's standard pipeline (total timeout → retry → circuit breaker → attempt timeout),
/// tuned for a dependency that answers in milliseconds.
pub(crate) fn pipeline() -> Result<Pipeline<Transient>, pr_facade::resilience::Error> {
    let base = Duration::from_millis(10);
    let retry = Retry::builder()
        .name("quotes")
        .backoff(Backoff::Exponential { base, factor: 2.0 });
    let breaker = CircuitBreaker::builder("quotes")
        .sliding_window(SlidingWindow::Count(50))
        .failure_rate_threshold(50.0)
        .minimum_calls(20)
        .wait_in_open(Duration::from_secs(5));
    Pipeline::standard("quotes")
        .total_timeout(Some(Duration::from_secs(2)))
        .attempt_timeout(Some(Duration::from_millis(500)))
        .retry(retry.jitter(Jitter::Equal).max_retries(2).build()?)
        .breaker(breaker)
        .build()
}
