//! [`App`]: one builder that wires configuration → logging → metrics →
//! resources → health → ops server → signals → graceful shutdown.
//!
//! [`App::builder`] loads the application's configuration type (an
//! [`AppConfig`], which holds the toolkit's [`ServiceConfig`] sections)
//! through pr-config and validates it before anything starts; then it
//! installs logging and the metrics recorder, starts the resource sampler
//! and the health registry's refresher, and serves the ops router on
//! `ops.addr` (127.0.0.1:9464 by default):
//!
//! | path | what |
//! |---|---|
//! | `/health`, `/health/live`, `/health/ready`, `/health/startup`, `/livez`, `/readyz` | pr-health's probes |
//! | `/metrics` | pr-metrics' exposition (Prometheus or `OpenMetrics`) |
//! | `/loggers` | pr-logging's levels; `POST` needs `ops.token` |
//! | `/info` | name, version, toolkit version, build metadata, start time, pid |
//! | `/status` | one JSON document: service phase and in-flight work, health results, resource snapshot, config generation, logging counters, and each [`StatusBoard`] section (breakers, limiters, caches, dead-letter queues) |
//!
//! The service's own API can be served by the app too: [`AppBuilder::api`]
//! binds it with the ops listener, before anything else starts, and
//! [`App::serve`] serves the service's router on it. Both listeners defend
//! themselves the same way ([`HttpLimits`]: a connection cap fitted to the
//! open-files limit, which the app raises to its hard limit at start,
//! header-read and idle timeouts, head and HTTP/2 limits, accept errors
//! survived with a back-off); the ops server's cap is taken first, so a
//! flooded API never starves the probes.
//!
//! Besides the service's own checks, the registry holds the app's:
//! `resources` (pr-resources' thresholds), `config` (the last reload) and
//! `logging` (Degraded while an output fails to write or drops lines, one
//! line per such output in its message).
//!
//! [`App::run`] waits until every registered health check has run once
//! (each bounded by its own timeout), then marks the service ready, logs
//! `app.ready` and runs its work: ready means checked, so `/health/ready`
//! answers from real results, never `UNKNOWN`, from the moment the log says
//! ready (a check that failed its first run makes it 503 `DOWN`). A check
//! added later, while the service runs, is run at once. On SIGTERM or
//! SIGINT, readiness goes false at once, and the service keeps serving for
//! `shutdown.readiness_delay` (5 s), the time a load balancer takes to stop
//! routing to it; then [`Drain`] refuses new work (the API listener stops
//! accepting) and in-flight work gets `shutdown.drain_timeout` to finish; then the ops
//! server stops and logs are flushed. The [`Exit`] says whether the drain
//! finished in time; a second signal ends the run at once. SIGHUP reloads
//! the configuration (pr-config's reload, logged as `app.reloaded` or
//! `app.reload_failed`; a bad file keeps the previous configuration) and
//! the service keeps serving: the new one is what [`App::config`] returns
//! and [`ConfigHandle::subscribe`] announces; `logging.filter` is applied at
//! once, while what was set up at start (addresses, limits, log outputs, the
//! HTTP stack) keeps its values until a restart: each such changed key is
//! named in `app.reloaded` and under `/status` → `config` →
//! `restart_required`. Every wait is on
//! tokio's clock, so tests drive it with paused time.
//!
//! With the globals ([`AppBuilder::install_globals`], the default), the app
//! also installs a panic hook: a panic in any thread is an error-level
//! `app.panic` event (thread, location, message) and counts in
//! `pr_app_panics_total`, before Rust's own report on stderr.

mod components;
mod config;
mod console;
mod drain;
mod error;
mod ops;
mod panic;
mod reload;
mod server;
mod status;

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use pr_config::{ConfigHandle, ConfigLoader, ReloadCheck, SecretFilePolicy};
use pr_health::HealthRegistry;
use pr_logging::LoggingGuard;
use pr_metrics::Registry;
use pr_resources::{ResourcesCheck, Sampler, SamplerTask};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use components::Component;
pub use config::{AppConfig, OpsConfig, Sections, ServiceConfig, ShutdownConfig};
pub use drain::{Drain, WorkGuard};
pub use error::Error;

/// The stable codes of [`Error`] (`app.<reason>`), each with its HTTP status
/// and retry class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use super::error::{
        BIND_FAILED, CODES, DRAINING, DUPLICATE_SECTION, HEALTH_FAILED, HTTP_FAILED,
        INVALID_CONFIG, LOGGING_FAILED, METRICS_FAILED, RESILIENCE_FAILED, RESOURCES_FAILED,
        SIGNAL_FAILED, TLS_FAILED,
    };
}
pub use server::{ACCEPT_ERROR_LOG_INTERVAL, ApiListener, HttpLimits, RESERVED_FDS};
pub use status::{RESERVED_SECTIONS, StatusBoard};

/// A service wired for production; see the [module docs](self).
///
/// # Examples
///
/// ```
/// use pr_facade::app::{App, Exit};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pr_facade::app::Error> {
/// let app = App::builder("checkout")
///     .version("1.2.3")
///     .env_vars([("APP__OPS__ADDR", "127.0.0.1:0"), ("APP__LOGGING__CONSOLE__ENABLED", "false")])
///     .install_globals(false) // a test: no global subscriber or recorder
///     .build()
///     .await?;
/// let ops = app.ops_addr().expect("the ops server is on");
/// let drain = app.drain();
/// // The work: the service's servers, which stop accepting on
/// // `drain.draining()`; here one unit of work, then done.
/// let exit = app
///     .run(async move {
///         let _in_flight = drain.try_start();
///     })
///     .await;
/// # let _ = ops;
/// assert_eq!(exit, Exit::Finished);
/// # Ok(())
/// # }
/// ```
pub struct App<C = ServiceConfig> {
    name: String,
    config: ConfigHandle<C>,
    health: HealthRegistry,
    metrics: Registry,
    sampler: Sampler,
    board: StatusBoard,
    drain: Drain,
    logging: Arc<LoggingGuard>,
    dispatch: Option<tracing::Dispatch>,
    state: ops::Ops,
    signals: Signals,
    ops: Option<OpsServer>,
    api: Option<server::Listener>,
    #[cfg(feature = "http")]
    http: Option<pr_http::HttpLayers>,
    #[cfg(feature = "resilience")]
    policies: Option<pr_resilience::policies::Policies>,
    #[cfg(feature = "telemetry")]
    telemetry: Option<Arc<pr_telemetry::Telemetry>>,
    _sampler_task: SamplerTask,
    _refresher: pr_health::Refresher,
    _reloader: Option<AbortOnDrop>,
}

/// The least time the exporter gets to send the last spans at shutdown,
/// even when the drain used its whole deadline.
#[cfg(feature = "telemetry")]
const TELEMETRY_FLUSH_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);

/// A task aborted when this is dropped (with the [`App`]).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<C> std::fmt::Debug for App<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("ops_addr", &self.ops.as_ref().map(|o| o.addr))
            .field("phase", &self.health.lifecycle().phase())
            .finish_non_exhaustive()
    }
}

struct OpsServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

enum Signals {
    Os {
        term: tokio::signal::unix::Signal,
        int: tokio::signal::unix::Signal,
    },
    Channel(mpsc::Receiver<()>),
}

impl Signals {
    async fn recv(&mut self) {
        match self {
            Self::Os { term, int } => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            Self::Channel(rx) => {
                if rx.recv().await.is_none() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// How [`App::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Exit {
    /// The work ended by itself, without a signal.
    Finished,
    /// A signal came and the in-flight work finished within the deadline.
    Drained,
    /// A signal came and the in-flight work was still running at the
    /// deadline.
    DeadlineExceeded,
    /// A second signal came during the drain.
    Interrupted,
}

impl Exit {
    /// The process exit code: 0 when the work finished or drained in time,
    /// 1 past the deadline, 130 on a second signal.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Finished | Self::Drained => 0,
            Self::DeadlineExceeded => 1,
            Self::Interrupted => 130,
        }
    }

    /// Its name in logs: `finished`, `drained`, `deadline_exceeded`, `interrupted`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Drained => "drained",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::Interrupted => "interrupted",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit.code())
    }
}

impl App<ServiceConfig> {
    /// A builder for the service `name`, with the toolkit's configuration
    /// only; [`AppBuilder::with_config`] picks the application's own type.
    pub fn builder(name: impl Into<String>) -> AppBuilder<ServiceConfig> {
        AppBuilder {
            name: name.into(),
            version: String::from("0.0.0"),
            build: BTreeMap::new(),
            files: Vec::new(),
            env_prefix: String::from("APP"),
            defaults: Vec::new(),
            strict: false,
            env_vars: None,
            overrides: Vec::new(),
            install_globals: true,
            signals: None,
            secret_file_policy: SecretFilePolicy::Reject,
            api: None,
            logging_layers: Vec::new(),
            #[cfg(feature = "watch")]
            watch: None,
            _config: PhantomData,
        }
    }
}

/// A configuration file the builder reads.
#[derive(Debug)]
enum ConfigFile {
    /// This file; whether it must exist.
    Path(PathBuf, bool),
    /// The file an environment variable names (which must exist), else
    /// this one when it exists.
    FromEnv(String, PathBuf),
}

/// A layer beside the app's logging ([`AppBuilder::logging_layer`]).
type LoggingLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

/// Picks the API's address, limits and TLS out of the loaded configuration.
type ApiSelector<C> = Arc<dyn Fn(&C) -> ApiListener + Send + Sync>;

/// Builds an [`App`]; see [`App::builder`].
#[must_use = "a builder does nothing until built"]
pub struct AppBuilder<C> {
    name: String,
    version: String,
    build: BTreeMap<String, String>,
    files: Vec<ConfigFile>,
    env_prefix: String,
    env_vars: Option<Vec<(String, String)>>,
    defaults: Vec<(String, serde_json::Value)>,
    overrides: Vec<(String, serde_json::Value)>,
    strict: bool,
    install_globals: bool,
    signals: Option<mpsc::Receiver<()>>,
    secret_file_policy: SecretFilePolicy,
    api: Option<ApiSelector<C>>,
    logging_layers: Vec<LoggingLayer>,
    #[cfg(feature = "watch")]
    watch: Option<pr_config::WatchMode>,
    _config: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for AppBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("files", &self.files)
            .field("env_prefix", &self.env_prefix)
            .finish_non_exhaustive()
    }
}

impl<C: AppConfig> AppBuilder<C> {
    /// Loads `D`, the application's own configuration type, instead. Call
    /// it before [`api`](Self::api), which reads that type.
    pub fn with_config<D: AppConfig>(self) -> AppBuilder<D> {
        AppBuilder {
            name: self.name,
            version: self.version,
            build: self.build,
            files: self.files,
            env_prefix: self.env_prefix,
            env_vars: self.env_vars,
            defaults: self.defaults,
            overrides: self.overrides,
            strict: self.strict,
            install_globals: self.install_globals,
            signals: self.signals,
            secret_file_policy: self.secret_file_policy,
            api: None,
            logging_layers: self.logging_layers,
            #[cfg(feature = "watch")]
            watch: self.watch,
            _config: PhantomData,
        }
    }

    /// Loads a [`ServiceConfig<T>`]: the toolkit's sections and the
    /// service's own settings `T`, side by side at the top level.
    pub fn with_settings<T>(self) -> AppBuilder<ServiceConfig<T>>
    where
        ServiceConfig<T>: AppConfig,
    {
        self.with_config()
    }

    /// Has the app run the service's API too: `select` picks its address
    /// and [`HttpLimits`] out of the loaded configuration, [`build`](Self::build)
    /// binds it (so a busy port stops the start before the service goes
    /// ready, reported like any other start-up error), and
    /// [`App::serve`] serves the service's router on it with the same
    /// defences as the ops server: a connection cap (unset: 1,024, lowered to
    /// fit the open-files limit), header-read and idle timeouts, head limits,
    /// HTTP/2 limits, survived accept errors, and draining that closes idle
    /// connections at once and counts requests only once they reach the
    /// router.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), pr_facade::app::Error> {
    /// use pr_facade::app::{App, HttpLimits};
    /// let app = App::builder("checkout")
    ///     .api(|_config| (([127, 0, 0, 1], 8080).into(), HttpLimits::default()))
    ///     .build()
    ///     .await?;
    /// let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// std::process::exit(app.serve(router).await.code().into());
    /// # }
    /// ```
    ///
    /// `select` returns an [`ApiListener`], or an `(address, limits)` pair
    /// for plain HTTP; with the `tls` feature,
    /// [`ApiListener::with_tls`] serves HTTPS only, its certificate files
    /// reloaded when they change. A reload calls `select` on the new
    /// configuration: a setting that differs from the bound listener's
    /// (`api.addr`, `api.limits.idle_timeout`, ...) is reported as needing
    /// a restart.
    pub fn api<L: Into<ApiListener>>(
        mut self,
        select: impl Fn(&C) -> L + Send + Sync + 'static,
    ) -> Self {
        self.api = Some(Arc::new(move |config: &C| select(config).into()));
        self
    }

    /// Adds a layer beside the app's logging in the subscriber it
    /// installs: an OpenTelemetry layer (`tracing-opentelemetry`),
    /// tokio-console's, or your own. Each layer keeps its own filter; the
    /// `logging` section's levels decide only what pr-logging writes
    /// ([`LoggingBuilder::with_layer`](pr_logging::LoggingBuilder::with_layer)).
    pub fn logging_layer<L>(mut self, layer: L) -> Self
    where
        L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
    {
        self.logging_layers.push(Box::new(layer));
        self
    }

    /// The service's version, shown by `/info` (pass
    /// `env!("CARGO_PKG_VERSION")`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// A build metadata entry shown by `/info` (`git_commit`, `built_at`, ...).
    pub fn build_info(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.build.insert(key.into(), value.into());
        self
    }

    /// A configuration file that must exist (TOML, JSON or YAML by extension).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(ConfigFile::Path(path.into(), true));
        self
    }

    /// A configuration file read when it exists.
    pub fn optional_config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(ConfigFile::Path(path.into(), false));
        self
    }

    /// The configuration file the environment variable `var` names (then it
    /// must exist), else `default` when it exists: the usual
    /// `APP_CONFIG_FILE=/etc/svc/service.toml`, with `service.toml` in the
    /// working directory for development. Read from
    /// [`env_vars`](Self::env_vars) when given, at [`build`](Self::build).
    pub fn config_file_from_env(
        mut self,
        var: impl Into<String>,
        default: impl Into<PathBuf>,
    ) -> Self {
        self.files
            .push(ConfigFile::FromEnv(var.into(), default.into()));
        self
    }

    /// Watches the configuration files (feature `watch`; pr-config's
    /// watcher: the directories, so that atomic renames and a Kubernetes
    /// `ConfigMap` update are seen) and reloads after `mode`'s debounce, as
    /// SIGHUP does: each new configuration is applied the same way (the
    /// log filter, breakers' thresholds; what needs a restart listed). Off
    /// by default.
    #[cfg(feature = "watch")]
    pub fn watch_config(mut self, mode: pr_config::WatchMode) -> Self {
        self.watch = Some(mode);
        self
    }

    /// Strict mode: an unknown key (a typo, `[upstrem]`) stops the start,
    /// as any other configuration problem, instead of a warning logged
    /// once logging is up.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Changes the default of `key` (a dotted path) for this service: the
    /// lowest source, which every file and variable still overrides (a log
    /// file, a shorter drain deadline, a rate limit on by default). A value
    /// that does not serialize is ignored.
    pub fn set_default(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            self.defaults.push((key.into(), value));
        }
        self
    }

    /// The prefix of environment variables (`APP` by default:
    /// `APP__OPS__ADDR`, `APP__OPS__TOKEN_FILE`, `APP_PROFILE`).
    pub fn env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.env_prefix = prefix.into();
        self
    }

    /// Reads these variables instead of the process's environment (tests).
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env_vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Sets `key` (a dotted path) above every other source, as a
    /// command-line flag would. A value that does not serialize is ignored.
    pub fn set(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            self.overrides.push((key.into(), value));
        }
        self
    }

    /// Whether [`build`](Self::build) installs the global `tracing`
    /// subscriber and `metrics` recorder (the default). Tests that build
    /// several apps in one process turn it off.
    pub fn install_globals(mut self, install: bool) -> Self {
        self.install_globals = install;
        self
    }

    /// What to do with a secret file (`<PREFIX>__<KEY>_FILE`) that is a
    /// symbolic link or that its group can read: refuse it (the default),
    /// or use it with a warning. A Kubernetes secret volume is both (a
    /// `..data` link, mode 0440 for a non-root user); copying the file to a
    /// private 0600 file first, as `docs/deploy/k8s/deployment.yaml` does,
    /// keeps the default.
    pub fn secret_file_policy(mut self, policy: SecretFilePolicy) -> Self {
        self.secret_file_policy = policy;
        self
    }

    /// Takes shutdown signals from this channel instead of SIGTERM and
    /// SIGINT: each message is one signal (tests). SIGHUP is then left
    /// alone too (no reload on it).
    pub fn signals(mut self, signals: mpsc::Receiver<()>) -> Self {
        self.signals = Some(signals);
        self
    }

    /// Loads and validates the configuration, then sets everything up and
    /// starts the ops server. The lifecycle is `starting` until
    /// [`App::run`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] (every problem, with its source) before
    /// anything starts; then [`Error::Logging`], [`Error::Metrics`],
    /// [`Error::Resources`], [`Error::Health`], [`Error::Signal`] or
    /// [`Error::Bind`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn build(mut self) -> Result<App<C>, Error> {
        let mut loader = ConfigLoader::<C>::builder()
            .env_prefix(self.env_prefix.as_str())
            .secret_file_policy(self.secret_file_policy)
            .strict(self.strict);
        // The files read, for the environment check's permission findings.
        let mut files_read: Vec<PathBuf> = Vec::new();
        for file in &self.files {
            let (path, required) = match file {
                ConfigFile::Path(path, required) => (path.clone(), *required),
                ConfigFile::FromEnv(var, default) => {
                    let named = match &self.env_vars {
                        Some(vars) => vars.iter().find(|(k, _)| k == var).map(|(_, v)| v.into()),
                        None => std::env::var_os(var),
                    };
                    named.map_or_else(|| (default.clone(), false), |path| (path.into(), true))
                }
            };
            if path.exists() {
                files_read.push(path.clone());
            }
            loader = if required {
                loader.file(path)
            } else {
                loader.optional_file(path)
            };
        }
        if let Some(vars) = &self.env_vars {
            loader = loader.env_vars(vars.clone());
        }
        for (key, value) in &self.defaults {
            loader = loader.set_default(key, value);
        }
        for (key, value) in &self.overrides {
            loader = loader.set(key, value);
        }
        // Loaded before logging is up: the loader's own warnings would go
        // nowhere (or to a subscriber the service did not choose), so they
        // are kept and logged once logging is installed.
        let loaded =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::new(), || {
                ConfigHandle::new(loader.build())
            });
        let handle = loaded.map_err(|source| Error::InvalidConfig {
            service: self.name.clone(),
            source,
        })?;
        let config = handle.current();
        let service = config.sections();
        #[cfg(feature = "security")]
        let security = check_environment(&self.name, config.security(), &files_read)?;
        #[cfg(not(feature = "security"))]
        let _ = files_read;

        // The listeners next, before anything starts: a busy port stops the
        // start before logging opens a file or anything is announced.
        let ops_socket = if service.ops.enabled {
            Some(server::Bound::bind("ops", service.ops.addr).await?)
        } else {
            None
        };
        let api_socket = match &self.api {
            Some(select) => {
                let api = select(&config);
                Some((server::Bound::bind("api", api.addr).await?, api))
            }
            None => None,
        };
        // As bound, for a reload to tell a changed listener setting.
        let bound_api = api_socket
            .as_ref()
            .map(|(_, api)| serde_json::to_value(api).unwrap_or_default());
        // Then the certificates, so that an unreadable one stops the start too.
        #[cfg(feature = "tls")]
        let (ops_tls, api_tls) = (
            server::load_tls("ops", service.ops.tls.as_ref())?,
            match &api_socket {
                Some((_, api)) => server::load_tls("api", api.tls.as_ref())?,
                None => None,
            },
        );
        #[cfg(not(feature = "tls"))]
        let (ops_tls, api_tls) = (None, None);

        // Telemetry before the recorder, whose exemplars name its traces,
        // and before logging, whose subscriber carries its layer (so log
        // lines carry the spans' OpenTelemetry ids).
        #[cfg(feature = "telemetry")]
        let telemetry = config
            .telemetry()
            .map(|section| {
                let builder = pr_telemetry::Telemetry::builder(section)
                    .service(self.name.clone(), self.version.clone());
                match &self.env_vars {
                    Some(vars) => builder.env_vars(vars.iter().cloned()),
                    None => builder,
                }
                .build()
                .map(Arc::new)
            })
            .transpose()
            .map_err(Error::Telemetry)?;
        // The recorder next, so that logging's and every later component's
        // handles register with it.
        let mut metrics_config = service.metrics.clone();
        metrics_config
            .global_labels
            .entry("service".to_owned())
            .or_insert_with(|| self.name.clone());
        let metrics = Registry::builder().config(metrics_config);
        // Exemplars on histograms and counters name the current span's
        // trace, when it is sampled (exported, so the link leads somewhere).
        #[cfg(feature = "telemetry")]
        let metrics = match telemetry.as_ref().filter(|t| t.is_exporting()) {
            Some(_) => metrics.exemplars(|| {
                pr_telemetry::propagation::span_ids(&tracing::Span::current())
                    .filter(|ids| ids.flags & 1 == 1)
                    .map(|ids| pr_metrics::TraceIds::new(ids.trace_id, ids.span_id))
            }),
            None => metrics,
        };
        let metrics = metrics.build().map_err(Error::Metrics)?;
        if self.install_globals {
            metrics.install().map_err(Error::Metrics)?;
        }
        // The API's stack after the recorder, whose help texts its metrics
        // describe when built.
        #[cfg(feature = "http")]
        let http = config
            .http()
            .filter(|http| http.enabled)
            .map(pr_http::layers)
            .transpose()
            .map_err(Error::Http)?;
        // The named policies too, whose metrics the recorder describes.
        #[cfg(feature = "resilience")]
        let policies = config
            .resilience()
            .map(pr_resilience::policies::Policies::from_config)
            .transpose()
            .map_err(Error::Resilience)?;

        #[cfg(feature = "telemetry")]
        if let Some(layer) = telemetry.as_ref().and_then(|t| t.layer()) {
            self.logging_layers.push(Box::new(layer));
        }
        let logging_builder = std::mem::take(&mut self.logging_layers)
            .into_iter()
            .fold(pr_logging::Logging::builder(service.logging), |b, layer| {
                b.with_layer(layer)
            });
        let (logging, dispatch) = if self.install_globals {
            let guard = logging_builder
                .rust_log_from_env()
                .init()
                .map_err(Error::Logging)?;
            (guard, None)
        } else {
            let (dispatch, guard) = logging_builder.build().map_err(Error::Logging)?;
            (guard, Some(dispatch))
        };
        let logging = Arc::new(logging);
        // With the subscriber and the recorder it reports to.
        if self.install_globals {
            panic::install();
        }

        // Connections are capped to fit the open-files limit, which a
        // process that owns the globals first raises to its hard limit.
        if self.install_globals {
            let limits = pr_resources::ProcessLimits::default()
                .open_files(pr_resources::OpenFiles::RaiseToHard)
                .core_dumps(pr_resources::CoreDumps::Keep);
            if let Err(e) = limits.apply() {
                tracing::warn!(event = "app.limits_not_raised", error = %pr_errors::chain(&e), "the open-files limit could not be raised");
            }
        }
        let budget = server::FdBudget::new(pr_resources::Limit::open_files().soft);
        let (ops_listener, api) = {
            // The caps' warnings go to this app's logs.
            let _scope = dispatch.as_ref().map(tracing::dispatcher::set_default);
            (
                ops_socket.map(|socket| {
                    socket.limit(
                        &service.ops.limits,
                        server::OPS_MAX_CONNECTIONS,
                        &budget,
                        ops_tls,
                    )
                }),
                api_socket.map(|(socket, api)| {
                    socket.limit(&api.limits, server::API_MAX_CONNECTIONS, &budget, api_tls)
                }),
            )
        };

        let sampler = Sampler::new(service.resources.clone()).map_err(Error::Resources)?;
        let sampler_task = sampler.spawn();

        let health = HealthRegistry::new(service.health.clone()).map_err(Error::Health)?;
        health
            .add(ResourcesCheck::new(&sampler))
            .map_err(Error::Health)?;
        health
            .add(ReloadCheck::new(handle.clone()))
            .map_err(Error::Health)?;
        health
            .add(logging_check(logging.health_probe()))
            .map_err(Error::Health)?;
        let refresher = health.spawn_refresher();

        let restart_required = reload::RestartRequired::default();
        #[cfg(feature = "watch")]
        let watcher = self
            .watch
            .map(|mode| handle.watch(mode))
            .transpose()
            .map_err(|source| Error::InvalidConfig {
                service: self.name.clone(),
                source,
            })?;
        #[cfg(not(feature = "watch"))]
        let watcher = None;
        let (signals, reloader) = match self.signals {
            Some(rx) => (Signals::Channel(rx), None),
            None => {
                use tokio::signal::unix::{SignalKind, signal};
                let signals = Signals::Os {
                    term: signal(SignalKind::terminate()).map_err(Error::Signal)?,
                    int: signal(SignalKind::interrupt()).map_err(Error::Signal)?,
                };
                (
                    signals,
                    Some(reload::spawn(
                        handle.clone(),
                        logging.levels(),
                        Arc::clone(&restart_required),
                        reload::Live {
                            api: self.api.clone().zip(bound_api),
                            #[cfg(feature = "resilience")]
                            policies: policies.clone(),
                            health: Some(health.clone()),
                            sampler: Some(sampler.clone()),
                        },
                        watcher,
                        dispatch.clone(),
                    )?),
                )
            }
        };

        let board = StatusBoard::new();
        let drain = Drain::new();
        let status_handle = handle.clone();
        let state = ops::Ops {
            info: Arc::new(ops::Info::new(
                self.name.clone(),
                self.version.clone(),
                self.build.clone(),
            )),
            started: Instant::now(),
            health: health.clone(),
            sampler: sampler.clone(),
            board: board.clone(),
            drain: drain.clone(),
            logging: Arc::clone(&logging),
            config: Arc::new(move || {
                let s = status_handle.status();
                let restart = pr_core::sync::lock(&restart_required).clone();
                json!({
                    "generation": s.generation,
                    "failures": s.failures,
                    "last_error": s.last_error,
                    "restart_required": restart,
                })
            }),
        };
        let ops = ops_listener.map(|listener| {
            let addr = listener.addr();
            let router = ops::router(state.clone(), metrics.clone(), service.ops);
            let (stop, stopped) = oneshot::channel::<()>();
            let served = listener.serve(router, None, async move {
                let _ = stopped.await;
            });
            let task = match &dispatch {
                Some(dispatch) => {
                    use tracing::instrument::WithSubscriber as _;
                    tokio::spawn(served.with_subscriber(dispatch.clone()))
                }
                None => tokio::spawn(served),
            };
            OpsServer { addr, stop, task }
        });

        let app = App {
            name: self.name,
            config: handle,
            health,
            metrics,
            sampler,
            board,
            drain,
            logging,
            dispatch,
            state,
            signals,
            ops,
            api,
            #[cfg(feature = "http")]
            http,
            #[cfg(feature = "resilience")]
            policies,
            #[cfg(feature = "telemetry")]
            telemetry,
            _sampler_task: sampler_task,
            _refresher: refresher,
            _reloader: reloader,
        };
        // Each named breaker shows itself: health check and `/status`.
        #[cfg(feature = "resilience")]
        if let Some(policies) = &app.policies {
            for (_, breaker) in policies.breakers() {
                app.register(breaker)?;
            }
        }
        // So does the API's per-client limiter.
        #[cfg(all(feature = "http", feature = "resilience"))]
        if let Some(limiter) = app
            .http
            .as_ref()
            .and_then(pr_http::HttpLayers::rate_limiter)
        {
            app.register(limiter)?;
        }
        // The exporter's counts, when spans are exported.
        #[cfg(feature = "telemetry")]
        if let Some(telemetry) = app.telemetry.clone().filter(|t| t.is_exporting()) {
            app.status_board().add("telemetry", move || {
                serde_json::to_value(telemetry.snapshot()).unwrap_or_default()
            })?;
        }
        #[cfg(feature = "security")]
        if let Some(report) = security {
            for finding in &report.findings {
                let (code, severity) = (finding.code, finding.severity.as_str());
                app.in_scope(|| {
                    tracing::warn!(
                        event = "app.security_finding",
                        code,
                        severity,
                        "{}",
                        finding.message
                    );
                });
            }
            app.status_board().add("security", move || {
                serde_json::to_value(&report).unwrap_or_default()
            })?;
        }
        app.in_scope(|| {
            // Under the loader's own event names.
            for w in app.config.warnings() {
                let (key, source, message) = (&w.key, &w.source, &w.message);
                if w.event == "config.insecure_secret_file" {
                    tracing::warn!(event = "config.insecure_secret_file", key = %key, source = %source, "{message}");
                } else {
                    tracing::warn!(event = "config.unknown_key", key = %key, source = %source, "{message}");
                }
            }
            tracing::info!(
                event = "app.started",
                service = %app.name,
                version = %self.version,
                ops_addr = %app.ops_addr().map_or_else(|| "disabled".to_owned(), |a| a.to_string()),
                api_addr = %app.api_addr().map_or_else(|| "none".to_owned(), |a| a.to_string()),
                "service started"
            );
        });
        Ok(app)
    }
}

/// Runs the environment check when the configuration has a `security`
/// section: `Some(report)` to log and show, or the refusal when a finding
/// is at or above `security.fail_on`.
#[cfg(feature = "security")]
fn check_environment(
    service: &str,
    security: Option<&pr_security::SecurityConfig>,
    files: &[PathBuf],
) -> Result<Option<pr_security::SecurityReport>, Error> {
    let Some(security) = security else {
        return Ok(None);
    };
    let check = files.iter().fold(
        pr_security::environment::EnvironmentCheck::new(),
        pr_security::environment::EnvironmentCheck::config_file,
    );
    let report = check.run();
    match security.fail_on {
        Some(fail_on) if !report.passes(fail_on) => Err(Error::InsecureEnvironment {
            service: service.to_owned(),
            fail_on,
            report,
        }),
        _ => Ok(Some(report)),
    }
}

/// The `logging` health check: Degraded while an output had write errors or
/// dropped lines since the previous run, or its last write failed, with
/// one line per such output; Up otherwise. The check owns its probe (a
/// probe's "since the previous check" belongs to one reader). Not critical:
/// a service whose logs are failing still serves.
fn logging_check(probe: pr_logging::HealthProbe) -> impl pr_health::Check {
    let probe = Arc::new(probe);
    pr_health::check_fn("logging", move || {
        let outcome = logging_outcome(&probe.check());
        async move { outcome }
    })
    .critical(false)
}

/// The outcome of a logging health report.
fn logging_outcome(report: &pr_logging::LoggingHealth) -> pr_health::Outcome {
    let degraded: Vec<String> = report
        .degraded()
        .map(|o| {
            let mut parts = Vec::new();
            if o.new_write_errors > 0 {
                parts.push(format!("{} write errors", o.new_write_errors));
            }
            if o.new_dropped > 0 {
                parts.push(format!("{} lines dropped", o.new_dropped));
            }
            if o.failing {
                parts.push("last write failed".to_owned());
            }
            format!("output `{}`: {}", o.name, parts.join(", "))
        })
        .collect();
    if degraded.is_empty() {
        pr_health::Outcome::up().with_message(format!("{} outputs writing", report.outputs.len()))
    } else {
        pr_health::Outcome::degraded(degraded.join("; "))
    }
}

impl<C: AppConfig> App<C> {
    /// The pipeline named `name` in the `resilience` section (feature
    /// `resilience`; [`AppConfig::resilience`]): built once at start, so
    /// every caller shares its breaker and bulkhead, which are registered
    /// (health check, `/status`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownPipeline`], naming the pipelines defined, when none
    /// has that name.
    #[cfg(feature = "resilience")]
    pub fn pipeline(
        &self,
        name: &str,
    ) -> Result<pr_resilience::pipeline::Pipeline<pr_resilience::retry::Transient>, Error> {
        let policies = self.policies.as_ref();
        policies
            .and_then(|policies| policies.pipeline(name))
            .ok_or_else(|| {
                let known: Vec<&str> = policies
                    .map(|p| p.pipeline_names().collect())
                    .unwrap_or_default();
                Error::UnknownPipeline {
                    name: name.to_owned(),
                    known: if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    },
                }
            })
    }

    /// The service's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration in use (the last good one after reloads).
    #[must_use]
    pub fn config(&self) -> Arc<C> {
        self.config.current()
    }

    /// The configuration handle: `reload()`, `subscribe()`, `status()`,
    /// `watch()`, `explain()`.
    #[must_use]
    pub fn config_handle(&self) -> &ConfigHandle<C> {
        &self.config
    }

    /// The health registry: add the service's own checks here.
    #[must_use]
    pub fn health(&self) -> &HealthRegistry {
        &self.health
    }

    /// The metrics registry behind `/metrics` (also the global recorder).
    #[must_use]
    pub fn metrics(&self) -> &Registry {
        &self.metrics
    }

    /// The resource sampler.
    #[must_use]
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// The `/status` sections components contribute.
    #[must_use]
    pub fn status_board(&self) -> &StatusBoard {
        &self.board
    }

    /// The `/status` document as it is now.
    #[must_use]
    pub fn status(&self) -> serde_json::Value {
        serde_json::Value::Object(ops::document(&self.state))
    }

    /// The shutdown state shared with the service's servers and workers.
    #[must_use]
    pub fn drain(&self) -> Drain {
        self.drain.clone()
    }

    /// Logging: levels at run time, counters, flush.
    pub fn logging(&self) -> &LoggingGuard {
        &self.logging
    }

    /// The ops server's address (the bound port when `ops.addr` asks for
    /// port 0); `None` when it is disabled.
    #[must_use]
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.ops.as_ref().map(|o| o.addr)
    }

    /// The API's address (the bound port when its address asks for port 0),
    /// when [`AppBuilder::api`] asked for one and it is not served yet.
    #[must_use]
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api.as_ref().map(server::Listener::addr)
    }

    /// Serves `router` on the API listener that [`AppBuilder::api`] bound,
    /// as the service's work: [`run`](Self::run) with the API server, which
    /// stops accepting once draining begins, closes idle connections at
    /// once and lets each request that reached the router finish (each
    /// holds a [`WorkGuard`]; one arriving after draining began is
    /// answered 503 `app.draining`). The router can read the peer's address
    /// with axum's `ConnectInfo<SocketAddr>`.
    ///
    /// With the `http` feature, when the configuration has an `http` section
    /// ([`AppConfig::http`]; [`ServiceConfig`] does), the router is served
    /// inside pr-http's stack built from it (`pr_http::layers`): request ids,
    /// trace context, access log, request metrics, problem responses,
    /// limits, rate limit, CORS, security headers, compression. The stack is
    /// built at [`build`](AppBuilder::build), after the metrics recorder, so a
    /// section that cannot be applied stops the start (`app.http_failed`).
    ///
    /// # Panics
    ///
    /// When the builder was given no [`api`](AppBuilder::api): a
    /// programming error, not a run-time condition.
    pub async fn serve(mut self, router: axum::Router) -> Exit {
        let Some(listener) = self.api.take() else {
            panic!("App::serve needs AppBuilder::api to have bound the API listener");
        };
        #[cfg(feature = "http")]
        let router = match &self.http {
            Some(layers) => router.layer(layers.clone()),
            None => router,
        };
        let drain = self.drain.clone();
        let shutdown = drain.clone();
        let served = listener.serve(router, Some(drain), async move {
            shutdown.draining().await;
        });
        match self.dispatch.clone() {
            Some(dispatch) => {
                use tracing::instrument::WithSubscriber as _;
                self.run(served.with_subscriber(dispatch)).await
            }
            None => self.run(served).await,
        }
    }

    fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.dispatch {
            Some(dispatch) => tracing::dispatcher::with_default(dispatch, f),
            None => f(),
        }
    }

    /// Marks the service ready and runs `work` (the service's servers and
    /// workers) until it ends or a signal comes; see the
    /// [module docs](self) for the shutdown sequence.
    ///
    /// Ready means checked: first every health check registered so far
    /// (the app's own and those added to [`health`](Self::health) since
    /// [`build`](AppBuilder::build)) gets its first result, each bounded by
    /// its timeout ([`HealthRegistry::mark_ready`]); only then does the
    /// lifecycle turn ready and `app.ready` get logged. `work` is not polled
    /// before that.
    ///
    /// `work` should end soon after [`Drain::draining`] resolves (give it to
    /// its servers' graceful shutdown) and hold a [`WorkGuard`] for work
    /// that must finish.
    pub async fn run<F: Future<Output = ()>>(mut self, work: F) -> Exit {
        let lifecycle = self.health.lifecycle().clone();
        let ready = self.health.mark_ready();
        match &self.dispatch {
            Some(dispatch) => {
                use tracing::instrument::WithSubscriber as _;
                ready.with_subscriber(dispatch.clone()).await
            }
            None => ready.await,
        };
        self.in_scope(|| tracing::info!(event = "app.ready", service = %self.name, "ready"));
        let mut work = std::pin::pin!(work);
        let mut finished = false;
        let signalled = tokio::select! {
            () = &mut work => {
                finished = true;
                false
            }
            () = self.signals.recv() => true,
        };
        let shutdown = self.config.current().sections().shutdown.clone();
        let (delay, deadline) = (
            shutdown.readiness_delay.as_std(),
            shutdown.drain_timeout.as_std(),
        );
        lifecycle.start_draining();
        #[cfg(feature = "telemetry")]
        let drain_started = tokio::time::Instant::now();
        let exit = if signalled {
            let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            self.in_scope(|| {
                tracing::info!(
                    event = "app.draining",
                    service = %self.name,
                    in_flight = self.drain.in_flight(),
                    readiness_delay_ms = millis(delay),
                    deadline_ms = millis(deadline),
                    "signal received: readiness off; serving on for the readiness delay, then refusing new work and draining"
                );
            });
            // Readiness is off but the listeners still accept: the requests
            // routed here before the load balancer saw it are served.
            let mut interrupted = false;
            if !delay.is_zero() && !finished {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = &mut work => finished = true,
                    () = self.signals.recv() => interrupted = true,
                }
            }
            self.drain.start();
            let drain = self.drain.clone();
            let drained = async {
                if !finished {
                    work.await;
                }
                drain.idle().await;
            };
            if interrupted {
                Exit::Interrupted
            } else {
                tokio::select! {
                    finished = tokio::time::timeout(deadline, drained) => {
                        if finished.is_ok() { Exit::Drained } else { Exit::DeadlineExceeded }
                    }
                    () = self.signals.recv() => Exit::Interrupted,
                }
            }
        } else {
            self.drain.start();
            Exit::Finished
        };
        lifecycle.mark_stopped();
        if let Some(ops) = self.ops.take() {
            let _ = ops.stop.send(());
            if exit == Exit::Interrupted {
                ops.task.abort();
            } else {
                let grace = shutdown.ops_grace.as_std();
                let mut task = ops.task;
                // A (further) signal cuts the grace short, as it does the drain.
                let finished = tokio::select! {
                    done = tokio::time::timeout(grace, &mut task) => done.is_ok(),
                    () = self.signals.recv() => false,
                };
                if !finished {
                    task.abort();
                }
            }
        }
        #[cfg(feature = "telemetry")]
        if let Some(telemetry) = self.telemetry.clone() {
            // What is left of the drain deadline, and never less than a
            // moment: the spans of the last requests are worth a try.
            let left = deadline
                .saturating_sub(drain_started.elapsed())
                .max(TELEMETRY_FLUSH_FLOOR);
            let flushed = tokio::task::spawn_blocking(move || telemetry.shutdown(left)).await;
            if let Ok(Err(e)) = flushed {
                self.in_scope(|| {
                    tracing::warn!(event = "app.telemetry_flush_incomplete", service = %self.name, error = %pr_errors::chain(&e), "not every span was exported before the deadline");
                });
            }
        }
        self.in_scope(|| {
            let level_warn = exit.code() != 0;
            if level_warn {
                tracing::warn!(event = "app.stopped", service = %self.name, exit = exit.as_str(), in_flight = self.drain.in_flight(), "stopped");
            } else {
                tracing::info!(event = "app.stopped", service = %self.name, exit = exit.as_str(), "stopped");
            }
        });
        self.logging.flush();
        exit
    }
}

#[cfg(test)]
mod tests;
