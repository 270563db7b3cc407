//! Admitting or refusing a call at once: [`Admission`], the extension point
//! for the first stage of a pipeline (a rate limiter or a load shedder that
//! admits or refuses a call before any other policy runs), and, with feature
//! `tower`, [`refusal_response`], the HTTP answer to any policy's refusal.
//!
//! It lives apart from the pipeline so that the rate limiters implement it
//! without the `pipeline` feature.

use std::sync::Arc;

use crate::Error;

/// A stage that admits a call or refuses it at once, without waiting.
///
/// A [`Pipeline`](crate::pipeline::Pipeline) asks its admission stage first (the
/// "rate limit" of .NET's standard pipeline); a refusal becomes
/// [`CallError::Rejected`](crate::CallError::Rejected) and no other stage
/// runs. The refusal is an [`Error`] so that it carries a code and, where
/// the stage knows it, the time after which a call would be admitted
/// ([`Error::retry_after`]): a rate limiter answers its own rate-limited
/// error, a load shedder [`Error::Rejected`].
///
/// Implementations must be cheap and never block: the check runs on every
/// call. The crate's rate limiters implement it; any type can.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
/// use pr_resilience::Error;
/// use pr_resilience::admission::Admission;
///
/// /// Refuses everything while a flag is set (maintenance mode).
/// struct Maintenance(AtomicBool);
///
/// impl Admission for Maintenance {
///     fn try_acquire(&self) -> Result<(), Error> {
///         if self.0.load(Ordering::Relaxed) {
///             return Err(Error::Rejected {
///                 name: "maintenance".into(),
///                 retry_after: Some(Duration::from_secs(60)),
///             });
///         }
///         Ok(())
///     }
/// }
///
/// let gate = Maintenance(AtomicBool::new(true));
/// let refused = gate.try_acquire().unwrap_err();
/// assert_eq!(refused.retry_after(), Some(Duration::from_secs(60)));
/// ```
pub trait Admission: Send + Sync {
    /// Admits one call now, or refuses it with the error the call answers
    /// (carrying a retry-after when the stage knows one).
    ///
    /// # Errors
    ///
    /// The refusal, such as [`Error::Rejected`] or a rate limiter's error.
    fn try_acquire(&self) -> Result<(), Error>;
}

impl<A: Admission + ?Sized> Admission for Arc<A> {
    fn try_acquire(&self) -> Result<(), Error> {
        (**self).try_acquire()
    }
}

impl<A: Admission + ?Sized> Admission for &A {
    fn try_acquire(&self) -> Result<(), Error> {
        (**self).try_acquire()
    }
}

impl<A: Admission + ?Sized> Admission for Box<A> {
    fn try_acquire(&self) -> Result<(), Error> {
        (**self).try_acquire()
    }
}

/// The admission stage that admits every call (a pipeline without a rate
/// limiter).
#[derive(Clone, Copy, Debug, Default)]
pub struct AdmitAll;

impl Admission for AdmitAll {
    #[inline]
    fn try_acquire(&self) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
/// The HTTP answer to a policy's refusal: the code's status (503 for an
/// open breaker or a full bulkhead, 429 for a rate limit, 504 for a
/// timeout) with `Retry-After` in whole seconds, rounded up and at least 1,
/// when the error knows the wait (an open breaker: the time to its next
/// probe). The body is empty; a service that answers problem details
/// builds them from the same [`Error`]. The layers answer a refusal as
/// [`CallError::Rejected`](crate::CallError::Rejected); an error handler (axum's `HandleErrorLayer`)
/// turns it into this response.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::Error;
/// use pr_resilience::admission::refusal_response;
///
/// let open = Error::CircuitOpen { name: "db".into(), retry_after: Duration::from_millis(1_500) };
/// let response: http::Response<()> = refusal_response(&open);
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "2");
/// ```
#[must_use]
pub fn refusal_response<B: Default>(error: &Error) -> http::Response<B> {
    use pr_errors::CodedError as _;
    let mut response = http::Response::new(B::default());
    *response.status_mut() = error.info().status;
    if let Some(wait) = error.retry_after() {
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(pr_errors::retry_after_seconds(wait)),
        );
    }
    response
}
