//! The demo's configuration: the toolkit's sections, and its own.

use std::net::{Ipv4Addr, SocketAddr};

use pr_facade::app::{AppConfig, HttpLimits, OpsConfig, Sections, ShutdownConfig};
use pr_facade::config::{ByteSize, Duration, Validate, Validator};
use pr_facade::health::HealthConfig;
use pr_facade::http::HttpConfig;
use pr_facade::logging::{Every, FileConfig, LoggingConfig};
use pr_facade::metrics::MetricsConfig;
use pr_facade::resilience::dlq::DlqConfig;
use pr_facade::resources::ResourcesConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// Logging: JSON to stdout and to a rotated file.
    pub(crate) logging: LoggingConfig,
    /// The metrics registry behind `/metrics`.
    pub(crate) metrics: MetricsConfig,
    /// Health checks and probes.
    pub(crate) health: HealthConfig,
    /// Resource sampling.
    pub(crate) resources: ResourcesConfig,
    /// The ops server (127.0.0.1:9464).
    pub(crate) ops: OpsConfig,
    /// Graceful shutdown.
    pub(crate) shutdown: ShutdownConfig,
    /// The API's HTTP stack: request ids, logs, metrics, limits, per-client rate limit.
    pub(crate) http: HttpConfig,
    /// The public API.
    pub(crate) api: ApiConfig,
    /// The simulated downstream dependency.
    pub(crate) dependency: DependencyConfig,
    /// The cache of quotes.
    pub(crate) cache: CacheConfig,
    /// The dead-letter queue of quotes that failed after every retry.
    pub(crate) dlq: DlqConfig,
}

impl Default for Config {
    fn default() -> Self {
        let mut logging = LoggingConfig::default();
        let mut file = FileConfig::new("data/logs/service.log");
        file.rotation.max_size = Some(ByteSize::mib(10));
        file.rotation.every = Every::Daily;
        file.retention.max_files = Some(5);
        logging.files.push(file);
        let mut shutdown = ShutdownConfig::default();
        shutdown.drain_timeout = Duration::from_secs(10);
        let mut http = HttpConfig::default();
        (http.rate_limit.enabled, http.rate_limit.permits) = (true, 20);
        (http.rate_limit.burst, http.rate_limit.max_clients) = (40, 10_000);
        Self {
            logging,
            metrics: MetricsConfig::default(),
            health: HealthConfig::default(),
            resources: ResourcesConfig::default(),
            ops: OpsConfig::default(),
            shutdown,
            http,
            api: ApiConfig::default(),
            dependency: DependencyConfig::default(),
            cache: CacheConfig::default(),
            dlq: DlqConfig::new("data/dlq"),
        }
    }
}

impl AppConfig for Config {
    fn sections(&self) -> Sections<'_> {
        let (logging, metrics, health) = (&self.logging, &self.metrics, &self.health);
        let (resources, ops, shutdown) = (&self.resources, &self.ops, &self.shutdown);
        Sections {
            logging,
            metrics,
            health,
            resources,
            ops,
            shutdown,
        }
    }

    fn http(&self) -> Option<&HttpConfig> {
        Some(&self.http)
    }
}

impl Validate for Config {
    fn validate(&self, v: &mut Validator) {
        self.sections().validate(v);
        v.nested("http", &self.http);
        v.nested("api", &self.api);
        v.range("api.max_symbol_len", &self.api.max_symbol_len, &(1..=8192));
        v.range(
            "dependency.failure_rate",
            &self.dependency.failure_rate,
            &(0.0..=1.0),
        );
        let latency = self.dependency.min_latency.as_std() <= self.dependency.max_latency.as_std();
        v.check(
            latency,
            "dependency.min_latency",
            "must not exceed max_latency",
        );
        v.check(
            self.cache.max_entries > 0,
            "cache.max_entries",
            "must be at least 1",
        );
        v.check(
            self.cache.max_size.as_u64() > 0,
            "cache.max_size",
            "must be at least 1B",
        );
        v.check(
            !self.cache.ttl.as_std().is_zero(),
            "cache.ttl",
            "must be greater than 0",
        );
        // The queue's own checks, before anything starts (not when it opens).
        v.nested("dlq", &self.dlq);
    }
}

/// The cache of quotes, bounded in entries and in bytes (keys and values as pr-cache weighs
/// them: the bound that holds when clients choose the symbols).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CacheConfig {
    pub(crate) max_entries: u64,
    pub(crate) max_size: ByteSize,
    /// How long a quote is served from the cache.
    pub(crate) ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        let (max_size, ttl) = (ByteSize::mib(32), Duration::from_secs(5));
        Self {
            max_entries: 10_000,
            max_size,
            ttl,
        }
    }
}

/// The public API: where it listens, the listener's defences, the longest symbol (1 to 8192
/// bytes; longer is 414 before it reaches the cache or the logs) and the longest `?delay_ms=`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ApiConfig {
    pub(crate) addr: SocketAddr,
    pub(crate) max_delay: Duration,
    pub(crate) max_symbol_len: usize,
    pub(crate) limits: HttpLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 8080));
        let (max_delay, limits) = (Duration::from_secs(10), HttpLimits::default());
        Self {
            addr,
            max_delay,
            max_symbol_len: 32,
            limits,
        }
    }
}

impl Validate for ApiConfig {
    fn validate(&self, v: &mut Validator) {
        v.nested("limits", &self.limits);
    }
}

/// The simulated dependency: each call takes a random time between `min_latency` and
/// `max_latency` and fails with `failure_rate`. `test_knobs` lets a request ask for a failure
/// (`?fail=true`) or a delay (`?delay_ms=N`); off by default, so no client of a deployed
/// service can turn them (400 `demo.test_knobs_disabled`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DependencyConfig {
    pub(crate) failure_rate: f64,
    pub(crate) min_latency: Duration,
    pub(crate) max_latency: Duration,
    pub(crate) test_knobs: bool,
}

impl Default for DependencyConfig {
    fn default() -> Self {
        let (min_latency, max_latency) = (Duration::from_millis(2), Duration::from_millis(40));
        Self {
            failure_rate: 0.2,
            min_latency,
            max_latency,
            test_knobs: false,
        }
    }
}
