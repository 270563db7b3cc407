//! [`ServiceConfig`]: the toolkit's sections of a service's configuration,
//! and the [`AppConfig`] trait that finds them in the application's own type.

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
/// [`Sections::validate`]. [`ServiceConfig`] is the type with the sections
/// only.
///
/// (The sections are fields rather than a `#[serde(flatten)]`ed
/// [`ServiceConfig`]: serde's flatten loses the key of a bad value.)
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

/// The toolkit's sections of a service's configuration. `Default` is safe
/// in production: JSON logs to stdout, the ops server on 127.0.0.1:9464, a
/// 30 s drain deadline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceConfig {
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
}

impl AppConfig for ServiceConfig {
    fn sections(&self) -> Sections<'_> {
        Sections {
            logging: &self.logging,
            metrics: &self.metrics,
            health: &self.health,
            resources: &self.resources,
            ops: &self.ops,
            shutdown: &self.shutdown,
        }
    }

    #[cfg(feature = "http")]
    fn http(&self) -> Option<&pr_http::HttpConfig> {
        Some(&self.http)
    }
}

impl Validate for ServiceConfig {
    fn validate(&self, v: &mut Validator) {
        self.sections().validate(v);
        #[cfg(feature = "http")]
        v.nested("http", &self.http);
    }
}

/// The ops HTTP server: probes, `/metrics`, `/loggers`, `/info`, `/status`.
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
