//! The router, served on loopback and called with a real HTTP client.

use std::time::Duration;

use pr_core::secret::SecretString;
use pr_health::http::router;
use pr_health::{HealthConfig, HealthRegistry, Outcome, ShowDetails, check_fn};

const TOKEN: &str = "0123456789abcdef-ops";

struct Served {
    base: String,
    _server: tokio::task::JoinHandle<()>,
}

async fn serve(registry: HealthRegistry) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app: axum::Router = router(registry);
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Served {
        base,
        _server: server,
    }
}

/// GET with a real client; returns status and body.
async fn get(url: String, token: Option<&'static str>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut request = agent.get(&url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

fn registry(show: ShowDetails) -> HealthRegistry {
    let mut config = HealthConfig::default();
    config.show_details = show;
    config.token = Some(SecretString::new(TOKEN));
    let registry = HealthRegistry::new(config).unwrap();
    registry
        .add(check_fn("db", || async { Outcome::up() }))
        .unwrap();
    registry
        .add(check_fn("search", || async { Outcome::down("index missing") }).critical(false))
        .unwrap();
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_flips_to_503_when_draining_while_liveness_stays_200() {
    let registry = registry(ShowDetails::Always);
    let served = serve(registry.clone()).await;

    assert_eq!(
        get(format!("{}/health/ready", served.base), None).await.0,
        503,
        "starting"
    );
    registry.lifecycle().mark_ready();
    let (status, body) = get(format!("{}/health/ready", served.base), None).await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "DEGRADED");
    assert_eq!(json["checks"][1]["message"], "index missing");

    registry.lifecycle().start_draining();
    for path in ["/health/ready", "/readyz"] {
        assert_eq!(
            get(format!("{}{path}", served.base), None).await.0,
            503,
            "{path}"
        );
    }
    for path in ["/health/live", "/livez"] {
        assert_eq!(
            get(format!("{}{path}", served.base), None).await.0,
            200,
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_text_lists_each_check() {
    let registry = registry(ShowDetails::Always);
    registry.lifecycle().mark_ready();
    let served = serve(registry).await;
    let (status, body) = get(format!("{}/readyz?verbose", served.base), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "[+]db ok\n[-]search failed: index missing\nreadyz check passed"
    );
    let (_, terse) = get(format!("{}/readyz", served.base), None).await;
    assert_eq!(terse, "readyz check passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_need_the_token_when_authorized() {
    let registry = registry(ShowDetails::Authorized);
    registry.lifecycle().mark_ready();
    let served = serve(registry).await;

    let (_, hidden) = get(format!("{}/health", served.base), None).await;
    assert_eq!(hidden, r#"{"status":"DEGRADED"}"#);
    let (_, wrong) = get(
        format!("{}/health", served.base),
        Some("0123456789abcdef-opx"),
    )
    .await;
    assert_eq!(wrong, r#"{"status":"DEGRADED"}"#);
    let (_, shown) = get(format!("{}/health", served.base), Some(TOKEN)).await;
    let json: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(json["checks"].as_array().unwrap().len(), 2);
    assert_eq!(json["phase"], "ready");
    assert!(json["checks"][0]["duration_ms"].is_number());
    let (_, verbose_hidden) = get(format!("{}/livez?verbose", served.base), None).await;
    assert_eq!(verbose_hidden, "livez check passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_shows_details_by_default() {
    let registry = HealthRegistry::default();
    registry
        .add(check_fn("db", || async {
            Outcome::down("password rejected for user admin")
        }))
        .unwrap();
    registry.lifecycle().mark_ready();
    let served = serve(registry).await;
    let (status, body) = get(format!("{}/health", served.base), None).await;
    assert_eq!((status, body.as_str()), (503, r#"{"status":"DOWN"}"#));
}
