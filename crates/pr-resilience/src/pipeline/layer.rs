//! A whole pipeline as a tower layer (feature `tower`).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::CallError;
use crate::layer::{BoxFuture, ready_call};
use crate::pipeline::{Pipeline, RecordOutcome};
use crate::retry::Classify;

/// Wraps services in a whole [`Pipeline`](crate::pipeline::Pipeline) (requests must be `Clone` when
/// the pipeline retries; each attempt calls a clone of the inner service).
///
/// A call an open breaker refuses comes back at once as
/// [`CallError::Rejected`] with [`Error::CircuitOpen`](crate::Error::CircuitOpen)
/// unless its retry-after fits in the total timeout (see [`Pipeline`](crate::pipeline::Pipeline));
/// [`refusal_response`](crate::admission::refusal_response) answers it as 503 with `Retry-After`.
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
