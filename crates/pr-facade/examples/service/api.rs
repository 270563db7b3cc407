//! The API: `GET /quote/{symbol}`, cached, through the pipeline, failures kept for replay.
//! Request ids, logs, metrics, limits, problem responses and the per-client rate limit are
//! pr-http's (`main.rs` puts its stack around this router).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use pr_facade::cache::MemoryCache;
use pr_facade::errors::{CodeInfo, CodedError};
use pr_facade::http::problem::ApiError;
use pr_facade::resilience::CallError;
use pr_facade::resilience::dlq::{DeadLetter, Dlq};
use pr_facade::resilience::pipeline::Pipeline;
use pr_facade::resilience::retry::Transient;
use serde::Deserialize;

use crate::dependency::{Dependency, Failed};

pr_facade::errors::codes! {
    /// The API's codes.
    static CODES;
    /// The symbol is longer than `api.max_symbol_len`.
    SYMBOL_TOO_LONG = "demo.symbol_too_long", URI_TOO_LONG, permanent, public;
    /// The symbol has a character outside `A-Z a-z 0-9 . _ -`.
    INVALID_SYMBOL = "demo.invalid_symbol", BAD_REQUEST, permanent, public;
    /// `?fail` or `?delay_ms` was asked while `dependency.test_knobs` is off.
    TEST_KNOBS_DISABLED = "demo.test_knobs_disabled", BAD_REQUEST, permanent, public;
}

/// A request the API refuses; the message names what is wrong, never the symbol.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the symbol is {0} bytes long; the most accepted is {1} (api.max_symbol_len)")]
    TooLong(usize, usize),
    #[error("the symbol must be 1 or more of the characters A-Z a-z 0-9 . _ -")]
    Invalid,
    #[error("the fail and delay_ms parameters are off (dependency.test_knobs = false)")]
    KnobsOff,
}

impl CodedError for Refused {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::TooLong(..) => &SYMBOL_TOO_LONG,
            Self::Invalid => &INVALID_SYMBOL,
            Self::KnobsOff => &TEST_KNOBS_DISABLED,
        }
    }
}

/// A quote that failed after the pipeline, and whether it was kept for replay: durability
/// tells the truth, so a client learns when it was not.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
struct QuoteFailed {
    error: CallError<Failed>,
    not_kept: Option<String>,
}

impl CodedError for QuoteFailed {
    fn info(&self) -> &'static CodeInfo {
        match &self.error {
            CallError::Inner(e) => e.info(),
            CallError::Rejected(e) => e.info(),
        }
    }
    fn retry(&self) -> pr_facade::errors::RetryClass {
        match &self.error {
            CallError::Inner(e) => e.retry(),
            CallError::Rejected(e) => e.retry(),
        }
    }
    fn public_message(&self) -> Option<String> {
        match &self.not_kept {
            Some(lost) => Some(format!(
                "{self}; the failed quote was NOT recorded for replay ({lost})"
            )),
            None => self.is_public().then(|| self.to_string()),
        }
    }
}

pub(crate) struct Api {
    pub(crate) dependency: Dependency,
    pub(crate) pipeline: Pipeline<Transient>,
    pub(crate) cache: MemoryCache<String, f64>,
    pub(crate) dead_letters: Dlq<String>,
    pub(crate) max_delay: Duration,
    pub(crate) max_symbol_len: usize,
    pub(crate) test_knobs: bool,
}

/// The test knobs of `GET /quote/{symbol}`, honoured only with `dependency.test_knobs`.
#[derive(Debug, Deserialize)]
struct Knobs {
    delay_ms: Option<u64>,
    fail: Option<bool>,
}

async fn quote(
    State(api): State<Arc<Api>>,
    Path(symbol): Path<String>,
    Query(knobs): Query<Knobs>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if symbol.len() > api.max_symbol_len {
        return Err(Refused::TooLong(symbol.len(), api.max_symbol_len).into());
    }
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if symbol.is_empty() || !symbol.bytes().all(safe) {
        return Err(Refused::Invalid.into());
    }
    if !api.test_knobs && (knobs.delay_ms.is_some() || knobs.fail.is_some()) {
        return Err(Refused::KnobsOff.into());
    }
    let (delay, fail) = (
        Duration::from_millis(knobs.delay_ms.unwrap_or(0)),
        knobs.fail == Some(true),
    );
    tokio::time::sleep(delay.min(api.max_delay)).await;
    let answer = |price, source| {
        Json(serde_json::json!({ "symbol": symbol, "price": price, "source": source }))
    };
    // A forced failure skips the cache, so that it always reaches the dependency.
    if !fail && let Some(price) = api.cache.get(&symbol) {
        return Ok(answer(price, "cache"));
    }
    let call = || api.dependency.quote(&symbol, fail);
    let result = if fail {
        api.pipeline.run(call).await
    } else {
        let loaded = api
            .cache
            .try_get_or_insert_with(symbol.clone(), || api.pipeline.run(call));
        loaded.await.map_err(|shared| match &*shared {
            CallError::Inner(Failed) => CallError::Inner(Failed),
            CallError::Rejected(e) => CallError::Rejected(e.clone()),
        })
    };
    let error = match result {
        Ok(price) => return Ok(answer(price, "dependency")),
        Err(error) => error,
    };
    tracing::warn!(event = "demo.quote_failed", symbol = %symbol, %error, "quote failed");
    // A quote the dependency refused after every retry is kept for a later replay (not one
    // the service's own policies refused).
    let mut not_kept = None;
    if let CallError::Inner(failed) = &error
        && let Err(lost) = api
            .dead_letters
            .push(&DeadLetter::new(symbol.clone(), failed))
    {
        tracing::error!(event = "demo.dead_letter_lost", symbol = %symbol, error = %lost, "dead letter not kept");
        not_kept = Some(format!("dead-letter queue: {}", lost.code()));
    }
    Err(QuoteFailed { error, not_kept }.into())
}

async fn index() -> &'static str {
    "pr demo service\n\nGET /quote/{symbol}   a quote from a flaky dependency \
     (?fail=true and ?delay_ms=N when dependency.test_knobs is on)\n"
}

pub(crate) fn router(api: Arc<Api>) -> Router {
    let routes = Router::new()
        .route("/", get(index))
        .route("/quote/{symbol}", get(quote));
    routes.with_state(api)
}
