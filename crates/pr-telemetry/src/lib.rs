//! Distributed tracing for Rust services: the spans a service already
//! writes with `tracing` become OpenTelemetry spans, exported over OTLP
//! (protobuf over HTTP, or gRPC) to a collector, Jaeger or Tempo.
//!
//! [`Telemetry::builder`] reads a [`TelemetryConfig`] (and the standard
//! `OTEL_*` variables for what it leaves unset), and
//! [`Telemetry::layer`] is the `tracing-opentelemetry` layer to put beside
//! the service's logging. Without an endpoint nothing is recorded or
//! exported, and the layer is a no-op.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! # fn main() -> Result<(), pr_telemetry::Error> {
//! let mut config = pr_telemetry::TelemetryConfig::default();
//! config.endpoint = Some("http://127.0.0.1:4318/v1/traces".to_owned());
//! let telemetry = pr_telemetry::Telemetry::builder(&config)
//!     .service("checkout", "1.4.2")
//!     .env_vars(std::iter::empty::<(String, String)>())
//!     .build()?;
//! let subscriber = tracing_subscriber::registry().with(telemetry.layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     let _span = tracing::info_span!("checkout.pay", order = 17).entered();
//! });
//! // Sends what is queued, within the deadline (nothing listens here:
//! // the spans are dropped and counted, the service is unaffected).
//! let _ = telemetry.shutdown(std::time::Duration::from_millis(200));
//! # Ok(())
//! # }
//! ```
//!
//! # What it does, and the choices
//!
//! - **A bounded export queue** (`queue_size`, 2,048 spans): a span that
//!   ends while it is full is dropped and counted, never waited for, so a
//!   slow or unreachable collector costs the request path nothing. Batches
//!   of `batch_size` leave every `batch_delay` or when full, each export
//!   bounded by `export_timeout`; a failed export drops its batch (no
//!   retry queue to grow) and logs `telemetry.export_failed` at most once a
//!   minute. [`Telemetry::snapshot`] and, with the `metrics` feature,
//!   `pr_telemetry_spans_exported_total`, `pr_telemetry_spans_dropped_total{reason}`
//!   (`queue_full`, `export_failed`, `shutdown`) and
//!   `pr_telemetry_export_failures_total` count it all. The SDK's own batch
//!   processor keeps its drop count private, hence a queue of our own.
//! - **Sampling**: parent-based with a ratio for new traces
//!   (`sampling_ratio`, 1 by default): a trace continued from a caller
//!   keeps the caller's decision, as OpenTelemetry's default sampler does.
//! - **Resource attributes**: `service.name`, `service.version`,
//!   `service.instance.id` (random per start), `host.name`, `process.pid`,
//!   `process.executable.name`, the SDK's own, and `resource_attributes`.
//! - **Shutdown** ([`Telemetry::shutdown`]) exports what is queued within
//!   the deadline it is given (the app's drain deadline); what is left then
//!   is dropped and counted.
//! - **Propagation** ([`propagation`]): W3C `traceparent`/`tracestate` and
//!   `baggage` into and out of any [`http::HeaderMap`].
//! - The exporter runs on its own thread with tracing off there, so the
//!   HTTP and gRPC stacks' own spans never feed the exporter.
//!
//! # Feature flags
//!
//! - `metrics`: the counters above through the `metrics` facade.
//! - `schema`: `schemars::JsonSchema` on the configuration types.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod config;
mod error;
mod processor;
pub mod propagation;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{RandomIdGenerator, Sampler, SdkTracerProvider, Tracer};
use pr_core::validate::{Validator, Violation};
use serde::Serialize;
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;

pub use config::{Protocol, TelemetryConfig};
pub use error::Error;

use processor::{Counters, QueueProcessor, QueueSettings};

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{CODES, EXPORTER, FLUSH_INCOMPLETE, INVALID_CONFIG};
}

/// The metric names (feature `metrics`).
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metric {
    /// Spans the collector accepted.
    pub const EXPORTED: &str = "pr_telemetry_spans_exported_total";
    /// Spans dropped, label `reason`: `queue_full`, `export_failed`, `shutdown`.
    pub const DROPPED: &str = "pr_telemetry_spans_dropped_total";
    /// Export requests that failed or timed out.
    pub const FAILED_EXPORTS: &str = "pr_telemetry_export_failures_total";
}

/// Starts telemetry: the entry point is [`Telemetry::builder`].
#[must_use = "a builder does nothing until built"]
#[derive(Debug)]
pub struct TelemetryBuilder {
    config: TelemetryConfig,
    service_name: String,
    service_version: String,
    env: Option<Vec<(String, String)>>,
}

impl TelemetryBuilder {
    /// The service's name and version (`service.name` unless the
    /// configuration or `OTEL_SERVICE_NAME` names it, and `service.version`).
    pub fn service(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.service_name = name.into();
        self.service_version = version.into();
        self
    }

    /// The variables to read the `OTEL_*` settings from, instead of the
    /// process environment (for tests, or a service that reads none).
    ///
    /// Read: `OTEL_SDK_DISABLED` and `OTEL_TRACES_EXPORTER=none` (no
    /// export), `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`,
    /// `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `OTEL_SERVICE_NAME`,
    /// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER_ARG`, each only
    /// where the configuration leaves its key unset.
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Starts the exporter's thread (when there is an endpoint) and the
    /// tracer provider.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for every invalid key or `OTEL_*`
    /// variable at once; [`Error::Exporter`] when the exporter cannot start.
    pub fn build(self) -> Result<Telemetry, Error> {
        let env = Env(self.env);
        let resolved = resolve(&self.config, &env, &self.service_name)?;
        let counters = Arc::new(Counters::default());
        let Some(endpoint) = resolved.endpoint.clone() else {
            return Ok(Telemetry {
                exporting: None,
                counters,
            });
        };
        let resource = resource(&resolved, &self.service_version);
        let settings = QueueSettings {
            queue_size: self.config.queue_size,
            batch_size: self.config.batch_size,
            batch_delay: self.config.batch_delay.as_std(),
            export_timeout: self.config.export_timeout.as_std(),
        };
        let timeout = settings.export_timeout;
        let protocol = resolved.protocol;
        let headers = resolved.headers.clone();
        let target = endpoint.clone();
        let processor = QueueProcessor::start(settings, Arc::clone(&counters), move || {
            let built = match protocol {
                Protocol::Grpc => {
                    let mut metadata = tonic::metadata::MetadataMap::new();
                    for (name, value) in &headers {
                        let name = tonic::metadata::MetadataKey::from_bytes(name.as_bytes())
                            .map_err(|e| e.to_string())?;
                        let value = value.parse().map_err(|_| {
                            format!("header `{name}` is not a valid gRPC metadata value")
                        })?;
                        metadata.insert(name, value);
                    }
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .with_endpoint(target)
                        .with_timeout(timeout)
                        .with_metadata(metadata)
                        .build()
                }
                _ => opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(target)
                    .with_timeout(timeout)
                    .with_headers(headers.into_iter().collect())
                    .build(),
            };
            built.map_err(|e| e.to_string())
        })
        .map_err(|reason| Error::Exporter {
            endpoint: endpoint.clone(),
            reason,
        })?;
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                resolved.sampling_ratio,
            ))))
            .with_id_generator(RandomIdGenerator::default())
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("pr-telemetry");
        let filter = self
            .config
            .filter
            .parse()
            .unwrap_or_else(|_| tracing_subscriber::filter::Targets::new());
        Ok(Telemetry {
            exporting: Some(Exporting {
                provider,
                tracer,
                filter,
                endpoint,
                protocol,
            }),
            counters,
        })
    }
}

/// Tracing export for one service: its tracer provider, export queue and
/// counters. Clones are not needed: hand out [`layer`](Self::layer)s.
#[derive(Debug)]
pub struct Telemetry {
    exporting: Option<Exporting>,
    counters: Arc<Counters>,
}

#[derive(Debug)]
struct Exporting {
    provider: SdkTracerProvider,
    tracer: Tracer,
    filter: tracing_subscriber::filter::Targets,
    endpoint: String,
    protocol: Protocol,
}

impl Telemetry {
    /// A builder from `config`.
    pub fn builder(config: &TelemetryConfig) -> TelemetryBuilder {
        TelemetryBuilder {
            config: config.clone(),
            service_name: "unknown_service".to_owned(),
            service_version: String::new(),
            env: None,
        }
    }

    /// Whether spans are exported (an endpoint was configured).
    #[must_use]
    pub fn is_exporting(&self) -> bool {
        self.exporting.is_some()
    }

    /// The endpoint and protocol spans go to, when exporting.
    #[must_use]
    pub fn endpoint(&self) -> Option<(&str, Protocol)> {
        self.exporting
            .as_ref()
            .map(|e| (e.endpoint.as_str(), e.protocol))
    }

    /// The `tracing-opentelemetry` layer that turns spans into
    /// OpenTelemetry spans for this exporter, filtered by the section's
    /// `filter` (a per-layer filter: the logging's levels are its own); a
    /// no-op layer when not exporting. Put it beside the logging layer
    /// (`pr_logging::LoggingBuilder::with_layer`) so log lines carry the
    /// same trace ids.
    #[must_use]
    pub fn layer<S>(&self) -> Option<impl tracing_subscriber::Layer<S> + Send + Sync + 'static>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
    {
        use tracing_subscriber::Layer as _;
        self.exporting.as_ref().map(|e| {
            tracing_opentelemetry::layer()
                .with_tracer(e.tracer.clone())
                .with_filter(e.filter.clone())
        })
    }

    /// The counts so far.
    #[must_use]
    pub fn snapshot(&self) -> TelemetrySnapshot {
        let c = &self.counters;
        TelemetrySnapshot {
            exporting: self.is_exporting(),
            exported: c.exported.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            dropped_export_failed: c.dropped_export_failed.load(Ordering::Relaxed),
            dropped_shutdown: c.dropped_shutdown.load(Ordering::Relaxed),
            failed_exports: c.failed_exports.load(Ordering::Relaxed),
        }
    }

    /// Exports what is queued and stops the exporter, within `deadline`;
    /// spans ended afterwards are dropped (reason `shutdown`). Calling it
    /// again is a no-op.
    ///
    /// # Errors
    ///
    /// [`Error::FlushIncomplete`] when the deadline passed first or an
    /// export failed: the spans left are dropped and counted.
    pub fn shutdown(&self, deadline: Duration) -> Result<(), Error> {
        let Some(exporting) = &self.exporting else {
            return Ok(());
        };
        match exporting.provider.shutdown_with_timeout(deadline) {
            Ok(()) | Err(opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown) => Ok(()),
            Err(e) => {
                let snapshot = self.snapshot();
                Err(Error::FlushIncomplete {
                    reason: e.to_string(),
                    dropped: snapshot.dropped(),
                })
            }
        }
    }
}

/// What the exporter has done (`/status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TelemetrySnapshot {
    /// Whether spans are exported at all.
    pub exporting: bool,
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Spans dropped with a failed export.
    pub dropped_export_failed: u64,
    /// Spans dropped at or after shutdown.
    pub dropped_shutdown: u64,
    /// Export requests that failed or timed out.
    pub failed_exports: u64,
}

impl TelemetrySnapshot {
    /// Spans dropped for any reason.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_export_failed + self.dropped_shutdown
    }
}

/// The variables to read: given, or the process environment.
struct Env(Option<Vec<(String, String)>>);

impl Env {
    fn get(&self, name: &str) -> Option<String> {
        let value = match &self.0 {
            Some(vars) => vars
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

/// The settings after the `OTEL_*` variables filled the gaps.
struct Resolved {
    endpoint: Option<String>,
    protocol: Protocol,
    headers: Vec<(String, String)>,
    service_name: String,
    attributes: Vec<(String, String)>,
    sampling_ratio: f64,
}

fn resolve(config: &TelemetryConfig, env: &Env, default_name: &str) -> Result<Resolved, Error> {
    let mut v = Validator::new();
    v.nested("", config);
    let mut problems: Vec<Violation> = v
        .into_problems()
        .into_iter()
        .map(|p| Violation::new(p.key.trim_start_matches('.'), p.message))
        .collect();
    let mut problem = |key: &str, message: &str| problems.push(Violation::new(key, message));

    let protocol = match config.protocol {
        Some(p) => p,
        None => {
            let var = [
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ]
            .into_iter()
            .find_map(|name| env.get(name).map(|value| (name, value)));
            match var {
                Some((name, value)) => Protocol::from_name(&value).unwrap_or_else(|| {
                    problem(
                        name,
                        "must be `http/protobuf` or `grpc` (`http/json` is not supported)",
                    );
                    Protocol::HttpProtobuf
                }),
                None => Protocol::HttpProtobuf,
            }
        }
    };

    let disabled = env
        .get("OTEL_SDK_DISABLED")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || env
            .get("OTEL_TRACES_EXPORTER")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
    let endpoint = if disabled {
        None
    } else if let Some(endpoint) = &config.endpoint {
        Some(endpoint.clone())
    } else if let Some(endpoint) = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        let mut v = Validator::new();
        config::check_endpoint(
            &mut v,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            endpoint.trim(),
        );
        problems.extend(v.into_problems());
        Some(endpoint.trim().to_owned())
    } else if let Some(base) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        let mut v = Validator::new();
        config::check_endpoint(&mut v, "OTEL_EXPORTER_OTLP_ENDPOINT", base.trim());
        problems.extend(v.into_problems());
        // The base URL of every signal: HTTP adds the signal's path.
        Some(match protocol {
            Protocol::Grpc => base.trim().to_owned(),
            _ => format!("{}/v1/traces", base.trim().trim_end_matches('/')),
        })
    } else {
        None
    };

    let headers = if config.headers.is_empty() {
        let var = [
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ]
        .into_iter()
        .find_map(|name| env.get(name).map(|value| (name, value)));
        match var {
            Some((name, value)) => match key_values(&value) {
                Some(pairs) if pairs.iter().all(|(k, v)| valid_header(k, v)) => pairs,
                _ => {
                    problems.push(Violation::new(
                        name,
                        "must be comma-separated `name=value` pairs of valid HTTP header names and values",
                    ));
                    Vec::new()
                }
            },
            None => Vec::new(),
        }
    } else {
        config
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect()
    };

    let service_name = config
        .service_name
        .clone()
        .or_else(|| env.get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()))
        .unwrap_or_else(|| default_name.to_owned());

    let mut attributes: Vec<(String, String)> = config
        .resource_attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(value) = env.get("OTEL_RESOURCE_ATTRIBUTES") {
        match key_values(&value) {
            Some(pairs) => {
                for (k, v) in pairs {
                    if !config.resource_attributes.contains_key(&k) {
                        attributes.push((k, v));
                    }
                }
            }
            None => problems.push(Violation::new(
                "OTEL_RESOURCE_ATTRIBUTES",
                "must be comma-separated `key=value` pairs (values percent-encoded)",
            )),
        }
    }

    let sampling_ratio = match config.sampling_ratio {
        Some(ratio) => ratio,
        None => match env.get("OTEL_TRACES_SAMPLER_ARG") {
            Some(arg) => match arg.trim().parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
                _ => {
                    problems.push(Violation::new(
                        "OTEL_TRACES_SAMPLER_ARG",
                        "must be a number between 0 and 1",
                    ));
                    1.0
                }
            },
            None => 1.0,
        },
    };

    if problems.is_empty() {
        Ok(Resolved {
            endpoint,
            protocol,
            headers,
            service_name,
            attributes,
            sampling_ratio,
        })
    } else {
        Err(Error::InvalidConfig { problems })
    }
}

/// `k=v,k2=v2` with percent-encoded values (the OpenTelemetry
/// specification's format for `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS`); `None` when a member has no `=`, an empty
/// key, or a value that does not decode to UTF-8.
fn key_values(text: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for member in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (key, value) = member.split_once('=')?;
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        let value = percent_encoding::percent_decode_str(value.trim())
            .decode_utf8()
            .ok()?;
        pairs.push((key.to_owned(), value.into_owned()));
    }
    Some(pairs)
}

fn valid_header(name: &str, value: &str) -> bool {
    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
        && http::HeaderValue::from_str(value).is_ok()
}

/// The resource every span carries.
fn resource(resolved: &Resolved, version: &str) -> Resource {
    let mut attributes = vec![
        KeyValue::new("service.name", resolved.service_name.clone()),
        KeyValue::new(
            "service.instance.id",
            RandomIdGenerator::default().new_trace_id_hex(),
        ),
        KeyValue::new("process.pid", i64::from(std::process::id())),
    ];
    if !version.is_empty() {
        attributes.push(KeyValue::new("service.version", version.to_owned()));
    }
    if let Some(host) = host_name() {
        attributes.push(KeyValue::new("host.name", host));
    }
    if let Some(name) = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        attributes.push(KeyValue::new("process.executable.name", name));
    }
    for (key, value) in &resolved.attributes {
        attributes.push(KeyValue::new(key.clone(), value.clone()));
    }
    Resource::builder_empty()
        .with_detector(Box::new(
            opentelemetry_sdk::resource::TelemetryResourceDetector,
        ))
        .with_attributes(attributes)
        .build()
}

/// The machine's name: the kernel's on Linux, else `HOSTNAME`.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}

/// A random id as 32 hex digits.
trait HexId {
    fn new_trace_id_hex(&self) -> String;
}

impl HexId for RandomIdGenerator {
    fn new_trace_id_hex(&self) -> String {
        use opentelemetry_sdk::trace::IdGenerator as _;
        format!("{:032x}", self.new_trace_id())
    }
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
