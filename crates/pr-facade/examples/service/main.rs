//! The demo service (`cargo run -p pr-facade --features full --example service`): an API on
//! 127.0.0.1:8080, `GET /quote/{symbol}` from a flaky dependency behind a resilience pipeline, a
//! cache and a dead-letter queue, served by `App` with pr-http's stack, the ops server on
//! 127.0.0.1:9464, JSON logs, graceful shutdown and reloads. Settings: the defaults (`config.rs`
//! and below), `service.toml` (or `APP_CONFIG_FILE`), `APP__<SECTION>__<KEY>` variables.

mod api;
mod config;
mod dependency;

use std::process::ExitCode;

use pr_facade::app::App;
use pr_facade::cache::MemoryCache;
use pr_facade::errors::{Report, ResultExt as _};
use pr_facade::resilience::dlq::Dlq;
use serde_json::json;

use crate::config::{Config, Settings};

/// The API and what it needs, each registered with the app (its metrics, health check and
/// `/status` section; the pipeline's breaker is, being named in the config).
fn start(app: &App<Config>) -> Result<axum::Router, Report> {
    let settings = app.config().app.clone();
    let pipeline = app.pipeline("quotes")?;
    let cache = MemoryCache::from_config(&settings.cache).context("the cache is invalid")?;
    let dead_letters =
        Dlq::open(settings.dlq.clone()).context("the dead-letter queue cannot be opened")?;
    app.register_dlq("quotes", &dead_letters)?;
    app.register(&cache)?;
    metrics::describe_counter!(
        "demo_dependency_calls_total",
        "Calls to the simulated dependency, by outcome."
    );
    Ok(api::router(api::Api {
        settings,
        pipeline,
        cache,
        dead_letters,
    }))
}

#[expect(
    clippy::print_stderr,
    reason = "the banner, and start-up errors before logging"
)]
#[tokio::main]
async fn main() -> ExitCode {
    let built = App::builder("pr-demo")
        .with_settings::<Settings>()
        .version(env!("CARGO_PKG_VERSION"))
        .config_file_from_env("APP_CONFIG_FILE", "service.toml")
        // Defaults: a log file, a shorter drain, the cache, queue and dependency, a rate limit.
        .set_default("logging.files", json!([{ "path": "data/logs/service.log",
            "rotation": { "max_size": "10MiB", "every": "daily" }, "retention": { "max_files": 5 } }]))
        .set_default("shutdown.drain_timeout", "10s")
        .set_default("cache", json!({ "name": "quotes", "record_stats": true, "time_to_live": "5s" }))
        .set_default("dlq.dir", "data/dlq")
        .set_default("dependency", json!({ "failure_rate": 0.2, "min_latency": "2ms", "max_latency": "40ms" }))
        .set_default("http.rate_limit", json!({ "enabled": true, "permits": 20, "burst": 40, "max_clients": 10_000 }))
        // The dependency's pipeline, tuned for one that answers in milliseconds.
        .set_default("resilience", json!({
            "retries": { "quotes": { "max_retries": 2, "base_delay": "10ms" } },
            "breakers": { "quotes": { "window_size": 50, "minimum_calls": 20, "wait_in_open": "5s" } },
            "pipelines": { "quotes": { "retry": "quotes", "breaker": "quotes",
                "total_timeout": "2s", "attempt_timeout": "500ms" } } }))
        // Bound with the ops listener, before the service goes ready: a busy port stops the start.
        .api(|config: &Config| (config.app.api.addr, config.app.api.limits.clone()))
        .build()
        .await;
    let started = built
        .context("the service could not start")
        .map_err(Report::from);
    let (app, router) = match started.and_then(|app| start(&app).map(|router| (app, router))) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            return ExitCode::from(2);
        }
    };
    let api = app.api_addr().unwrap_or(app.config().app.api.addr);
    eprintln!("pr demo service is running (Ctrl-C to stop)\n  curl -s http://{api}/quote/ACME");
    if let Some(ops) = app.ops_addr() {
        for path in ["health/ready", "metrics", "status", "info", "loggers"] {
            eprintln!("  curl -s http://{ops}/{path}");
        }
    }
    app.serve(router).await.into()
}
