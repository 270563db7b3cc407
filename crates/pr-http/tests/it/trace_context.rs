//! `TraceContextLayer` and `RequestIdLayer` behind axum on a loopback port, called with ureq: the
//! handler sees the request's trace, and its log events run inside spans carrying the ids.

use crate::capture::Captured;
use axum::routing::get;
use axum::{Extension, Router};
use pr_http::request_id::RequestIdLayer;
use pr_http::trace_context::{RequestTrace, TraceContextLayer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_continues_its_callers_trace_and_its_logs_carry_the_ids() {
    let captured = Captured::install();

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

    let events = captured.events();
    let handled = events
        .iter()
        .find(|fields| fields.get("request_id") == Some(&request_id))
        .unwrap_or_else(|| panic!("no event of the request in {events:#?}"));
    assert_eq!(
        handled["spans"], "request>trace",
        "the trace span is the request span's child"
    );
    assert_eq!(handled["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(handled["span_id"], span_id);
    assert_eq!(handled["parent_id"], "00f067aa0ba902b7");
}
