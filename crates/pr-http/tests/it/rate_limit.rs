//! Per-client rate limiting on a real server, called by a real client that lies about who it is.

use std::net::IpAddr;

use axum::Router;
use axum::routing::get;
use pr_http::client::TrustedProxies;
use pr_http::rate_limit::ClientRateLimitLayer;
use pr_resilience::rate::{KeyedLimiter, Quota};

async fn serve(proxies: TrustedProxies) -> String {
    let quota = Quota::per_minute(2).with_burst(2);
    let limiter: KeyedLimiter<IpAddr> = KeyedLimiter::builder(quota)
        .max_keys(1_000)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(ClientRateLimitLayer::new(limiter, proxies).policy(quota));
    let address = crate::server::serve(app).await;
    format!("http://{address}/")
}

/// Status and headers of a GET claiming to be `forwarded_for`.
fn call(url: &str, forwarded_for: &str) -> (u16, http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("x-forwarded-for", forwarded_for)
        .call()
        .unwrap();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
    let url = serve(TrustedProxies::default()).await;
    tokio::task::spawn_blocking(move || {
        assert_eq!(call(&url, "1.1.1.1").0, 200);
        assert_eq!(call(&url, "2.2.2.2").0, 200);
        // A third address claimed, the same peer: refused.
        let (status, headers, body) = call(&url, "3.3.3.3");
        assert_eq!(status, 429);
        assert_eq!(headers["content-type"], "application/problem+json");
        let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        assert_eq!(headers["ratelimit-policy"], "\"client\";q=2;w=60");
        assert_eq!(
            headers["ratelimit"].to_str().unwrap(),
            format!("\"client\";r=0;t={retry_after}")
        );
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "resilience.rate_limited");
        assert_eq!(problem["status"], 429);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_each_client() {
    let proxies: TrustedProxies = ["127.0.0.0/8".parse().unwrap()].into_iter().collect();
    let url = serve(proxies).await;
    tokio::task::spawn_blocking(move || {
        for client in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
            assert_eq!(call(&url, client).0, 200, "{client}");
        }
        assert_eq!(call(&url, "4.4.4.4, 1.1.1.1").0, 200, "1.1.1.1's second");
        assert_eq!(call(&url, "1.1.1.1").0, 429, "1.1.1.1's third");
        assert_eq!(call(&url, "2.2.2.2").0, 200);
    })
    .await
    .unwrap();
}
