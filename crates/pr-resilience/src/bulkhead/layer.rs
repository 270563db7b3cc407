//! The bulkhead as a tower layer (feature `tower`).

use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::CallError;
use crate::bulkhead::Bulkhead;
use crate::layer::BoxFuture;

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
