//! Tower layers (feature `tower`): one per strategy and one for a whole
//! pipeline. Each service holds its policy by a shared handle, so the
//! per-connection clones axum and hyper make share one breaker, one
//! bulkhead and one budget.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::CallError;
use crate::breaker::CircuitBreaker;
use crate::breaker::{Outcome, RawPermit};
use crate::bulkhead::Bulkhead;
use crate::pipeline::Pipeline;
use crate::pipeline::RecordOutcome;
use crate::retry::Classify;
use crate::retry::Retry;
use crate::timeout::Timeout;
use crate::timeout::bounded;

/// The boxed future of this module's services.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Counts every error of the inner service as a breaker failure; the
/// default of [`BreakerLayer`](crate::breaker::BreakerLayer).
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorsFail;

/// How a [`BreakerLayer`](crate::breaker::BreakerLayer) counts a response (an HTTP 5xx as a failure, say).
pub trait RecordResponse<T, E> {
    /// How this outcome counts.
    fn outcome(&self, outcome: &Result<T, E>) -> Outcome;
}

impl<T, E> RecordResponse<T, E> for ErrorsFail {
    fn outcome(&self, outcome: &Result<T, E>) -> Outcome {
        if outcome.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }
}

impl<T, E, F: Fn(&Result<T, E>) -> Outcome> RecordResponse<T, E> for F {
    fn outcome(&self, outcome: &Result<T, E>) -> Outcome {
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
///     .service(service_fn(|id: u32| async move { Ok::<_, std::io::Error>(id * 2) }));
/// assert_eq!(service.oneshot(21).await?, 42);
/// assert_eq!(breaker.snapshot().calls, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BreakerLayer<F = ErrorsFail> {
    breaker: CircuitBreaker,
    record: F,
}

impl BreakerLayer {
    /// Every error of the inner service counts as a failure.
    #[must_use]
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            breaker,
            record: ErrorsFail,
        }
    }
}

impl<F> BreakerLayer<F> {
    /// Counts outcomes with `record` (a response with status 500 as a failure).
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
pub struct BreakerService<S, F = ErrorsFail> {
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
    fn record(mut self, outcome: Outcome) {
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

/// Wraps services in a [`Bulkhead`](crate::bulkhead::Bulkhead).
#[derive(Clone, Debug)]
pub struct BulkheadLayer {
    bulkhead: Bulkhead,
}

impl BulkheadLayer {
    /// Calls take a place in `bulkhead` (clones share it).
    #[must_use]
    pub fn new(bulkhead: Bulkhead) -> Self {
        Self { bulkhead }
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = BulkheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            bulkhead: self.bulkhead.clone(),
        }
    }
}

/// The service of [`BulkheadLayer`](crate::bulkhead::BulkheadLayer).
#[derive(Clone, Debug)]
pub struct BulkheadService<S> {
    inner: S,
    bulkhead: Bulkhead,
}

impl<S, Req> Service<Req> for BulkheadService<S>
where
    S: Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = BoxFuture<Result<S::Response, CallError<S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let bulkhead = self.bulkhead.clone();
        // The inner future does its work when polled, after the place is taken.
        let fut = self.inner.call(request);
        Box::pin(async move {
            let _place = bulkhead.acquire_owned().await?;
            fut.await.map_err(CallError::Inner)
        })
    }
}

/// Wraps services in a [`Timeout`](crate::timeout::Timeout).
#[derive(Clone, Debug)]
pub struct TimeoutLayer {
    timeout: Timeout,
}

impl TimeoutLayer {
    /// Calls are cut short after `timeout`.
    #[must_use]
    pub fn new(timeout: Timeout) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeoutService {
            inner,
            timeout: self.timeout.clone(),
        }
    }
}

/// The service of [`TimeoutLayer`](crate::timeout::TimeoutLayer).
#[derive(Clone, Debug)]
pub struct TimeoutService<S> {
    inner: S,
    timeout: Timeout,
}

impl<S, Req> Service<Req> for TimeoutService<S>
where
    S: Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = BoxFuture<Result<S::Response, CallError<S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(CallError::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let timeout = self.timeout.clone();
        let fut = self.inner.call(request);
        Box::pin(async move {
            match bounded(timeout.after(), fut).await {
                Some(outcome) => outcome.map_err(CallError::Inner),
                None => Err(CallError::Rejected(timeout.error())),
            }
        })
    }
}

/// Retries calls of the inner service (requests must be `Clone`; each
/// attempt calls a clone of the inner service).
#[derive(Clone, Debug)]
pub struct RetryLayer<C> {
    retry: Retry<C>,
}

impl<C> RetryLayer<C> {
    /// Calls are retried as `retry` says.
    #[must_use]
    pub fn new(retry: Retry<C>) -> Self {
        Self { retry }
    }
}

impl<S, C: Clone> Layer<S> for RetryLayer<C> {
    type Service = RetryService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            retry: self.retry.clone(),
        }
    }
}

/// The service of [`RetryLayer`](crate::retry::RetryLayer).
#[derive(Clone, Debug)]
pub struct RetryService<S, C> {
    inner: S,
    retry: Retry<C>,
}

async fn ready_call<S: Service<Req>, Req>(
    mut service: S,
    request: Req,
) -> Result<S::Response, S::Error> {
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}

impl<S, C, Req> Service<Req> for RetryService<S, C>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
    C: Classify<S::Response, S::Error> + Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each attempt waits for a clone of the inner service to be ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let service = self.inner.clone();
        let retry = self.retry.clone();
        Box::pin(async move {
            retry
                .run(move || ready_call(service.clone(), request.clone()))
                .await
        })
    }
}

/// The HTTP answer to a policy's refusal: the code's status (503 for an
/// open breaker or a full bulkhead, 429 for a rate limit, 504 for a
/// timeout) with `Retry-After` in whole seconds, rounded up and at least 1,
/// when the error knows the wait (an open breaker: the time to its next
/// probe). The body is empty; a service that answers problem details
/// builds them from the same [`Error`](crate::Error). The layers answer a refusal as
/// [`CallError::Rejected`]; an error handler (axum's `HandleErrorLayer`)
/// turns it into this response.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::Error;
/// use pr_resilience::pipeline::refusal_response;
///
/// let open = Error::CircuitOpen { name: "db".into(), retry_after: Duration::from_millis(1_500) };
/// let response: http::Response<()> = refusal_response(&open);
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "2");
/// ```
#[must_use]
pub fn refusal_response<B: Default>(error: &crate::Error) -> http::Response<B> {
    use pr_errors::CodedError as _;
    let mut response = http::Response::new(B::default());
    *response.status_mut() = error.info().status;
    if let Some(wait) = error.retry_after() {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(seconds.max(1)),
        );
    }
    response
}

/// Wraps services in a whole [`Pipeline`](crate::pipeline::Pipeline) (requests must be `Clone` when
/// the pipeline retries; each attempt calls a clone of the inner service).
///
/// A call an open breaker refuses comes back at once as
/// [`CallError::Rejected`] with [`Error::CircuitOpen`](crate::Error::CircuitOpen)
/// unless its retry-after fits in the total timeout (see [`Pipeline`](crate::pipeline::Pipeline));
/// [`refusal_response`] answers it as 503 with `Retry-After`.
pub struct PipelineLayer<R, B> {
    pipeline: Arc<Pipeline<R, B>>,
}

impl<R, B> Clone for PipelineLayer<R, B> {
    fn clone(&self) -> Self {
        Self {
            pipeline: Arc::clone(&self.pipeline),
        }
    }
}

impl<R, B> fmt::Debug for PipelineLayer<R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineLayer")
            .field("pipeline", &self.pipeline)
            .finish()
    }
}

impl<R, B> PipelineLayer<R, B> {
    /// Calls go through `pipeline`; every service this layer makes shares it.
    #[must_use]
    pub fn new(pipeline: Pipeline<R, B>) -> Self {
        Self {
            pipeline: Arc::new(pipeline),
        }
    }
}

impl<S, R, B> Layer<S> for PipelineLayer<R, B> {
    type Service = PipelineService<S, R, B>;

    fn layer(&self, inner: S) -> Self::Service {
        PipelineService {
            inner,
            pipeline: Arc::clone(&self.pipeline),
        }
    }
}

/// The service of [`PipelineLayer`](crate::pipeline::PipelineLayer).
pub struct PipelineService<S, R, B> {
    inner: S,
    pipeline: Arc<Pipeline<R, B>>,
}

impl<S: Clone, R, B> Clone for PipelineService<S, R, B> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            pipeline: Arc::clone(&self.pipeline),
        }
    }
}

impl<S: fmt::Debug, R, B> fmt::Debug for PipelineService<S, R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineService")
            .field("inner", &self.inner)
            .field("pipeline", &self.pipeline)
            .finish()
    }
}

impl<S, R, B, Req> Service<Req> for PipelineService<S, R, B>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
    R: Classify<S::Response, CallError<S::Error>> + Send + Sync + 'static,
    B: RecordOutcome<S::Response, S::Error> + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = BoxFuture<Result<S::Response, CallError<S::Error>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each attempt waits for a clone of the inner service to be ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let service = self.inner.clone();
        let pipeline = Arc::clone(&self.pipeline);
        Box::pin(async move {
            pipeline
                .run(move || ready_call(service.clone(), request.clone()))
                .await
        })
    }
}
