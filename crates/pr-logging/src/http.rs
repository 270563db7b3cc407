//! `GET` / `POST /loggers`: read and change the level filter of a running
//! service, as an axum router to merge into an ops server.
//!
//! - `GET /loggers` answers `{"filter": ..., "base": ..., "temporary_until": ...}`.
//! - `POST /loggers` with `{"filter": "debug,hyper=info"}` replaces the base
//!   filter; with `"duration_secs": 600` too, the filter is a temporary
//!   override that reverts by itself. It needs `Authorization: Bearer
//!   <token>`, compared in constant time; without it the answer is 401, and
//!   a filter that does not parse is a 400 naming the problem.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use pr_core::secret::SecretString;

use crate::LevelHandle;

#[derive(Clone)]
struct Loggers {
    levels: LevelHandle,
    token: SecretString,
}

/// The body of `POST /loggers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    filter: String,
    duration_secs: Option<u64>,
}

/// The `/loggers` routes over `levels`; `POST` needs `token` (an empty
/// token refuses every change).
///
/// # Examples
///
/// ```
/// use pr_core::secret::SecretString;
/// use pr_logging::{Logging, LoggingConfig};
///
/// # fn main() -> Result<(), pr_logging::Error> {
/// let mut config = LoggingConfig::default();
/// config.console.enabled = false;
/// let (_dispatch, guard) = Logging::builder(&config).build()?;
/// let ops: axum::Router = axum::Router::new()
///     .merge(pr_logging::http::router(guard.levels(), SecretString::new("a-long-random-ops-token")));
/// # Ok(())
/// # }
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(
    levels: LevelHandle,
    token: SecretString,
) -> Router<S> {
    Router::new()
        .route("/loggers", get(show).post(change))
        .with_state(Loggers { levels, token })
}

fn state_json(levels: &LevelHandle) -> serde_json::Value {
    let until = levels.temporary_until().map(|t| {
        let mut s = String::new();
        crate::time::write_rfc3339(&mut s, t, &crate::time::Tz::Utc);
        s
    });
    serde_json::json!({
        "filter": levels.current(),
        "base": levels.base(),
        "temporary_until": until,
    })
}

async fn show(State(loggers): State<Loggers>) -> Response {
    axum::Json(state_json(&loggers.levels)).into_response()
}

fn authorized(token: &SecretString, headers: &HeaderMap) -> bool {
    token.matches_bearer(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
}

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "code": code, "detail": detail })),
    )
        .into_response()
}

async fn change(State(loggers): State<Loggers>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&loggers.token, &headers) {
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            crate::codes::UNAUTHORIZED.code.as_str(),
            "a bearer token is required to change log levels",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    let change: Change = match serde_json::from_str(&body) {
        Ok(change) => change,
        Err(e) => {
            // Where and what kind of problem: serde_json's own text quotes
            // the body (a wrong value, an unknown field), which may hold
            // anything.
            let what = match e.classify() {
                serde_json::error::Category::Data => "a field of the wrong type or unknown",
                serde_json::error::Category::Eof => "the body ends early",
                _ => "not JSON",
            };
            return problem(
                StatusCode::BAD_REQUEST,
                crate::codes::INVALID_REQUEST.code.as_str(),
                &format!(
                    "expected {{\"filter\": string, \"duration_secs\"?: integer}}: {what} at \
                     line {} column {}",
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    let result = match change.duration_secs {
        Some(secs) => loggers
            .levels
            .set_for(&change.filter, std::time::Duration::from_secs(secs)),
        None => loggers.levels.set(&change.filter),
    };
    match result {
        Ok(()) => axum::Json(state_json(&loggers.levels)).into_response(),
        Err(e) => problem(
            StatusCode::BAD_REQUEST,
            crate::codes::INVALID_FILTER.code.as_str(),
            &e.to_string(),
        ),
    }
}
