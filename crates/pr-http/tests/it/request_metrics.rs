//! `RequestMetricsLayer` behind axum on a loopback port, called with ureq, exposed by the
//! Prometheus exporter and checked by promtool.

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusBuilder;
use pr_http::request_metrics::RequestMetricsLayer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_counted_by_route_template_method_and_status() {
    // The server's tasks run on any thread: only a global recorder reaches them all. nextest runs
    // each test in a process of its own; under `cargo test` the other tests of this binary record
    // into it too, so this test counts only its own route (`/price/...`, used by no other test).
    let handle = PrometheusBuilder::new().install_recorder().unwrap();
    let app = Router::new()
        .route("/price/{symbol}", get(|| async { "42" }))
        .layer(RequestMetricsLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .build()
            .into();
        for i in 0..1_000 {
            let response = agent
                .get(format!("http://{address}/price/SYM{i}"))
                .call()
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        // No route: a 404 with an empty route, not the path.
        for i in 0..10 {
            let response = agent
                .get(format!("http://{address}/nothing/{i}"))
                .call()
                .unwrap();
            assert_eq!(response.status(), 404);
        }
        // A method HTTP does not define is folded.
        let propfind = http::Request::builder()
            .method("PROPFIND")
            .uri(format!("http://{address}/price/X"))
            .body(())
            .unwrap();
        let response = agent.run(propfind).unwrap();
        assert_eq!(response.status(), 405);
    })
    .await
    .unwrap();

    let text = handle.render();
    let series = |needle: &str| {
        text.lines()
            .filter(|line| line.starts_with("http_server_request_duration_seconds_count"))
            .filter(|line| line.contains(needle))
            .collect::<Vec<_>>()
    };
    let quotes = series(r#"http_route="/price/{symbol}""#);
    let get = quotes
        .iter()
        .find(|l| l.contains(r#"http_request_method="GET""#))
        .unwrap();
    assert!(
        get.ends_with(" 1000"),
        "1,000 symbols, one series: {quotes:#?}\n{text}"
    );
    assert!(get.contains(r#"http_response_status_code="200""#), "{get}");
    assert!(
        !text.contains("SYM"),
        "a raw path leaked into a label:\n{text}"
    );
    assert!(
        !text.contains("/nothing"),
        "a raw path leaked into a label:\n{text}"
    );
    let other = series(r#"http_request_method="_OTHER",http_route="/price/{symbol}""#);
    assert_eq!(other.len(), 1, "{text}");
    assert!(
        other[0].contains(r#"http_response_status_code="405""#),
        "{}",
        other[0]
    );
    let unmatched = series(r#"http_route="",http_response_status_code="404""#);
    assert!(unmatched[0].ends_with(" 10"), "{unmatched:#?}");
    assert!(
        text.contains(r#"http_server_active_requests{http_request_method="GET"} 0"#),
        "{text}"
    );
    pr_test_support::check_metrics(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
}
