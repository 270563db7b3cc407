//! pr-telemetry: what tracing export costs a request.
//!
//! - `telemetry/json_event_in_otel_span`: one INFO event with 3 fields,
//!   formatted as JSON, inside an active OpenTelemetry span: pr-logging
//!   (which also reads the span's W3C ids for the line) beside
//!   tracing-subscriber's JSON layer, each with tracing-opentelemetry on
//!   the same tracer, assembled by hand. The peer's lines carry no trace
//!   ids: it does less.
//! - `telemetry/span_per_request`: one span with 3 fields created, entered
//!   and closed, exported by pr-telemetry to an OTLP receiver in this
//!   process (the export thread busy beside the bench), against the same
//!   span with no subscriber: the floor, so the ratio is the cost of a span.
//! - `telemetry/span_per_request_collector_silent`: the same span while the
//!   collector accepts connections and never answers: the queue is full,
//!   each span is dropped and counted, and the request pays no more.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::TracerProvider as _;
use pr_logging::{LogFormat, Logging, LoggingConfig};
use tracing::{Dispatch, Level};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

fn event() {
    tracing::info!(
        user = "ada",
        status = black_box(200_u64),
        latency = black_box(0.0035_f64),
        "request done"
    );
}

fn json_event_in_otel_span(c: &mut Criterion) {
    // Spans recorded, none exported: the layers' cost, not an exporter's.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = provider.tracer("bench");
    let mut config = LoggingConfig::default();
    config.console.enabled = false;
    config.filter = "info".to_owned();
    let (ours, guard) = Logging::builder(&config)
        .writer("sink", Level::TRACE, LogFormat::Json, std::io::sink())
        .with_layer(tracing_opentelemetry::layer().with_tracer(tracer.clone()))
        .build()
        .expect("a valid config");
    let peer = Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::sink)
                    .with_filter(tracing::level_filters::LevelFilter::INFO),
            ),
    );
    let mut group = c.benchmark_group("telemetry/json_event_in_otel_span");
    for (name, dispatch) in [
        ("ours", &ours),
        ("tracing_subscriber + tracing-opentelemetry", &peer),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            let span = tracing::info_span!("request", route = "/quote/{symbol}");
            let _entered = span.enter();
            group.bench_function(name, |b| b.iter(event));
        });
    }
    group.finish();
    drop(guard);
}

/// One request's span: 3 fields, entered and closed.
fn request_span() {
    let span = tracing::info_span!(
        "request",
        route = "/quote/{symbol}",
        status = black_box(200_u64),
        client = "198.51.100.7"
    );
    let _entered = span.enter();
}

/// Telemetry exporting to `endpoint` as `config` says, and a subscriber
/// with its layer.
fn exporting(
    endpoint: String,
    mut config: pr_telemetry::TelemetryConfig,
) -> (pr_telemetry::Telemetry, Dispatch) {
    config.endpoint = Some(endpoint);
    let telemetry = pr_telemetry::Telemetry::builder(&config)
        .service("bench", "0")
        .env_vars(std::iter::empty::<(String, String)>())
        .build()
        .expect("a valid config");
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(telemetry.layer()));
    (telemetry, dispatch)
}

fn span_per_request(c: &mut Criterion) {
    let receiver = pr_test_support::otlp::Receiver::http();
    let mut config = pr_telemetry::TelemetryConfig::default();
    config.batch_delay = pr_core::units::Duration::from_millis(200);
    let (telemetry, ours) = exporting(receiver.traces_url(), config);
    let mut group = c.benchmark_group("telemetry/span_per_request");
    tracing::dispatcher::with_default(&ours, || {
        group.bench_function("ours", |b| b.iter(request_span));
    });
    tracing::dispatcher::with_default(&Dispatch::none(), || {
        group.bench_function("no subscriber (the floor)", |b| b.iter(request_span));
    });
    group.finish();
    let _ = telemetry.shutdown(Duration::from_secs(5));
}

fn span_per_request_collector_silent(c: &mut Criterion) {
    let silent = pr_test_support::otlp::Silent::start();
    let mut config = pr_telemetry::TelemetryConfig::default();
    config.queue_size = 64;
    config.batch_size = 64;
    config.export_timeout = pr_core::units::Duration::from_secs(3600);
    let (telemetry, ours) = exporting(format!("http://{}/v1/traces", silent.addr), config);
    let mut group = c.benchmark_group("telemetry/span_per_request_collector_silent");
    tracing::dispatcher::with_default(&ours, || {
        group.bench_function("ours", |b| b.iter(request_span));
    });
    group.finish();
    let _ = telemetry.shutdown(Duration::from_millis(100));
}

criterion_group!(
    benches,
    json_event_in_otel_span,
    span_per_request,
    span_per_request_collector_silent
);
criterion_main!(benches);
