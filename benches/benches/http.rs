//! pr-http: the whole inbound stack (`pr_http::layers` with its defaults: request id, trace
//! context, access log, request metrics, security headers, load shedding, request timeout, body
//! limit, panics as problems) around a trivial handler, called through the router directly (no
//! socket), against the same router bare and against the stack a user would assemble by hand
//! from tower-http's `TraceLayer` and a request-metrics middleware (`axum::middleware::from_fn`
//! recording a counter and a histogram labelled by route and status).
//!
//! The same conditions for all three: metrics go to metrics-exporter-prometheus' recorder,
//! installed for the process; no tracing subscriber is installed, so spans and events cost what
//! a disabled callsite costs (a service whose log level drops access lines).

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt as _;

fn routes() -> Router {
    Router::new().route("/quote/{symbol}", get(|| async { "42" }))
}

/// The request-metrics middleware a user writes by hand (as the toolkit's demo once did).
async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

fn stack(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime builds");
    // One recorder for the process, as in a service.
    let _ = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder();
    let ours = routes()
        .layer(pr_http::layers(&pr_http::HttpConfig::default()).expect("the defaults are valid"));
    let bare = routes();
    let by_hand = routes()
        .layer(middleware::from_fn(track))
        .layer(tower_http::trace::TraceLayer::new_for_http());

    let mut group = c.benchmark_group("http/stack_trivial_handler");
    for (name, router) in [
        ("ours", ours),
        ("axum_bare", bare),
        ("tower_http_trace_metrics", by_hand),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let router = router.clone();
                async move {
                    let request = Request::get("/quote/ACME")
                        .body(Body::empty())
                        .expect("a valid request");
                    let response = router.oneshot(request).await.expect("infallible");
                    assert_eq!(response.status(), 200);
                    response
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, stack);
criterion_main!(benches);
