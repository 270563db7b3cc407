//! `AccessLogLayer` behind axum on a loopback port, called with ureq: one event per request with
//! the route template, never a header or the raw path.

use axum::Router;
use axum::routing::get;
use pr_http::access_log::AccessLogLayer;
use pr_http::request_id::RequestIdLayer;

use crate::capture::Captured;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_per_request_errors_always_successes_sampled() {
    let captured = Captured::install();
    let app = Router::new()
        .route("/quote/{symbol}", get(|| async { "42" }))
        .route(
            "/fail",
            get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .layer(AccessLogLayer::new().sample(3))
        .layer(RequestIdLayer::new());
    let address = crate::server::serve(app).await;

    let ids = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut ids = Vec::new();
        for i in 0..6 {
            let response = agent
                .get(format!("http://{address}/quote/SECRET{i}"))
                .header("authorization", "Bearer tok3n-never-logged")
                .header("cookie", "session=c00kie-never-logged")
                .call()
                .unwrap();
            ids.push(
                response.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        for _ in 0..2 {
            let response = agent.get(format!("http://{address}/fail")).call().unwrap();
            assert_eq!(response.status(), 500);
            ids.push(
                response.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        ids
    })
    .await
    .unwrap();

    let access: Vec<_> = captured
        .events()
        .into_iter()
        .filter(|event| event["target"] == "pr_http::access")
        .filter(|event| event.get("request_id").is_some_and(|id| ids.contains(id)))
        .collect();
    let ok: Vec<_> = access.iter().filter(|e| e["status"] == "200").collect();
    let failed: Vec<_> = access.iter().filter(|e| e["status"] == "500").collect();
    assert_eq!(ok.len(), 2, "one success in three is logged: {access:#?}");
    assert_eq!(failed.len(), 2, "every server error is logged: {access:#?}");
    assert!(failed.iter().all(|e| e["level"] == "WARN"));

    let first = ok[0];
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["route"], "/quote/{symbol}");
    assert_eq!(first["bytes"], "2");
    assert_eq!(first["client"], "127.0.0.1");
    assert!(first["duration_seconds"].parse::<f64>().unwrap() >= 0.0);

    // No event of this test (or any other) carries a header or the raw path.
    let everything = format!("{:?}", captured.events());
    for secret in ["tok3n-never-logged", "c00kie-never-logged", "SECRET"] {
        assert!(
            !everything.contains(secret),
            "{secret} reached a log: {everything}"
        );
    }
}
