//! `RequestIdLayer` behind axum on a loopback port, called with ureq.

use axum::routing::get;
use axum::{Extension, Router};
use pr_http::request_id::{RequestId, RequestIdLayer};

/// Serves `layer` around a handler that answers the id it saw; returns the base URL.
async fn serve(layer: RequestIdLayer) -> String {
    let app = Router::new()
        .route(
            "/",
            get(|Extension(id): Extension<RequestId>| async move { id.to_string() }),
        )
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/")
}

/// The id the handler saw and the one the response echoed, for a request with `incoming`.
async fn call(url: String, incoming: Option<String>) -> (String, String) {
    tokio::task::spawn_blocking(move || {
        let mut request = ureq::get(&url);
        if let Some(id) = incoming {
            request = request.header("x-request-id", id);
        }
        let mut response = request.call().unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        (response.body_mut().read_to_string().unwrap(), echoed)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_an_id_the_handler_and_the_client_see() {
    let url = serve(RequestIdLayer::new()).await;
    let (seen, echoed) = call(url.clone(), None).await;
    assert_eq!(seen, echoed);
    assert_eq!(seen.len(), 32);
    let (again, _) = call(url.clone(), None).await;
    assert_ne!(seen, again);
    // Not trusted: a client's id is replaced.
    let (seen, echoed) = call(url, Some("client-chosen".into())).await;
    assert_ne!(seen, "client-chosen");
    assert_eq!(seen, echoed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_id_is_kept_when_it_is_safe_and_bounded() {
    let url = serve(RequestIdLayer::new().trust_incoming(true)).await;
    let (seen, echoed) = call(url.clone(), Some("gw-42.a:b_c".into())).await;
    assert_eq!(
        (seen.as_str(), echoed.as_str()),
        ("gw-42.a:b_c", "gw-42.a:b_c")
    );
    for hostile in [
        "x".repeat(129),
        "a b".into(),
        "a\"}{\"level\":\"error".into(),
    ] {
        let (seen, echoed) = call(url.clone(), Some(hostile.clone())).await;
        assert_ne!(seen, hostile);
        assert_eq!(seen, echoed);
        assert_eq!(seen.len(), 32, "a fresh id replaces {hostile:?}");
    }
}
