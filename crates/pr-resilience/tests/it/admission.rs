//! The admission trait, as a rate limiter implements it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pr_errors::CodedError;
use pr_resilience::admission::{Admission, AdmitAll};
use pr_resilience::{CallError, Error};

/// Admits `n` calls, then refuses with a retry-after.
pub(crate) struct FirstN(pub(crate) AtomicU32);

impl Admission for FirstN {
    fn try_acquire(&self) -> Result<(), Error> {
        let left = self.0.load(Ordering::Relaxed);
        if left == 0 {
            return Err(Error::Rejected {
                name: "first_n".into(),
                retry_after: Some(Duration::from_secs(1)),
            });
        }
        self.0.store(left - 1, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn a_refusal_carries_code_and_retry_after() {
    let gate = FirstN(AtomicU32::new(1));
    assert!(gate.try_acquire().is_ok());
    let refused = gate.try_acquire().unwrap_err();
    assert_eq!(refused.code().as_str(), "resilience.rejected");
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    let call: CallError<Error> = refused.into();
    assert_eq!(call.retry().retry_after(), Some(Duration::from_secs(1)));
    assert!(AdmitAll.try_acquire().is_ok());
    let shared: std::sync::Arc<dyn Admission> = std::sync::Arc::new(AdmitAll);
    assert!(shared.try_acquire().is_ok());
}
