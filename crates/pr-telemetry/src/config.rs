//! [`TelemetryConfig`]: where spans go, how they are sampled, and the
//! export queue's bounds.

use std::collections::BTreeMap;

use pr_core::secret::SecretString;
use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

/// The `telemetry` section. Spans are exported when an endpoint is set
/// here or in `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; without one the service records no span
/// and pays nothing. The standard `OTEL_*` variables fill the keys this
/// section leaves unset (see [`crate::TelemetryBuilder::env_vars`]).
///
/// `Default` exports nothing; with an endpoint it is safe in production:
/// a 2,048-span queue that drops (and counts) rather than waits, batches of
/// 512 every 5 seconds, a 10-second export timeout, every trace sampled
/// unless its caller decided otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TelemetryConfig {
    /// The OTLP endpoint. For `http/protobuf`, the traces URL
    /// (`http://collector:4318/v1/traces`); for `grpc`, the collector's
    /// address (`http://collector:4317`). Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/traces` added for
    /// HTTP), else no export.
    pub endpoint: Option<String>,
    /// `http/protobuf` or `grpc`. Unset: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`,
    /// else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf` (the
    /// specification's default).
    pub protocol: Option<Protocol>,
    /// Headers sent with each export (an API key, a tenant): never logged
    /// or serialised. Unset: `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`).
    pub headers: BTreeMap<String, SecretString>,
    /// The `service.name` resource attribute. Unset: `OTEL_SERVICE_NAME`,
    /// else the name the service gives the builder.
    pub service_name: Option<String>,
    /// More resource attributes (`deployment.environment = "prod"`);
    /// `OTEL_RESOURCE_ATTRIBUTES` adds the keys not set here.
    pub resource_attributes: BTreeMap<String, String>,
    /// Which spans and events become OpenTelemetry spans and span events,
    /// in `RUST_LOG` syntax without span filters (`info,my_crate=debug`).
    /// The default takes INFO everywhere and DEBUG from pr-resilience and
    /// pr-cache, whose retries, rejections, hedges, fallbacks and loads are
    /// what a trace should show. Independent of the logging level.
    pub filter: String,
    /// The share of new traces sampled, 0 to 1; a trace continued from a
    /// caller keeps the caller's decision (parent-based sampling). Unset:
    /// `OTEL_TRACES_SAMPLER_ARG`, else 1.
    pub sampling_ratio: Option<f64>,
    /// Spans waiting for export at most; a span ended while the queue is
    /// full is dropped and counted, never waited for (1 to 1,048,576).
    pub queue_size: usize,
    /// Spans per export request at most (1 to `queue_size`).
    pub batch_size: usize,
    /// The longest a span waits before its batch is sent (`"5s"`; a plain
    /// number is seconds).
    pub batch_delay: Duration,
    /// The longest one export request may take (`"10s"`): a slow or
    /// unreachable collector costs a dropped batch, never a blocked request.
    pub export_timeout: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: None,
            headers: BTreeMap::new(),
            service_name: None,
            resource_attributes: BTreeMap::new(),
            filter: DEFAULT_FILTER.to_owned(),
            sampling_ratio: None,
            queue_size: 2048,
            batch_size: 512,
            batch_delay: Duration::from_secs(5),
            export_timeout: Duration::from_secs(10),
        }
    }
}

/// What becomes a span by default: see [`TelemetryConfig::filter`].
pub(crate) const DEFAULT_FILTER: &str = "info,pr_resilience=debug,pr_cache=debug";

/// The largest `queue_size`: the queue's slots are allocated up front.
pub(crate) const MAX_QUEUE_SIZE: usize = 1 << 20;

/// The OTLP transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum Protocol {
    /// Protobuf over HTTP (`http/protobuf`), port 4318 by convention.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// gRPC (`grpc`), port 4317 by convention.
    #[serde(rename = "grpc")]
    Grpc,
}

impl Protocol {
    /// The name the configuration and `OTEL_EXPORTER_OTLP_PROTOCOL` use.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HttpProtobuf => "http/protobuf",
            Self::Grpc => "grpc",
        }
    }

    /// The protocol named `name`, if it is one this crate exports with.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "http/protobuf" => Some(Self::HttpProtobuf),
            "grpc" => Some(Self::Grpc),
            _ => None,
        }
    }
}

/// Every problem at once, each at its key (`sampling_ratio`, `headers.x-key`).
impl Validate for TelemetryConfig {
    fn validate(&self, v: &mut Validator) {
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(v, "endpoint", endpoint);
        }
        if let Some(ratio) = self.sampling_ratio {
            v.check(
                (0.0..=1.0).contains(&ratio),
                "sampling_ratio",
                "must be between 0 and 1",
            );
        }
        for name in self.headers.keys() {
            v.check(
                http::HeaderName::from_bytes(name.as_bytes()).is_ok(),
                &format!("headers.{name}"),
                "must be a valid HTTP header name",
            );
        }
        for (name, value) in &self.headers {
            v.check(
                http::HeaderValue::from_str(value.expose()).is_ok(),
                &format!("headers.{name}"),
                "must be a valid HTTP header value (visible ASCII)",
            );
        }
        v.check(
            self.filter
                .parse::<tracing_subscriber::filter::Targets>()
                .is_ok(),
            "filter",
            "must be comma-separated directives, each `level` or `target=level` (trace, debug, \
             info, warn, error, off)",
        );
        if let Some(name) = &self.service_name {
            v.non_empty("service_name", name);
        }
        v.range("queue_size", &self.queue_size, &(1..=MAX_QUEUE_SIZE));
        v.range(
            "batch_size",
            &self.batch_size,
            &(1..=self.queue_size.max(1)),
        );
        v.check(
            self.batch_delay.as_std() >= std::time::Duration::from_millis(1),
            "batch_delay",
            "must be at least 1ms",
        );
        v.check(
            self.export_timeout.as_std() >= std::time::Duration::from_millis(1),
            "export_timeout",
            "must be at least 1ms",
        );
    }
}

/// An endpoint is an `http` or `https` URL with a host.
pub(crate) fn check_endpoint(v: &mut Validator, key: &str, endpoint: &str) {
    let ok = endpoint.parse::<http::Uri>().ok().is_some_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
    });
    v.check(
        ok,
        key,
        "must be an http:// or https:// URL with a host (http://collector:4318/v1/traces)",
    );
}
