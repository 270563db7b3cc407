//! The simulated flaky dependency, called through the `quotes` pipeline of the `resilience`
//! section (.NET's standard pipeline: total timeout, retry, circuit breaker, attempt timeout).

use pr_facade::errors::{CodeInfo, CodedError};

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
