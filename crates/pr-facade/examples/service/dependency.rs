//! The simulated flaky dependency, behind .NET's standard resilience pipeline.

use std::time::Duration;

use pr_facade::errors::{CodeInfo, CodedError};
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
#[derive(Clone, Debug, thiserror::Error)]
#[error("the quotes dependency failed")]
pub(crate) struct Failed;

impl CodedError for Failed {
    fn info(&self) -> &'static CodeInfo {
        &DEPENDENCY_FAILED
    }
}

/// One call: the price of `symbol` after a random latency, or a failure.
pub(crate) async fn quote(
    config: &DependencyConfig,
    symbol: &str,
    fail: bool,
) -> Result<f64, Failed> {
    let (min, max) = (config.min_latency.as_std(), config.max_latency.as_std());
    tokio::time::sleep(min + (max - min).mul_f64(fastrand::f64())).await;
    let failed = fail || fastrand::f64() < config.failure_rate;
    let outcome = if failed { "failure" } else { "success" };
    metrics::counter!("demo_dependency_calls_total", "outcome" => outcome).increment(1);
    let cents = symbol
        .bytes()
        .fold(1_000u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
    if failed {
        Err(Failed)
    } else {
        Ok((cents % 100_000) as f64 / 100.0)
    }
}

/// .NET's standard pipeline (total timeout → retry → circuit breaker → attempt timeout),
/// tuned for a dependency that answers in milliseconds.
pub(crate) fn pipeline() -> Result<Pipeline<Transient>, pr_facade::resilience::Error> {
    let backoff = Backoff::Exponential {
        base: Duration::from_millis(10),
        factor: 2.0,
    };
    let retry = Retry::builder()
        .name("quotes")
        .backoff(backoff)
        .jitter(Jitter::Equal);
    let breaker = CircuitBreaker::builder("quotes")
        .sliding_window(SlidingWindow::Count(50))
        .failure_rate_threshold(50.0)
        .minimum_calls(20)
        .wait_in_open(Duration::from_secs(5));
    Pipeline::standard("quotes")
        .total_timeout(Some(Duration::from_secs(2)))
        .attempt_timeout(Some(Duration::from_millis(500)))
        .retry(retry.max_retries(2).build()?)
        .breaker(breaker)
        .build()
}
