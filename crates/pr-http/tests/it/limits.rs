//! The limits on a real server, called by a real client: each refusal is a problem response.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use pr_http::limits::{BodyLimitLayer, LoadShedLayer, RequestTimeoutLayer};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Status, a header and the problem's code of a response.
fn read(mut response: http::Response<ureq::Body>, header: &str) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let value = response
        .headers()
        .get(header)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.body_mut().read_to_string().unwrap();
    let code = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|p| p["code"].as_str().map(str::to_owned))
        .unwrap_or(body);
    (status, value, code)
}

/// On tokio's paused time: the 30 s handler costs no real time, and nothing depends on the
/// machine's speed.
#[tokio::test(start_paused = true)]
async fn a_slow_handler_is_answered_with_a_timeout_problem() {
    use tower::ServiceExt as _;
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route("/fast", get(|| async { "ok" }))
        .layer(RequestTimeoutLayer::new(Duration::from_secs(10)));
    let get = |path: &str| {
        http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let started = tokio::time::Instant::now();
    let slow = app.clone().oneshot(get("/slow")).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(slow.status(), 503);
    assert_eq!(slow.headers()["content-type"], "application/problem+json");
    let body = axum::body::to_bytes(slow.into_body(), 4_096).await.unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "http.timeout");
    assert_eq!(app.oneshot(get("/fast")).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_announced_or_streamed() {
    let app = Router::new()
        .route(
            "/echo",
            post(|body: String| async move { body.len().to_string() }),
        )
        .layer(BodyLimitLayer::new(1_024));
    let base = serve(app).await;
    tokio::task::spawn_blocking(move || {
        let agent = agent();
        let ok = read(
            agent
                .post(format!("{base}/echo"))
                .send(&[b'a'; 1_024][..])
                .unwrap(),
            "x",
        );
        assert_eq!((ok.0, ok.2.as_str()), (200, "1024"));
        // Announced by Content-Length: refused before the handler, as a problem.
        let big = read(
            agent
                .post(format!("{base}/echo"))
                .send(&[b'a'; 1_025][..])
                .unwrap(),
            "x",
        );
        assert_eq!((big.0, big.2.as_str()), (413, "http.body_too_large"));
    })
    .await
    .unwrap();
}

/// A body streamed without a length, at the service (on a socket, the server's early answer races
/// the client's writing).
#[tokio::test]
async fn a_body_streamed_past_the_limit_is_cut() {
    use tower::ServiceExt as _;
    let app = Router::new()
        .route(
            "/echo",
            post(|body: String| async move { body.len().to_string() }),
        )
        .layer(BodyLimitLayer::new(1_024));
    let chunks = (0..100).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1_000]));
    let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
    let request = http::Request::post("/echo").body(body).unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_is_shed_at_once_with_retry_after_and_places_come_back() {
    // Held requests wait for a permit of `gate`, which has none until the test adds them (a
    // permit added before a handler waits is still there for it: no lost wake-up).
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let waiting = std::sync::Arc::clone(&gate);
    let app = Router::new()
        .route(
            "/hold",
            get(move || {
                let waiting = std::sync::Arc::clone(&waiting);
                async move {
                    waiting.acquire().await.unwrap().forget();
                    "released"
                }
            }),
        )
        .route("/ok", get(|| async { "ok" }))
        .layer(LoadShedLayer::new(2));
    let base = serve(app).await;
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let url = format!("{base}/hold");
            std::thread::spawn(move || read(agent().get(url).call().unwrap(), "x"))
        })
        .collect();
    // Wait until both holders are in (the third request is shed only then).
    let probe = base.clone();
    let shed = tokio::task::spawn_blocking(move || {
        loop {
            let answer = read(
                agent().get(format!("{probe}/ok")).call().unwrap(),
                "retry-after",
            );
            if answer.0 == 503 {
                return answer;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
    .unwrap();
    assert_eq!(shed, (503, Some("1".into()), "http.overloaded".into()));
    gate.add_permits(2);
    for holder in holders {
        assert_eq!(holder.join().unwrap().2, "released");
    }
    let after = tokio::task::spawn_blocking(move || {
        read(agent().get(format!("{base}/ok")).call().unwrap(), "x")
    })
    .await
    .unwrap();
    assert_eq!((after.0, after.2.as_str()), (200, "ok"));
}
