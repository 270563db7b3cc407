//! `/loggers`, served on loopback and called with a real HTTP client.

use std::time::Duration;

use pr_core::secret::SecretString;
use pr_core::time::ManualClock;
use pr_logging::Logging;

use crate::support::{T0, quiet};

const TOKEN: &str = "0123456789abcdef-ops";

/// A request with a real client; returns status and body.
async fn call(
    method: &'static str,
    url: String,
    token: Option<&'static str>,
    body: &'static str,
) -> (u16, serde_json::Value) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut response = if method == "GET" {
            agent.get(&url).call().unwrap()
        } else {
            let mut request = agent.post(&url).header("Content-Type", "application/json");
            if let Some(token) = token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            request.send(body).unwrap()
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_post_loggers() {
    let mut config = quiet();
    config.filter = "info".to_owned();
    let clock = ManualClock::at_unix(T0);
    let (_dispatch, guard) = Logging::builder(&config)
        .clock(clock.clock())
        .build()
        .unwrap();
    let levels = guard.levels();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/loggers", listener.local_addr().unwrap());
    let app: axum::Router = pr_logging::http::router(levels.clone(), SecretString::new(TOKEN));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (status, body) = call("GET", url.clone(), None, "").await;
    assert_eq!(status, 200);
    assert_eq!(body["filter"], "info");
    assert_eq!(body["temporary_until"], serde_json::Value::Null);

    let change = r#"{"filter":"debug"}"#;
    assert_eq!(call("POST", url.clone(), None, change).await.0, 401);
    assert_eq!(
        call("POST", url.clone(), Some("wrong-token-0123456"), change)
            .await
            .0,
        401
    );
    assert_eq!(levels.base(), "info");

    let (status, body) = call("POST", url.clone(), Some(TOKEN), change).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["base"], "debug");

    let (status, body) = call("POST", url.clone(), Some(TOKEN), r#"{"filter":"x=loud"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "logging.invalid_filter");
    let (status, _) = call("POST", url.clone(), Some(TOKEN), "not json").await;
    assert_eq!(status, 400);
    // A body that does not fit is described by where and what kind of
    // problem, never by any of its text (it may hold a pasted secret).
    const SECRET: &str = "Xq7ZkP9wLmT2vR";
    for bad in [
        r#"{"filter":"info","duration_secs":"Xq7ZkP9wLmT2vR"}"#,
        r#"{"filter":"info","Xq7ZkP9wLmT2vR":1}"#,
        r#"{"filter":Xq7ZkP9wLmT2vR}"#,
        r#"{"filter":"Xq7ZkP9wLmT2vR"#,
    ] {
        let (status, body) = call("POST", url.clone(), Some(TOKEN), bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "logging.invalid_request");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("\"duration_secs\"?: integer"), "{detail}");
        assert!(detail.contains("line 1 column "), "{detail}");
        for i in 0..=SECRET.len() - 4 {
            assert!(!detail.contains(&SECRET[i..i + 4]), "{detail}");
        }
    }

    let temporary = r#"{"filter":"trace","duration_secs":60}"#;
    let (status, body) = call("POST", url.clone(), Some(TOKEN), temporary).await;
    assert_eq!(status, 200);
    assert_eq!(body["filter"], "trace");
    assert_eq!(body["temporary_until"], "2026-11-23T10:01:00.000000Z");
    clock.advance(Duration::from_secs(60));
    let (_, body) = call("GET", url, None, "").await;
    assert_eq!(body["filter"], "debug");
    assert_eq!(body["temporary_until"], serde_json::Value::Null);
    server.abort();
}
