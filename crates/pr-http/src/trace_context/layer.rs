//! [`TraceContextLayer`]: each request continues its caller's trace or
//! starts one, and runs in a span that carries the ids.

use std::task::{Context, Poll};

use http::{Request, Response};
use tracing::Instrument as _;

use super::RequestTrace;

/// Reads `traceparent` / `tracestate`, puts the request's [`RequestTrace`]
/// in its extensions, and runs the request in a `trace` span with
/// `trace_id`, `span_id` and (when continued) `parent_id`, the fields
/// pr-logging lifts to the top of each JSON line.
#[derive(Clone, Copy, Debug)]
pub struct TraceContextLayer {
    sample_new: bool,
}

impl TraceContextLayer {
    /// A layer whose new traces are marked sampled (as OpenTelemetry's
    /// default parent-based, always-on sampler does).
    #[must_use]
    pub const fn new() -> Self {
        Self { sample_new: true }
    }

    /// Whether a trace this service starts is marked sampled. A continued
    /// trace keeps its caller's flag.
    #[must_use]
    pub const fn sample_new_traces(mut self, sampled: bool) -> Self {
        self.sample_new = sampled;
        self
    }
}

impl Default for TraceContextLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower::Layer<S> for TraceContextLayer {
    type Service = TraceContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContextService {
            inner,
            sample_new: self.sample_new,
        }
    }
}

/// The service of [`TraceContextLayer`].
#[derive(Clone, Debug)]
pub struct TraceContextService<S> {
    inner: S,
    sample_new: bool,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for TraceContextService<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        #[cfg_attr(
            not(feature = "otel"),
            expect(unused_mut, reason = "otel adopts its ids")
        )]
        let mut trace = RequestTrace::from_headers(request.headers(), self.sample_new);
        #[cfg(not(feature = "otel"))]
        let span = tracing::info_span!(
            "trace",
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
            parent_id = tracing::field::Empty,
        );
        // A server span, named for its method, in OpenTelemetry.
        #[cfg(feature = "otel")]
        let span = tracing::info_span!(
            "trace",
            otel.name = %request.method(),
            otel.kind = "server",
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
            parent_id = tracing::field::Empty,
        );
        // With an OpenTelemetry layer, the span continues the caller's trace
        // there too, and its ids are the request's (what logs show and the
        // outbound client sends on).
        #[cfg(feature = "otel")]
        super::otel::adopt(&span, &mut trace, request.headers());
        span.record(
            "trace_id",
            tracing::field::display(trace.current.trace_id()),
        );
        span.record(
            "span_id",
            tracing::field::display(trace.current.parent_id()),
        );
        if let Some(parent) = trace.parent_id {
            span.record("parent_id", tracing::field::display(parent));
        }
        request.extensions_mut().insert(trace.clone());
        // Called inside the span, so that the spans the inner layers open are its children.
        let future = span.in_scope(|| self.inner.call(request));
        // The trace is also the task's current one, for the outbound client:
        // a clone is a copy of the ids and an `Arc` increment for the state.
        Box::pin(super::CURRENT.scope(trace, future).instrument(span))
    }
}
