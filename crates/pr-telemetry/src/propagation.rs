//! W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage in and
//! out of HTTP headers, for any transport that carries an
//! [`http::HeaderMap`].
//!
//! ```
//! use pr_telemetry::propagation;
//!
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
//! );
//! incoming.insert("baggage", "tenant=acme".parse().unwrap());
//! let parent = propagation::extract(&incoming);
//!
//! let mut outgoing = http::HeaderMap::new();
//! propagation::inject(&parent, &mut outgoing);
//! assert_eq!(
//!     outgoing["traceparent"],
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
//! );
//! assert_eq!(outgoing["baggage"], "tenant=acme");
//! ```

use std::sync::LazyLock;

use opentelemetry::Context;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Trace Context and Baggage, the W3C pair OpenTelemetry's SDKs default to.
static PROPAGATOR: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
});

/// The context a request's headers carry: its caller's span (as a remote
/// parent) and baggage. Invalid or missing headers give an empty context,
/// so the request starts a new trace.
#[must_use]
pub fn extract(headers: &http::HeaderMap) -> Context {
    PROPAGATOR.extract(&HeaderExtractor(headers))
}

/// Writes `cx`'s span as `traceparent` (and `tracestate`) and its baggage
/// as `baggage` into `headers`; nothing for an empty context.
pub fn inject(cx: &Context, headers: &mut http::HeaderMap) {
    PROPAGATOR.inject_context(cx, &mut HeaderInjector(headers));
}

/// Writes the OpenTelemetry context of a tracing span (the current one:
/// `tracing::Span::current()`) into `headers`, so the callee's spans are
/// its children. Nothing when no OpenTelemetry layer records the span.
pub fn inject_span(span: &tracing::Span, headers: &mut http::HeaderMap) {
    inject(&span.context(), headers);
}

/// Makes the context in `headers` the parent of `span` (call it before
/// the span is entered): the span continues its caller's trace. Headers
/// without a valid `traceparent` leave the span a new trace's root.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    let cx = extract(headers);
    // Fails only when no OpenTelemetry layer records the span, which is
    // then no trace's part anyway.
    let _ = span.set_parent(cx);
}

/// A span's place in a trace as W3C Trace Context writes it: the ids'
/// bytes and the flags byte (bit 0: sampled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanIds {
    /// The trace's 16-byte id.
    pub trace_id: [u8; 16],
    /// The span's 8-byte id.
    pub span_id: [u8; 8],
    /// The `trace-flags` byte.
    pub flags: u8,
}

impl SpanIds {
    /// The `traceparent` value naming this span as the parent.
    #[must_use]
    pub fn traceparent(&self) -> String {
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            self.flags
        )
    }
}

/// The OpenTelemetry ids of a tracing span, when an OpenTelemetry layer
/// records it (`None` otherwise, and for an invalid context). Reading them
/// starts the OpenTelemetry span, which keeps its creation time.
#[must_use]
pub fn span_ids(span: &tracing::Span) -> Option<SpanIds> {
    use opentelemetry::trace::TraceContextExt as _;
    let cx = span.context();
    let otel = cx.span();
    let context = otel.span_context();
    context.is_valid().then(|| SpanIds {
        trace_id: context.trace_id().to_bytes(),
        span_id: context.span_id().to_bytes(),
        flags: context.trace_flags().to_u8(),
    })
}

/// Makes a caller's span (`parent`, already parsed from `traceparent`
/// by the caller's own rules) the remote parent of `span`, with the
/// caller's `tracestate` (dropped when OpenTelemetry's parser refuses it)
/// and the `baggage` of `headers`. Call it before the span is entered.
pub fn set_remote_parent(
    span: &tracing::Span,
    parent: SpanIds,
    tracestate: &str,
    headers: &http::HeaderMap,
) {
    use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
    let state = tracestate.parse::<TraceState>().unwrap_or_default();
    let remote = SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes(parent.trace_id),
        opentelemetry::trace::SpanId::from_bytes(parent.span_id),
        TraceFlags::new(parent.flags),
        true,
        state,
    );
    // The baggage, from the headers; its span part is replaced by `parent`.
    let cx = extract(headers).with_remote_span_context(remote);
    let _ = span.set_parent(cx);
}
