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
