//! The tower layer in a real axum server, called with a real HTTP client on
//! loopback: 429 with `Retry-After` past a key's quota, or a wait.

use std::time::Duration;

use pr_resilience::rate::{KeyedLimiter, KeyedRateLimiter, OnLimit, Quota, RateLimitLayer};

async fn serve(on_limit: OnLimit, quota: Quota) -> (String, tokio::task::JoinHandle<()>) {
    let limiter = KeyedLimiter::<String>::builder(quota)
        .max_keys(1_000)
        .build()
        .unwrap();
    serve_with(limiter, on_limit).await
}

/// An axum server behind the layer with `limiter`, keyed by `x-client`.
pub(crate) async fn serve_with<L: KeyedRateLimiter<String>>(
    limiter: L,
    on_limit: OnLimit,
) -> (String, tokio::task::JoinHandle<()>) {
    let layer = RateLimitLayer::new(limiter, |request: &http::Request<axum::body::Body>| {
        request
            .headers()
            .get("x-client")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anonymous")
            .to_owned()
    })
    .on_limit(on_limit);
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "ok" }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, server)
}

/// GET with a real client: status, `Retry-After`, body.
pub(crate) async fn get(url: String, client: &'static str) -> (u16, Option<String>, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut response = agent.get(&url).header("x-client", client).call().unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            response.status().as_u16(),
            retry_after,
            response.body_mut().read_to_string().unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quota_answers_429_with_retry_after_per_key() {
    let (base, server) = serve(OnLimit::Reject, Quota::per_hour(2)).await;
    assert_eq!(get(base.clone(), "alice").await, (200, None, "ok".into()));
    assert_eq!(get(base.clone(), "alice").await.0, 200);
    let (status, retry_after, _) = get(base.clone(), "alice").await;
    assert_eq!(status, 429);
    // One permit every 30 minutes; the wait is just under that.
    let seconds: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1_790..=1_800).contains(&seconds), "{seconds}");
    // Another key has its own quota.
    assert_eq!(get(base, "bob").await.0, 200);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_mode_waits_for_a_short_wait_and_rejects_a_long_one() {
    // One permit every 2 ms: the second request waits for it.
    let (base, server) = serve(
        OnLimit::Wait {
            max_wait: Duration::from_millis(50),
        },
        Quota::per_second(500).with_burst(1),
    )
    .await;
    assert_eq!(get(base.clone(), "alice").await.0, 200);
    assert_eq!(get(base.clone(), "alice").await.0, 200);
    server.abort();
    let (base, server) = serve(
        OnLimit::Wait {
            max_wait: Duration::from_millis(50),
        },
        Quota::per_hour(1),
    )
    .await;
    assert_eq!(get(base.clone(), "alice").await.0, 200);
    assert_eq!(get(base, "alice").await.0, 429);
    server.abort();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn waiting_mode_never_waits_longer_than_max_wait_in_total() {
    use tower::{Layer as _, ServiceExt as _};
    // One permit a second, and three requests at once: the second waits a
    // second for its permit; the third, beaten to that permit, would wait a
    // second more, past its max_wait.
    let limiter = KeyedLimiter::<String>::builder(Quota::per_second(1).with_burst(1))
        .clock(pr_resilience::Clock::tokio())
        .build()
        .unwrap();
    let max_wait = Duration::from_secs(1);
    let service = RateLimitLayer::new(limiter, |_: &http::Request<()>| "alice".to_owned())
        .on_limit(OnLimit::Wait { max_wait })
        .layer(tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
        }));
    let started = tokio::time::Instant::now();
    let request = || {
        let service = service.clone();
        async move {
            let response = service.oneshot(http::Request::new(())).await.unwrap();
            (response.status().as_u16(), started.elapsed())
        }
    };
    let (a, b, c) = tokio::join!(request(), request(), request());
    let outcomes = [a, b, c];
    let mut statuses: Vec<u16> = outcomes.iter().map(|(status, _)| *status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 200, 429], "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(_, waited)| *waited <= max_wait),
        "{outcomes:?}"
    );
}
