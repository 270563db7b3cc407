//! Every error carries a stable code.

use std::time::Duration;

use pr_errors::CodedError;
use pr_resilience::{CODES, Error};

#[test]
fn errors_have_codes_from_the_catalogue() {
    let error = Error::CircuitOpen {
        name: "db".into(),
        retry_after: Duration::from_secs(1),
    };
    assert_eq!(error.info().code.as_str(), "resilience.circuit_open");
    assert!(
        CODES
            .entries
            .iter()
            .any(|info| std::ptr::eq(info, error.info()))
    );
}
