//! `TraceContextLayer` and `RequestIdLayer` behind axum on a loopback port, called with ureq: the
//! handler sees the request's trace, and its log events run inside spans carrying the ids.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::{Extension, Router};
use pr_http::request_id::RequestIdLayer;
use pr_http::trace_context::{RequestTrace, TraceContextLayer};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// For each event, the fields of the spans around it (what a log line would carry).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

/// A span's fields, kept in its extensions.
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Captured {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        values.record(extensions.get_mut::<Fields>().unwrap());
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut all = BTreeMap::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<Fields>() {
                    all.extend(fields.0.clone());
                }
            }
        }
        self.0.lock().unwrap().push(all);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_continues_its_callers_trace_and_its_logs_carry_the_ids() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let dispatch = tracing::Dispatch::new(subscriber);

    let app = Router::new()
        .route(
            "/",
            get(|Extension(trace): Extension<RequestTrace>| async move {
                tracing::info!("handled");
                trace.current.to_string()
            }),
        )
        .layer(TraceContextLayer::new())
        .layer(RequestIdLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // The server's tasks run on any of the runtime's threads: only the global dispatcher reaches
    // them all. (Each test runs in a process of its own under nextest; under `cargo test` the
    // first to set it wins, and only this test sets it.)
    tracing::dispatcher::set_global_default(dispatch).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let url = format!("http://{address}/");
    let (current, request_id) = tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url)
            .header("traceparent", caller)
            .call()
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        (response.body_mut().read_to_string().unwrap(), id)
    })
    .await
    .unwrap();

    // The handler's trace: the caller's trace id, a span id of its own.
    assert!(
        current.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{current}"
    );
    assert!(!current.contains("00f067aa0ba902b7"), "{current}");
    let span_id = &current[36..52];

    let events = captured.0.lock().unwrap().clone();
    let handled = events
        .iter()
        .find(|fields| fields.get("request_id") == Some(&request_id))
        .unwrap_or_else(|| panic!("no event of the request in {events:#?}"));
    assert_eq!(handled["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(handled["span_id"], span_id);
    assert_eq!(handled["parent_id"], "00f067aa0ba902b7");
}
