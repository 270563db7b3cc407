//! The whole inbound stack from one `HttpConfig`, on a real server, called by a real client.

use axum::Router;
use axum::routing::{get, post};
use pr_http::HttpConfig;

async fn serve(config: HttpConfig) -> String {
    let app = Router::new()
        .route("/quote/{symbol}", get(|| async { "42" }))
        .route(
            "/orders",
            post(|body: String| async move { body.len().to_string() }),
        )
        .route("/panic", get(panics))
        .layer(pr_http::layers(&config).unwrap());
    let address = crate::server::serve(app).await;
    format!("http://{address}")
}

async fn panics() -> String {
    panic!("broken")
}

fn config() -> HttpConfig {
    let mut config: HttpConfig = serde_json::from_value(serde_json::json!({
        "limits": { "max_body_size": "1KiB" },
        "rate_limit": { "enabled": true, "permits": 1, "period": "1h", "burst": 3 },
        "cors": { "allowed_origins": ["https://app.example.com"] },
        "security_headers": { "hsts": true },
    }))
    .unwrap();
    config.request_id.trust_incoming = true;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_answers_with_every_layer() {
    let captured = crate::capture::Captured::install();
    let base = serve(config()).await;
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .build()
            .into();

        // 1: a plain request gets its id echoed and the security headers.
        let response = agent
            .get(format!("{base}/quote/ACME"))
            .header("x-request-id", "gw-1")
            .call()
            .unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["x-request-id"], "gw-1");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=31536000")
        );

        // 2: a CORS preflight from the allowed origin is answered; another origin gets nothing.
        let preflight = |origin: &str| {
            let request = http::Request::builder()
                .method("OPTIONS")
                .uri(format!("{base}/orders"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .body(())
                .unwrap();
            agent.run(request).unwrap()
        };
        let allowed = preflight("https://app.example.com");
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "https://app.example.com"
        );
        let refused = preflight("https://evil.example");
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );

        // 3: a body over the limit: a 413 problem, with the problem's own headers.
        let mut big = agent
            .post(format!("{base}/orders"))
            .send(&[b'x'; 2_048][..])
            .unwrap();
        assert_eq!(big.status(), 413);
        assert_eq!(
            big.headers()["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
        let problem: serde_json::Value =
            serde_json::from_str(&big.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(problem["code"], "http.body_too_large");

        // The server closes a connection whose request body it did not read: the next request
        // goes on a fresh one.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();

        // 4: a panic: a 500 problem, and the server goes on.
        assert_eq!(
            agent.get(format!("{base}/panic")).call().unwrap().status(),
            500
        );

        // 5: the rate limit (a burst of 3, spent by the GET, the POST and the panic above; CORS
        // preflights are answered before it): refused with Retry-After.
        let limited = agent.get(format!("{base}/quote/ACME")).call().unwrap();
        assert_eq!(limited.status(), 429);
        assert!(limited.headers().contains_key("retry-after"));
        assert!(
            limited.headers().contains_key("x-request-id"),
            "refusals carry the id too"
        );
    })
    .await
    .unwrap();

    // The access log's line of the first request runs in the trace's span and, inside it,
    // the request's: a JSON line carries both ids.
    let events = captured.events();
    let line = events
        .iter()
        .find(|e| {
            e["target"] == "pr_http::access"
                && e.get("request_id").map(String::as_str) == Some("gw-1")
        })
        .unwrap_or_else(|| panic!("no access line for gw-1 in {events:#?}"));
    assert_eq!(line["spans"], "trace>request", "{line:#?}");
    assert_eq!(line["route"], "/quote/{symbol}");
}

#[test]
fn an_invalid_config_is_refused_with_every_problem() {
    let mut config = HttpConfig::default();
    config.limits.max_in_flight = 0;
    config.access_log.level = "loud".into();
    let error = pr_http::layers(&config).unwrap_err();
    let pr_http::Error::InvalidConfig { problems } = &error else {
        panic!("{error}")
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        pr_errors::CodedError::code(&error).as_str(),
        "http.invalid_config"
    );
}

#[cfg(feature = "compression")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_compressed_as_the_client_asks_above_the_size_floor() {
    use std::io::Read as _;
    let big = "All work and no play makes Jack a dull boy. ".repeat(200);
    let expected = big.clone();
    let config: HttpConfig = serde_json::from_value(serde_json::json!({
        "compression": { "enabled": true, "min_size": "1KiB" },
    }))
    .unwrap();
    let app = Router::new()
        .route("/big", get(move || async move { big }))
        .route("/small", get(|| async { "tiny" }))
        .layer(pr_http::layers(&config).unwrap());
    let base = format!("http://{}", crate::server::serve(app).await);
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let fetch = |path: &str, accept: Option<&str>| {
            let mut request = agent.get(format!("{base}{path}"));
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            let mut response = request.call().unwrap();
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.body_mut().read_to_vec().unwrap();
            (encoding, body)
        };

        let (encoding, body) = fetch("/big", Some("gzip"));
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert!(body.len() < expected.len() / 10, "{} bytes", body.len());
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, expected);

        let (encoding, body) = fetch("/big", Some("br;q=1.0, gzip;q=0.5"));
        assert_eq!(encoding.as_deref(), Some("br"));
        assert!(body.len() < expected.len() / 10, "{} bytes", body.len());

        let (encoding, body) = fetch("/big", None);
        assert_eq!(encoding, None, "no Accept-Encoding, no compression");
        assert_eq!(body, expected.as_bytes());

        let (encoding, body) = fetch("/small", Some("gzip"));
        assert_eq!(encoding, None, "under min_size");
        assert_eq!(body, b"tiny");
    })
    .await
    .unwrap();
}

#[test]
fn compression_over_its_limit_and_features_missing_are_reported() {
    let config: HttpConfig = serde_json::from_value(serde_json::json!({
        "compression": { "enabled": true, "min_size": "1MiB" },
    }))
    .unwrap();
    let text = pr_http::layers(&config).unwrap_err().to_string();
    assert!(text.contains("compression.min_size"), "{text}");
}
