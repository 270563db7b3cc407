//! The request's trace and OpenTelemetry's (feature `otel`): one trace,
//! one set of ids.
//!
//! pr-http parses `traceparent` and `tracestate` by its own strict rules
//! (two headers, uppercase hex: a new trace); what it accepts becomes the
//! OpenTelemetry span's remote parent, and the span's ids, sampled or not
//! by the tracer's sampler, become the request's.

use super::{RequestTrace, SpanId, TraceFlags, TraceId, TraceParent};
use pr_telemetry::propagation::{self, SpanIds};

/// Makes the caller's span the parent of `span` in OpenTelemetry, then
/// takes `span`'s OpenTelemetry ids as the request's; without an
/// OpenTelemetry layer, `trace` stays as parsed.
pub(super) fn adopt(span: &tracing::Span, trace: &mut RequestTrace, headers: &http::HeaderMap) {
    if let Some(parent_id) = trace.parent_id {
        let parent = SpanIds {
            trace_id: trace.current.trace_id().to_bytes(),
            span_id: parent_id.to_bytes(),
            flags: trace.current.flags().to_byte(),
        };
        propagation::set_remote_parent(span, parent, &trace.state.to_string(), headers);
    }
    if let Some(ids) = propagation::span_ids(span) {
        trace.current = TraceParent {
            trace_id: TraceId(ids.trace_id),
            parent_id: SpanId(ids.span_id),
            flags: TraceFlags::from_byte(ids.flags),
        };
    }
}

/// Writes `traceparent`, `tracestate` and `baggage` for an outbound call
/// made in `span` (the call's own span) into `headers`; `false`, writing
/// nothing, when no OpenTelemetry layer records the span.
#[cfg(feature = "client")]
pub(crate) fn inject_outbound(span: &tracing::Span, headers: &mut http::HeaderMap) -> bool {
    if propagation::span_ids(span).is_none() {
        return false;
    }
    propagation::inject_span(span, headers);
    true
}
