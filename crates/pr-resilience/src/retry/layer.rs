//! Retry as a tower layer (feature `tower`).

use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::layer::{BoxFuture, ready_call};
use crate::retry::{Classify, Retry};

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
