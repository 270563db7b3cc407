//! [`ServiceConfig`]: the toolkit's sections of a service's configuration,
//! and the [`AppConfig`] trait that finds them in the application's own type.

mod split;

use std::net::{Ipv4Addr, SocketAddr};

use pr_config::{Duration, SecretString, Validate, Validator};
use pr_health::HealthConfig;
use pr_logging::LoggingConfig;
use pr_metrics::MetricsConfig;
use pr_resources::ResourcesConfig;

use crate::app::HttpLimits;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The application's configuration type, as [`App`](crate::app::App) loads
/// it: any type pr-config can load that holds the toolkit's sections
/// (`logging`, `metrics`, `health`, `resources`, `ops`, `shutdown`) as
/// fields of its own, so that they sit at the top level (`[logging]`,
/// `[ops]`, `APP__OPS__ADDR`) and every problem in them is reported with
/// its key and source. Its [`Validate`] runs theirs through
/// [`Sections::validate`].
///
/// [`ServiceConfig<T>`] is that type for any settings `T`, and what a
/// service usually loads ([`AppBuilder::with_settings`](crate::app::AppBuilder::with_settings));
/// implement the trait by hand, as below, only for another layout.
///
/// ```
/// use pr_facade::app::{AppConfig, OpsConfig, Sections, ShutdownConfig};
/// use pr_facade::config::{Validate, Validator};
/// use pr_facade::{health::HealthConfig, logging::LoggingConfig};
/// use pr_facade::{metrics::MetricsConfig, resources::ResourcesConfig};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Default, Deserialize, Serialize)]
/// #[serde(default)]
/// struct Config {
///     /// Logging.
///     logging: LoggingConfig,
///     /// Metrics.
///     metrics: MetricsConfig,
///     /// Health checks.
///     health: HealthConfig,
///     /// Resource sampling.
///     resources: ResourcesConfig,
///     /// The ops server.
///     ops: OpsConfig,
///     /// Graceful shutdown.
///     shutdown: ShutdownConfig,
///     /// The application's own setting.
///     greeting: String,
/// }
///
/// impl AppConfig for Config {
///     fn sections(&self) -> Sections<'_> {
///         Sections {
///             logging: &self.logging,
///             metrics: &self.metrics,
///             health: &self.health,
///             resources: &self.resources,
///             ops: &self.ops,
///             shutdown: &self.shutdown,
///         }
///     }
/// }
///
/// impl Validate for Config {
///     fn validate(&self, v: &mut Validator) {
///         self.sections().validate(v);
///         v.non_empty("greeting", &self.greeting);
///     }
/// }
/// ```
pub trait AppConfig:
    DeserializeOwned + Serialize + Default + Validate + Send + Sync + 'static
{
    /// The toolkit's sections.
    fn sections(&self) -> Sections<'_>;

    /// The `http` section (feature `http`): pr-http's inbound stack, which
    /// [`App::serve`](crate::app::App::serve) puts around the API's router
    /// (request ids, trace context, access log, request metrics, problem
    /// responses, limits, rate limit, CORS, security headers, compression).
    /// `None`, the default: the router is served as it is.
    #[cfg(feature = "http")]
    fn http(&self) -> Option<&pr_http::HttpConfig> {
        None
    }

    /// The `resilience` section (feature `resilience`): named retries,
    /// breakers, bulkheads and pipelines, built at start and handed out by
    /// [`App::pipeline`](crate::app::App::pipeline). `None`, the default:
    /// none.
    #[cfg(feature = "resilience")]
    fn resilience(&self) -> Option<&pr_resilience::policies::ResilienceConfig> {
        None
    }

    /// The `security` section (feature `security`): pr-security's settings,
    /// of which [`App`](crate::app::App) applies `fail_on` at start (the
    /// environment check: running as root, core dumps, a writable config
    /// file, secrets in arguments, ...; each finding is logged as
    /// `app.security_finding` and shown under `/status` → `security`, and
    /// one at or above `fail_on` stops the start). `None`, the default: no
    /// check.
    #[cfg(feature = "security")]
    fn security(&self) -> Option<&pr_security::SecurityConfig> {
        None
    }

    /// The `telemetry` section (feature `telemetry`): OpenTelemetry
    /// export, which [`App`](crate::app::App) starts before logging (so log
    /// lines carry the spans' trace ids), shows under `/status` →
    /// `telemetry`, and flushes at shutdown within what is left of the drain
    /// deadline. Nothing is exported without an endpoint (here or in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`). `None`, the default: no telemetry.
    #[cfg(feature = "telemetry")]
    fn telemetry(&self) -> Option<&pr_telemetry::TelemetryConfig> {
        None
    }
}

/// The toolkit's sections of an [`AppConfig`], borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Sections<'a> {
    /// Logging (pr-logging), key `logging`.
    pub logging: &'a LoggingConfig,
    /// The metrics registry (pr-metrics), key `metrics`.
    pub metrics: &'a MetricsConfig,
    /// Health checks and probes (pr-health), key `health`.
    pub health: &'a HealthConfig,
    /// Resource sampling (pr-resources), key `resources`.
    pub resources: &'a ResourcesConfig,
    /// The ops HTTP server, key `ops`.
    pub ops: &'a OpsConfig,
    /// Graceful shutdown, key `shutdown`.
    pub shutdown: &'a ShutdownConfig,
}

impl Sections<'_> {
    /// Reports every problem of every section, each at its key
    /// (`logging.filter`, `ops.token`, ...).
    pub fn validate(&self, v: &mut Validator) {
        // Every crate's configuration implements the one `Validate`, so
        // each problem keeps its key (`logging.filter`) on the way up.
        v.nested("logging", self.logging);
        v.nested("metrics", self.metrics);
        v.nested("health", self.health);
        v.nested("resources", self.resources);
        v.nested("ops", self.ops);
        v.nested("shutdown", self.shutdown);
    }
}

/// A service's whole configuration: the toolkit's sections and the
/// service's own settings `T`, all at the top level of the file
/// (`[logging]`, `[ops]`, `APP__OPS__ADDR` beside the service's `[cache]`,
/// `APP__CACHE__TTL`). `T` is any serde struct with `Default` and
/// [`Validate`]; its problems are reported at their keys and sources like
/// the toolkit's (its keys are read past the sections', not through
/// `#[serde(flatten)]`, which loses them). A key of `T` named like a
/// section (`logging`, `ops`, ...) is the section's. With `T = ()` (the
/// default), the sections only, and any other key is unknown.
///
/// `Default` is safe in production: JSON logs to stdout, the ops server on
/// 127.0.0.1:9464, a 30 s drain deadline, readiness off 5 s before the
/// listeners close. [`AppBuilder::set_default`](crate::app::AppBuilder::set_default)
/// changes a section's default for one service.
///
/// ```
/// use pr_facade::app::{App, ServiceConfig};
/// use pr_facade::config::{Duration, Validate, Validator};
/// use serde::{Deserialize, Serialize};
///
/// /// The service's own settings.
/// #[derive(Debug, Default, Deserialize, Serialize)]
/// #[serde(default)]
/// struct Settings {
///     greeting: String,
///     timeout: Duration,
/// }
///
/// impl Validate for Settings {
///     fn validate(&self, v: &mut Validator) {
///         v.non_empty("greeting", &self.greeting);
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pr_facade::app::Error> {
/// let app = App::builder("greeter")
///     .with_settings::<Settings>()
///     .env_vars([("APP__GREETING", "hello"), ("APP__OPS__ENABLED", "false")])
///     .install_globals(false)
///     .build()
///     .await?;
/// let config: std::sync::Arc<ServiceConfig<Settings>> = app.config();
/// assert_eq!(config.app.greeting, "hello");
/// assert!(!config.ops.enabled);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ServiceConfig<T = ()> {
    /// Logging (pr-logging).
    pub logging: LoggingConfig,
    /// The metrics registry (pr-metrics).
    pub metrics: MetricsConfig,
    /// Health checks and probes (pr-health).
    pub health: HealthConfig,
    /// Resource sampling (pr-resources).
    pub resources: ResourcesConfig,
    /// The ops HTTP server.
    pub ops: OpsConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
    /// The API's HTTP stack (feature `http`), applied by
    /// [`App::serve`](crate::app::App::serve).
    #[cfg(feature = "http")]
    pub http: pr_http::HttpConfig,
    /// Named resilience policies (feature `resilience`), handed out by
    /// [`App::pipeline`](crate::app::App::pipeline).
    #[cfg(feature = "resilience")]
    pub resilience: pr_resilience::policies::ResilienceConfig,
    /// Security settings (feature `security`); `fail_on` is applied at
    /// start ([`AppConfig::security`]).
    #[cfg(feature = "security")]
    pub security: pr_security::SecurityConfig,
    /// OpenTelemetry export (feature `telemetry`; [`AppConfig::telemetry`]).
    #[cfg(feature = "telemetry")]
    pub telemetry: pr_telemetry::TelemetryConfig,
    /// The service's own settings, at the top level beside the sections.
    #[serde(flatten)]
    pub app: T,
}

impl<T> AppConfig for ServiceConfig<T>
where
    T: DeserializeOwned + Serialize + Default + Validate + Send + Sync + 'static,
{
    fn sections(&self) -> Sections<'_> {
        self.borrow_sections()
    }

    #[cfg(feature = "http")]
    fn http(&self) -> Option<&pr_http::HttpConfig> {
        Some(&self.http)
    }

    #[cfg(feature = "resilience")]
    fn resilience(&self) -> Option<&pr_resilience::policies::ResilienceConfig> {
        Some(&self.resilience)
    }

    #[cfg(feature = "security")]
    fn security(&self) -> Option<&pr_security::SecurityConfig> {
        Some(&self.security)
    }

    #[cfg(feature = "telemetry")]
    fn telemetry(&self) -> Option<&pr_telemetry::TelemetryConfig> {
        Some(&self.telemetry)
    }
}

impl<T> ServiceConfig<T> {
    /// The sections, for any `T` (validation needs them without the
    /// bounds [`AppConfig`] puts on `T`).
    fn borrow_sections(&self) -> Sections<'_> {
        Sections {
            logging: &self.logging,
            metrics: &self.metrics,
            health: &self.health,
            resources: &self.resources,
            ops: &self.ops,
            shutdown: &self.shutdown,
        }
    }
}

impl<T: Validate> Validate for ServiceConfig<T> {
    fn validate(&self, v: &mut Validator) {
        self.borrow_sections().validate(v);
        #[cfg(feature = "http")]
        v.nested("http", &self.http);
        #[cfg(feature = "resilience")]
        v.nested("resilience", &self.resilience);
        #[cfg(feature = "security")]
        v.nested("security", &self.security);
        #[cfg(feature = "telemetry")]
        v.nested("telemetry", &self.telemetry);
        // At the top level: the settings' keys sit beside the sections.
        self.app.validate(v);
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ServiceConfig<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut found = split::Found::default();
        let app = T::deserialize(split::Split {
            inner: deserializer,
            found: &mut found,
        })?;
        Ok(Self {
            logging: found.logging.unwrap_or_default(),
            metrics: found.metrics.unwrap_or_default(),
            health: found.health.unwrap_or_default(),
            resources: found.resources.unwrap_or_default(),
            ops: found.ops.unwrap_or_default(),
            shutdown: found.shutdown.unwrap_or_default(),
            #[cfg(feature = "http")]
            http: found.http.unwrap_or_default(),
            #[cfg(feature = "resilience")]
            resilience: found.resilience.unwrap_or_default(),
            #[cfg(feature = "security")]
            security: found.security.unwrap_or_default(),
            #[cfg(feature = "telemetry")]
            telemetry: found.telemetry.unwrap_or_default(),
            app,
        })
    }
}

/// The ops HTTP server: probes, `/metrics`, `/loggers`, `/info`, `/status`,
/// and the console at `/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OpsConfig {
    /// Whether the ops server runs.
    pub enabled: bool,
    /// The address it listens on. Keep it on loopback or a private network:
    /// `/status` and `/metrics` describe the service's insides.
    pub addr: SocketAddr,
    /// The bearer token that changes need (`POST /loggers`); empty (the
    /// default) refuses every change. Give it through
    /// `<PREFIX>__OPS__TOKEN_FILE` (a file), never in a config file.
    pub token: SecretString,
    /// Connection cap, timeouts and head limits (`max_connections` unset:
    /// 64). Its own cap, taken from the open-files budget before the API's,
    /// keeps the probes answering while the API is flooded.
    pub limits: HttpLimits,
    /// Whether `GET /` serves the ops console: one self-contained page
    /// showing what `/status` and `/metrics` answer, refreshed every two
    /// seconds, whose form changes the log filter with the token. On by
    /// default; it reads only what the port already answers.
    pub console: bool,
    /// HTTPS only, with this certificate (feature `tls`); with its
    /// `client_ca_file`, only clients holding a certificate from that CA get
    /// through (the probes' and the scraper's, say). Unset: plain HTTP.
    #[cfg(feature = "tls")]
    pub tls: Option<pr_http::tls::TlsConfig>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 9464)),
            token: SecretString::default(),
            limits: HttpLimits::default(),
            console: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Validate for OpsConfig {
    fn validate(&self, v: &mut Validator) {
        let token = &self.token;
        v.check(
            token.is_empty() || token.len() >= 16,
            "token",
            format!(
                "must be at least 16 characters, got {} (value not shown)",
                token.len()
            ),
        );
        v.nested("limits", &self.limits);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            v.nested("tls", tls);
        }
    }
}

/// Graceful shutdown: what happens after SIGTERM or SIGINT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ShutdownConfig {
    /// How long the service keeps serving after the signal with readiness
    /// already off (503), before it stops accepting and drains: the time a
    /// load balancer or Kubernetes' endpoint removal takes to stop routing
    /// to it, so the requests still routed meanwhile are served, not
    /// refused. `"0s"` drains at once (a service behind nothing).
    pub readiness_delay: Duration,
    /// How long in-flight work may take to finish once draining starts; the
    /// exit code says whether it did.
    pub drain_timeout: Duration,
    /// How long the ops server may take to answer its last requests once
    /// the drain is over.
    pub ops_grace: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            readiness_delay: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(30),
            ops_grace: Duration::from_secs(1),
        }
    }
}

impl Validate for ShutdownConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(
            !self.drain_timeout.as_std().is_zero(),
            "drain_timeout",
            "must be greater than 0",
        );
    }
}
