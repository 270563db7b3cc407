//! The health endpoints as an axum router, to merge into an ops server.
//!
//! | path | answers |
//! |---|---|
//! | `/health` | every check: JSON with the status, phase and (when allowed) each check |
//! | `/health/live`, `/livez` | the liveness probe |
//! | `/health/ready`, `/readyz` | the readiness probe |
//! | `/health/startup` | the startup probe |
//!
//! The HTTP status is 200 for `UP`, the configured status for `DEGRADED`
//! (200 by default) and 503 otherwise. `/livez` and `/readyz` answer in
//! Kubernetes' text style, with `?verbose` listing `[+]name ok` and
//! `[-]name failed: reason` lines. Per-check details are shown as
//! [`ShowDetails`] says; with `authorized` the request
//! needs `Authorization: Bearer <token>` (compared in constant time).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{HealthRegistry, HealthReport, ShowDetails};

/// The health routes, backed by `registry`; merge them into any router.
///
/// # Examples
///
/// ```
/// use pr_health::{HealthRegistry, http::router};
///
/// let registry = HealthRegistry::default();
/// let app: axum::Router = axum::Router::new().merge(router(registry.clone()));
/// registry.lifecycle().mark_ready();
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(registry: HealthRegistry) -> Router<S> {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/health/startup", get(startup))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(registry)
}

async fn health(State(registry): State<HealthRegistry>, headers: HeaderMap) -> Response {
    let report = registry.report(None).await;
    json(&registry, &report, &headers)
}

async fn live(State(registry): State<HealthRegistry>, headers: HeaderMap) -> Response {
    let report = registry.liveness().await;
    json(&registry, &report, &headers)
}

async fn ready(State(registry): State<HealthRegistry>, headers: HeaderMap) -> Response {
    let report = registry.readiness().await;
    json(&registry, &report, &headers)
}

async fn startup(State(registry): State<HealthRegistry>, headers: HeaderMap) -> Response {
    let report = registry.startup().await;
    json(&registry, &report, &headers)
}

async fn livez(
    State(registry): State<HealthRegistry>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let report = registry.liveness().await;
    text(&registry, &report, "livez", query.as_deref(), &headers)
}

async fn readyz(
    State(registry): State<HealthRegistry>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let report = registry.readiness().await;
    text(&registry, &report, "readyz", query.as_deref(), &headers)
}

/// Whether this request may see per-check details.
fn details_allowed(registry: &HealthRegistry, headers: &HeaderMap) -> bool {
    let config = registry.config();
    match config.show_details {
        ShowDetails::Always => true,
        ShowDetails::Authorized => {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            config
                .token
                .as_ref()
                .is_some_and(|token| token.matches_bearer(presented))
        }
        _ => false,
    }
}

fn json(registry: &HealthRegistry, report: &HealthReport, headers: &HeaderMap) -> Response {
    let status = registry.config().http_status(report.status);
    let body = if details_allowed(registry, headers) {
        serde_json::to_vec(report)
    } else {
        serde_json::to_vec(&serde_json::json!({ "status": report.status }))
    };
    match body {
        Ok(body) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(target: "pr_health", event = "health.report_serialization_failed", error = %err, "cannot serialise a health report");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn text(
    registry: &HealthRegistry,
    report: &HealthReport,
    probe: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    use std::fmt::Write as _;

    let status = registry.config().http_status(report.status);
    let passed = report.status.is_passing();
    let verbose = query.is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let mut body = String::new();
    if verbose && details_allowed(registry, headers) {
        if let Some(reason) = &report.reason {
            let _ = writeln!(body, "[-]lifecycle failed: {reason}");
        }
        for check in &report.checks {
            if check.status.is_passing() {
                let _ = writeln!(body, "[+]{} ok", check.name);
            } else {
                let reason = check.message.as_deref().unwrap_or(check.status.as_str());
                let _ = writeln!(
                    body,
                    "[-]{} failed: {}",
                    check.name,
                    reason.replace(['\n', '\r'], " ")
                );
            }
        }
    }
    let _ = write!(
        body,
        "{probe} check {}",
        if passed { "passed" } else { "failed" }
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
