//! The API: `GET /quote/{symbol}`, cached, through the pipeline, failures kept for replay.
//! Request ids, logs, metrics, limits, problem responses and the per-client rate limit are
//! pr-http's (`App::serve` puts its stack around this router).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::{Json, Router, routing::get};
use pr_facade::cache::MemoryCache;
use pr_facade::errors::CodedError as _;
use pr_facade::http::problem::ApiError;
use pr_facade::resilience::retry::Transient;
use pr_facade::resilience::{CallError, dlq::DeadLetter, dlq::Dlq, pipeline::Pipeline};
use serde::Deserialize;

use crate::config::Settings;
use crate::dependency;

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

pub(crate) struct Api {
    pub(crate) settings: Settings,
    pub(crate) pipeline: Pipeline<Transient>,
    pub(crate) cache: MemoryCache<String, f64>,
    pub(crate) dead_letters: Dlq<String>,
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
    let (max, len) = (api.settings.api.max_symbol_len, symbol.len());
    if len > max {
        let message = format!(
            "the symbol is {len} bytes long; the most accepted is {max} (api.max_symbol_len)"
        );
        return Err(ApiError::new(&SYMBOL_TOO_LONG, message));
    }
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if symbol.is_empty() || !symbol.bytes().all(safe) {
        let message = "the symbol must be 1 or more of the characters A-Z a-z 0-9 . _ -";
        return Err(ApiError::new(&INVALID_SYMBOL, message));
    }
    let knobs_off = !api.settings.dependency.test_knobs;
    if knobs_off && (knobs.delay_ms.is_some() || knobs.fail.is_some()) {
        let message = "the fail and delay_ms parameters are off (dependency.test_knobs = false)";
        return Err(ApiError::new(&TEST_KNOBS_DISABLED, message));
    }
    let (delay, fail) = (knobs.delay_ms.unwrap_or(0), knobs.fail == Some(true));
    tokio::time::sleep(Duration::from_millis(delay).min(api.settings.api.max_delay.as_std())).await;
    let answer = |price, source| {
        Json(serde_json::json!({ "symbol": symbol, "price": price, "source": source }))
    };
    // A forced failure skips the cache, so that it always reaches the dependency.
    if !fail && let Some(price) = api.cache.get(&symbol) {
        return Ok(answer(price, "cache"));
    }
    let call = || dependency::quote(&api.settings.dependency, &symbol, fail);
    let result = if fail {
        api.pipeline.run(call).await
    } else {
        let loaded = api
            .cache
            .try_get_or_insert_with(symbol.clone(), || api.pipeline.run(call));
        loaded.await.map_err(|shared| (*shared).clone())
    };
    let error = match result {
        Ok(price) => return Ok(answer(price, "dependency")),
        Err(error) => error,
    };
    tracing::warn!(event = "demo.quote_failed", symbol = %symbol, %error, "quote failed");
    // A quote the dependency refused after every retry is kept for a later replay (not one
    // the service's own policies refused).
    if let CallError::Inner(failed) = &error
        && let Err(lost) = api
            .dead_letters
            .push(&DeadLetter::new(symbol.clone(), failed))
    {
        tracing::error!(event = "demo.dead_letter_lost", symbol = %symbol, error = %lost, "dead letter not kept");
        // Durability tells the truth: the client learns the failure was not kept.
        let lost = lost.code().as_str();
        let message = format!("{error}; the failed quote was NOT recorded for replay ({lost})");
        return Err(ApiError::rephrased(error, message));
    }
    Err(error.into())
}

pub(crate) fn router(api: Api) -> Router {
    let routes = Router::new().route("/quote/{symbol}", get(quote));
    routes.with_state(Arc::new(api))
}
