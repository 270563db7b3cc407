//! The demo's own settings; `ServiceConfig` adds the toolkit's sections beside them.

use std::net::{Ipv4Addr, SocketAddr};

use pr_facade::app::{HttpLimits, ServiceConfig};
use pr_facade::cache::MemoryCacheConfig;
use pr_facade::config::{Duration, Validate, Validator, validate_fields};
use pr_facade::resilience::dlq::DlqConfig;
use serde::{Deserialize, Serialize};

/// The whole configuration: `[logging]`, `[ops]`, `[http]`, `[resilience]`, ... and the
/// settings below.
pub(crate) type Config = ServiceConfig<Settings>;

/// Defaults: `Default`, and for the cache and the queue the few keys `main.rs` sets.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Settings {
    /// The public API: its address and listener defences, the longest symbol (1 to 8192
    /// bytes; longer is 414 before it reaches the cache or the logs), the longest delay.
    pub(crate) api: ApiConfig,
    /// The simulated dependency: each call takes a random time between `min_latency` and
    /// `max_latency` and fails with `failure_rate`. `test_knobs` lets a request ask for a
    /// failure (`?fail=true`) or a delay (`?delay_ms=N`); off by default, so no client of a
    /// deployed service can turn them (400 `demo.test_knobs_disabled`).
    pub(crate) dependency: DependencyConfig,
    /// The cache of quotes, bounded in entries and in bytes (clients choose the symbols).
    pub(crate) cache: MemoryCacheConfig,
    /// The dead-letter queue of quotes that failed after every retry.
    pub(crate) dlq: DlqConfig,
}
validate_fields! { Settings { api, dependency, cache, dlq } }

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
        let (addr, max_delay) = ((Ipv4Addr::LOCALHOST, 8080).into(), Duration::from_secs(10));
        let limits = HttpLimits::default();
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
        v.range("max_symbol_len", &self.max_symbol_len, &(1..=8192));
    }
}

/// Defaults in `main.rs`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DependencyConfig {
    pub(crate) failure_rate: f64,
    pub(crate) min_latency: Duration,
    pub(crate) max_latency: Duration,
    pub(crate) test_knobs: bool,
}

impl Validate for DependencyConfig {
    fn validate(&self, v: &mut Validator) {
        v.range("failure_rate", &self.failure_rate, &(0.0..=1.0));
        let ordered = self.min_latency.as_std() <= self.max_latency.as_std();
        v.check(ordered, "min_latency", "must not exceed max_latency");
    }
}
