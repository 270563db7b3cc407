//! The timeout as a tower layer (feature `tower`).

use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::CallError;
use crate::layer::BoxFuture;
use crate::timeout::{Timeout, bounded};

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
