//! The ops server's router: pr-health's probes, pr-metrics' `/metrics`,
//! pr-logging's `/loggers`, `/info`, `/status`, and the console at `/`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use pr_config::SecretString;
use pr_health::HealthRegistry;
use pr_logging::LoggingGuard;
use pr_resources::Sampler;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::{Drain, OpsConfig, StatusBoard};

/// What `/info` answers: the service's name, version and build metadata.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Info {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) toolkit_version: &'static str,
    pub(crate) build: BTreeMap<String, String>,
    pub(crate) started_at_unix_seconds: u64,
    pub(crate) pid: u32,
}

impl Info {
    pub(crate) fn new(name: String, version: String, build: BTreeMap<String, String>) -> Self {
        Self {
            name,
            version,
            toolkit_version: env!("CARGO_PKG_VERSION"),
            build,
            started_at_unix_seconds: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            pid: std::process::id(),
        }
    }
}

/// Everything `/status` reads.
#[derive(Clone)]
pub(crate) struct Ops {
    pub(crate) info: Arc<Info>,
    pub(crate) started: Instant,
    pub(crate) health: HealthRegistry,
    pub(crate) sampler: Sampler,
    pub(crate) board: StatusBoard,
    pub(crate) drain: Drain,
    pub(crate) logging: Arc<LoggingGuard>,
    pub(crate) config: Arc<dyn Fn() -> Value + Send + Sync>,
}

/// The ops routes: merge of the crates' routers plus `/info` and `/status`,
/// and the console when `config` has it.
/// A change to `/loggers` (any method but `GET` and `HEAD`) has its bearer
/// token checked before anything reads its body ([`guard_changes`]).
pub(crate) fn router(ops: Ops, metrics: pr_metrics::Registry, config: &OpsConfig) -> Router {
    let levels = ops.logging.levels();
    let token = &config.token;
    let guard = Arc::new(token.clone());
    let console = if config.console {
        super::console::router()
    } else {
        Router::new()
    };
    console
        .route("/info", get(info))
        .route("/status", get(status))
        .with_state(ops.clone())
        .merge(pr_health::http::router(ops.health))
        .merge(pr_metrics::http::router(metrics))
        .merge(
            pr_logging::http::router(levels, token.clone())
                .route_layer(middleware::from_fn_with_state(guard, guard_changes)),
        )
}

/// Refuses a change without the right bearer token from its head alone,
/// as pr-logging's handler would (401, `logging.unauthorized`,
/// `WWW-Authenticate: Bearer`), but before the handler reads the body: an
/// unauthenticated client cannot make the server read (up to the body
/// limit) or wait for a body. The connection is closed after the answer,
/// so no unread body is drained either. Reads pass through.
async fn guard_changes(
    State(token): State<Arc<SecretString>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if token.matches_bearer(presented) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "code": pr_logging::codes::UNAUTHORIZED.code.as_str(),
            "detail": "a bearer token is required to change log levels",
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

async fn info(State(ops): State<Ops>) -> Response {
    Json(&*ops.info).into_response()
}

async fn status(State(ops): State<Ops>) -> Response {
    Json(Value::Object(document(&ops))).into_response()
}

/// The `/status` document.
pub(crate) fn document(ops: &Ops) -> serde_json::Map<String, Value> {
    let mut doc = serde_json::Map::new();
    let health = ops.health.snapshot(None);
    doc.insert(
        "service".to_owned(),
        json!({
            "name": ops.info.name,
            "version": ops.info.version,
            "phase": health.phase,
            "uptime_seconds": ops.started.elapsed().as_secs_f64(),
            "draining": ops.drain.is_draining(),
            "in_flight": ops.drain.in_flight(),
        }),
    );
    doc.insert(
        "health".to_owned(),
        serde_json::to_value(&health).unwrap_or(Value::Null),
    );
    doc.insert("resources".to_owned(), resources(&ops.sampler));
    doc.insert("config".to_owned(), (ops.config)());
    let stats = ops.logging.snapshot();
    let outputs: Vec<Value> = stats
        .outputs
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "lines": o.lines,
                "bytes": o.bytes,
                "dropped": o.dropped,
                "write_errors": o.write_errors,
                "rotations": o.rotations,
            })
        })
        .collect();
    doc.insert(
        "logging".to_owned(),
        json!({ "outputs": outputs, "redactions": stats.redactions }),
    );
    for (name, section) in ops.board.render() {
        doc.insert(name, section);
    }
    doc
}

fn resources(sampler: &Sampler) -> Value {
    let s = sampler.latest();
    let rules: Vec<Value> = s
        .rules
        .iter()
        .map(|r| json!({ "rule": &*r.name, "severity": r.severity.as_str(), "value": r.value }))
        .collect();
    json!({
        "sequence": s.sequence,
        "process": {
            "cpu_seconds": s.process.cpu_seconds,
            "cpu_percent": s.process.cpu_percent,
            "resident_bytes": s.process.resident_bytes,
            "virtual_bytes": s.process.virtual_bytes,
            "open_fds": s.process.open_fds,
            "max_fds": s.process.max_fds,
            "threads": s.process.threads,
        },
        "system": {
            "cpus": s.system.cpus,
            "cpu_percent": s.system.cpu_percent,
            "load_average": s.system.load_average,
            "memory_total_bytes": s.system.memory_total,
            "memory_available_bytes": s.system.memory_available,
        },
        "effective_cpus": s.effective_cpus(),
        "memory_limit_bytes": s.memory_limit(),
        "worst_severity": s.worst_severity().as_str(),
        "rules": rules,
        "problems": s.problems,
    })
}
