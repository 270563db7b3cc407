//! Every error carries a stable code from the catalogue.

use std::time::Duration;

use pr_errors::CodedError;
use pr_resilience::Error;
use pr_resilience::codes::CODES;

#[test]
fn errors_have_codes_from_the_catalogue() {
    let errors = [
        Error::CircuitOpen {
            name: "db".into(),
            retry_after: Duration::from_secs(1),
        },
        Error::BulkheadFull {
            name: "db".into(),
            limit: 4,
        },
        Error::Timeout {
            name: "attempt".into(),
            after: Duration::from_secs(1),
        },
        Error::Rejected {
            name: "limiter".into(),
            retry_after: None,
        },
        Error::NoProvider {
            name: "chain".into(),
            retry_after: Duration::from_secs(2),
        },
        Error::InjectedFault {
            name: "chaos".into(),
        },
    ];
    for error in &errors {
        let code = error.info().code;
        assert!(
            CODES.entries.iter().any(|info| info.code == code),
            "{code} is not in the catalogue"
        );
        assert!(error.retry().is_transient(), "{error}");
        let message = error.to_string();
        assert!(message.chars().next().is_some_and(|c| !c.is_uppercase()));
    }
    assert_eq!(errors[0].code().as_str(), "resilience.circuit_open");
    assert_eq!(errors[0].retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(errors[1].code().as_str(), "resilience.bulkhead_full");
    assert_eq!(errors[2].code().as_str(), "resilience.timeout");
    assert_eq!(errors[2].status().as_u16(), 504);
}

/// NaN, infinite, negative and out-of-range numbers in every setting are
/// refused by `build()` with `resilience.invalid_config` naming the field;
/// nothing panics.
#[test]
fn bad_numbers_in_every_setting_name_their_field() {
    use pr_resilience::breaker::CircuitBreaker;
    use pr_resilience::retry::{Backoff, Retry, RetryBudget};

    let check = |result: Result<(), Error>, field: &str| {
        let error = result.expect_err(field);
        assert_eq!(
            error.code().as_str(),
            "resilience.invalid_config",
            "{field}"
        );
        assert!(error.to_string().contains(field), "{error}");
    };
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, 100.5] {
        check(
            CircuitBreaker::builder("x")
                .failure_rate_threshold(bad)
                .build()
                .map(drop),
            "breaker.failure_rate_threshold",
        );
        check(
            CircuitBreaker::builder("x")
                .slow_call_rate_threshold(bad)
                .build()
                .map(drop),
            "breaker.slow_call_rate_threshold",
        );
    }
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -2.0, 0.5] {
        check(
            CircuitBreaker::builder("x")
                .open_backoff(bad, Duration::from_secs(60))
                .build()
                .map(drop),
            "breaker.open_backoff",
        );
        check(
            Retry::builder()
                .backoff(Backoff::Exponential {
                    base: Duration::from_millis(10),
                    factor: bad,
                })
                .build()
                .map(drop),
            "retry.backoff.factor",
        );
    }
    for bad in [f64::NAN, f64::INFINITY, -0.5] {
        check(
            RetryBudget::new(10, bad).map(drop),
            "retry_budget.per_second",
        );
    }
    #[cfg(feature = "chaos")]
    for bad in [f64::NAN, f64::INFINITY, -0.1, 1.5] {
        use pr_resilience::chaos::Chaos;
        check(
            Chaos::builder("x").fault_rate(bad).build().map(drop),
            "chaos.fault_rate",
        );
        check(
            Chaos::builder("x")
                .latency(bad, Duration::from_millis(1))
                .build()
                .map(drop),
            "chaos.latency_rate",
        );
        check(
            Chaos::builder("x").outcome_rate(bad).build().map(drop),
            "chaos.outcome_rate",
        );
    }
}
