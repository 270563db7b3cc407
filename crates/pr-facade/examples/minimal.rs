//! A production service in one file: a weather proxy configured from `weather.toml` (or the
//! file `APP_CONFIG_FILE` names) and `APP__*` variables; JSON logs, `/metrics`, health, `/status`;
//! a per-client rate limit; a cache before an upstream behind retries, a breaker and timeouts.
use std::{process::ExitCode, sync::Arc};

use axum::{Router, extract::Path, extract::State, routing::get};
use pr_facade::app::{ApiListener, App, ServiceConfig};
use pr_facade::cache::{MemoryCache, MemoryCacheConfig};
use pr_facade::http::{outbound::HttpClient, outbound::HttpClientConfig, problem::ApiError};
use pr_facade::resilience::{pipeline::Pipeline, retry::Transient};
use pr_facade::{config::validate_fields, errors::Report};

/// The service's own settings, beside the toolkit's `[logging]`, `[ops]`, `[http]`, ...
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
struct Settings {
    api: ApiListener,
    upstream: HttpClientConfig,
    cache: MemoryCacheConfig,
}
validate_fields!(Settings {
    api,
    upstream,
    cache
});

type Api = (HttpClient<Transient>, MemoryCache<u32, String>);

async fn forecast(State(api): State<Arc<Api>>, Path(city): Path<u32>) -> Result<String, ApiError> {
    let path = format!("/forecast/{city}");
    let text = |answer: &[u8]| String::from_utf8_lossy(answer).into_owned();
    let fetch = || async { api.0.get(&path).send().await.map(|r| text(r.body())) };
    Ok(api.1.try_get_or_insert_with(city, fetch).await?)
}

fn start(app: &App<ServiceConfig<Settings>>) -> Result<Router, Report> {
    let settings = &app.config().app;
    let client = HttpClient::builder("upstream")
        .config(settings.upstream.clone())
        .pipeline(Pipeline::standard("upstream").build()?)
        .build()?;
    let cache = MemoryCache::from_config(&settings.cache)?;
    app.register(&client)?;
    app.register(&cache)?;
    let routes = Router::new().route("/forecast/{city}", get(forecast));
    Ok(routes.with_state(Arc::new((client, cache))))
}

#[tokio::main]
async fn main() -> Result<ExitCode, Report> {
    let app = App::builder("weather")
        .with_settings::<Settings>()
        .config_file_from_env("APP_CONFIG_FILE", "weather.toml")
        .set_default("http.rate_limit.enabled", true)
        .api(|config: &ServiceConfig<Settings>| config.app.api.clone())
        .build()
        .await?;
    let router = start(&app)?;
    Ok(app.serve(router).await.into())
}
