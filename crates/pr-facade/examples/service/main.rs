//! The demo service: `cargo run --example service` from the repository root.
//!
//! On embedded defaults, with no external server:
//!
//! - an HTTP API on 127.0.0.1:8080: `GET /quote/{symbol}` calls a simulated flaky dependency
//!   through a resilience pipeline, caches the answers (bounded in entries and bytes) and keeps
//!   failed quotes in a dead-letter queue; pr-http's stack, which `App::serve` applies from the
//!   `http` section, gives it request ids, access logs, request metrics, limits, problem
//!   responses and a per-client rate limit (the client being the peer, or `X-Forwarded-For`
//!   from `http.rate_limit.trusted_proxies`);
//! - JSON logs to stdout and to a rotated file, `data/logs/service.log`;
//! - the ops server on 127.0.0.1:9464 (`/health/ready`, `/metrics`, `/loggers`, `/info`,
//!   `/status`);
//! - graceful shutdown on SIGTERM / Ctrl-C (exit 0 when drained in `shutdown.drain_timeout`, 1
//!   when not or when the API server failed, 2 for a bad setting); SIGHUP reloads the config.
//!
//! Settings come from, lowest first: the defaults in `config.rs`, `service.toml` in the working
//! directory (or the file `APP_CONFIG_FILE` names), and `APP__<SECTION>__<KEY>` environment
//! variables. `docs/deploy/README.md` lists them.

mod api;
mod config;
mod dependency;

use std::process::ExitCode;
use std::sync::Arc;

use pr_facade::app::App;
use pr_facade::cache::MemoryCache;
use pr_facade::errors::CodedError;
use pr_facade::http::problem::ApiError;
use pr_facade::resilience::dlq::Dlq;

use crate::api::Api;
use crate::config::Config;

/// Everything the API needs, registered with the app (health checks, `/status` sections).
fn start(app: &App<Config>, config: &Config) -> Result<axum::Router, (&'static str, ApiError)> {
    let pipeline =
        dependency::pipeline().map_err(|e| ("the resilience pipeline is invalid", e.into()))?;
    let cache = MemoryCache::builder()
        .name("quotes")
        .max_entries(config.cache.max_entries)
        .max_bytes(config.cache.max_size.as_u64())
        .time_to_live(config.cache.ttl.as_std())
        .record_stats()
        .build()
        .map_err(|e| ("the cache is invalid", e.into()))?;
    let dead_letters = Dlq::open(config.dlq.clone())
        .map_err(|e| ("the dead-letter queue cannot be opened", e.into()))?;
    // Each shows itself in `/status`; the queue and the breaker have health checks, the cache
    // publishes its metrics.
    let registered = |e: pr_facade::app::Error| ("a component could not be registered", e.into());
    app.register_dlq("quotes", &dead_letters)
        .map_err(registered)?;
    app.register_cache(&cache).map_err(registered)?;
    if let Some(breaker) = pipeline.breaker() {
        app.register_breaker(breaker).map_err(registered)?;
    }
    metrics::describe_counter!(
        "demo_dependency_calls_total",
        "Calls to the simulated dependency, by outcome."
    );
    let api = Arc::new(Api {
        dependency: dependency::Dependency(config.dependency.clone()),
        pipeline,
        cache,
        dead_letters,
        max_delay: config.api.max_delay.as_std(),
        max_symbol_len: config.api.max_symbol_len,
        test_knobs: config.dependency.test_knobs,
    });
    // `App::serve` puts pr-http's stack from the `http` section around it.
    Ok(api::router(api))
}

#[expect(clippy::print_stderr, reason = "logging is not up when setup fails")]
fn fail(what: &str, error: &(dyn CodedError + 'static)) -> ExitCode {
    eprintln!(
        "error [{}]: {what}: {}",
        error.code(),
        pr_facade::errors::chain(error)
    );
    ExitCode::from(2)
}

#[expect(clippy::print_stderr, reason = "the demo tells its user where to look")]
#[tokio::main]
async fn main() -> ExitCode {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut builder = App::builder("pr-demo")
        .with_config::<Config>()
        .version(env!("CARGO_PKG_VERSION"))
        .build_info("profile", profile)
        .build_info("target", std::env::consts::ARCH)
        // The API listener is bound with the ops one, before the service goes ready; a busy port
        // stops the start (exit 2, on stderr).
        .api(|config: &Config| (config.api.addr, config.api.limits.clone()));
    builder = match std::env::var_os("APP_CONFIG_FILE") {
        Some(file) => builder.config_file(file),
        None => builder.optional_config_file("service.toml"),
    };
    let app = match builder.build().await {
        Ok(app) => app,
        Err(e) => return fail("the service could not start", &e),
    };
    let config = app.config();
    let router = match start(&app, &config) {
        Ok(router) => router,
        Err((what, e)) => return fail(what, e.get()),
    };
    let api = app.api_addr().unwrap_or(config.api.addr);
    eprintln!("pr demo service is running (Ctrl-C to stop)\n  curl -s http://{api}/quote/ACME");
    if let Some(ops) = app.ops_addr() {
        for path in ["health/ready", "metrics", "status", "info", "loggers"] {
            eprintln!("  curl -s http://{ops}/{path}");
        }
    }
    app.serve(router).await.into()
}
