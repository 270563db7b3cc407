//! The breaker as a tower layer (feature `tower`), and how it counts a
//! response ([`RecordResponse`], [`ByRetryClass`], [`ErrorsFail`]).

use std::task::{Context, Poll};

use pr_errors::CodedError;
use tower::{Layer, Service};

use crate::CallError;
use crate::breaker::{CallOutcome, CircuitBreaker, RawPermit};
use crate::layer::BoxFuture;

/// Counts the inner service's errors by their pr-errors retry class
/// ([`CallOutcome::of`]): a transient error is a failure, a permanent one
/// does not count unless the breaker
/// [records all errors](crate::breaker::BreakerBuilder::record_all_errors).
/// The default of [`BreakerLayer`](crate::breaker::BreakerLayer); its
/// service's error must be a [`CodedError`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ByRetryClass;

impl<T, E: CodedError> RecordResponse<T, E> for ByRetryClass {
    fn outcome(&self, outcome: &Result<T, E>) -> CallOutcome {
        CallOutcome::of(outcome)
    }
}

/// Counts every error of the inner service as a breaker failure, whatever
/// its class: for a service whose errors have no pr-errors class
/// (`BreakerLayer::new(breaker).record_with(ErrorsFail)`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorsFail;

/// How a [`BreakerLayer`](crate::breaker::BreakerLayer) counts a response (an HTTP 5xx as a failure, say).
pub trait RecordResponse<T, E> {
    /// How this outcome counts.
    fn outcome(&self, outcome: &Result<T, E>) -> CallOutcome;
}

impl<T, E> RecordResponse<T, E> for ErrorsFail {
    fn outcome(&self, outcome: &Result<T, E>) -> CallOutcome {
        if outcome.is_ok() {
            CallOutcome::Success
        } else {
            CallOutcome::Failure
        }
    }
}

impl<T, E, F: Fn(&Result<T, E>) -> CallOutcome> RecordResponse<T, E> for F {
    fn outcome(&self, outcome: &Result<T, E>) -> CallOutcome {
        self(outcome)
    }
}

/// Wraps services in a [`CircuitBreaker`](crate::breaker::CircuitBreaker).
///
/// # Examples
///
/// ```
/// use pr_resilience::breaker::{BreakerLayer, CircuitBreaker};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = CircuitBreaker::builder("users").build()?;
/// let service = ServiceBuilder::new()
///     .layer(BreakerLayer::new(breaker.clone()))
///     .service(service_fn(|id: u32| async move { Ok::<_, pr_resilience::Error>(id * 2) }));
/// assert_eq!(service.oneshot(21).await?, 42);
/// assert_eq!(breaker.snapshot().calls, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BreakerLayer<F = ByRetryClass> {
    breaker: CircuitBreaker,
    record: F,
}

impl BreakerLayer {
    /// The inner service's errors count by their class ([`ByRetryClass`]).
    #[must_use]
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            breaker,
            record: ByRetryClass,
        }
    }
}

impl<F> BreakerLayer<F> {
    /// Counts outcomes with `record` (a response with status 500 as a
    /// failure; [`ErrorsFail`] for errors without a class).
    pub fn record_with<G>(self, record: G) -> BreakerLayer<G> {
        BreakerLayer {
            breaker: self.breaker,
            record,
        }
    }
}

impl<S, F: Clone> Layer<S> for BreakerLayer<F> {
    type Service = BreakerService<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: self.breaker.clone(),
            record: self.record.clone(),
        }
    }
}

/// The service of [`BreakerLayer`](crate::breaker::BreakerLayer).
#[derive(Clone, Debug)]
pub struct BreakerService<S, F = ByRetryClass> {
    inner: S,
    breaker: CircuitBreaker,
    record: F,
}

/// Gives a permit back if the call is dropped before it completes.
struct Held {
    breaker: CircuitBreaker,
    permit: Option<RawPermit>,
}

impl Held {
    fn record(mut self, outcome: CallOutcome) {
        if let Some(permit) = self.permit.take() {
            self.breaker.record(permit, outcome);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.release(permit);
        }
    }
}

impl<S, F, Req> Service<Req> for BreakerService<S, F>
where
    S: Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    F: RecordResponse<S::Response, S::Error> + Clone + Send + 'static,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = BoxFuture<Result<S::Response, CallError<S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let permit = match self.breaker.acquire_raw() {
            Ok(permit) => permit,
            Err(refused) => return Box::pin(std::future::ready(Err(CallError::Rejected(refused)))),
        };
        let held = Held {
            breaker: self.breaker.clone(),
            permit: Some(permit),
        };
        let record = self.record.clone();
        let fut = self.inner.call(request);
        Box::pin(async move {
            let outcome = fut.await;
            held.record(record.outcome(&outcome));
            outcome.map_err(CallError::Inner)
        })
    }
}
