//! Every error carries a stable code from the catalogue.

use std::time::Duration;

use pr_errors::CodedError;
use pr_resilience::{CODES, Error};

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
