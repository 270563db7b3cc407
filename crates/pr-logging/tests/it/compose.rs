//! pr-logging beside other layers, and the `log` crate's records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pr_core::time::ManualClock;
use pr_logging::{LogFormat, LogRateLimitConfig, Logging};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

use crate::support::{Buf, T0, plain_file, quiet, read};

/// A layer that counts the events and spans it is given.
#[derive(Clone, Default)]
struct Counting {
    events: Arc<AtomicUsize>,
    spans: Arc<AtomicUsize>,
}

impl<S: Subscriber> Layer<S> for Counting {
    fn on_event(&self, _event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    fn on_new_span(
        &self,
        _attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: Context<'_, S>,
    ) {
        self.spans.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counting {
    fn events(&self) -> usize {
        self.events.load(Ordering::Relaxed)
    }

    fn spans(&self) -> usize {
        self.spans.load(Ordering::Relaxed)
    }
}

#[test]
fn a_layer_beside_pr_logging_sees_what_its_own_filter_admits() {
    let buf = Buf::default();
    let mut config = quiet();
    config.filter = "warn".to_owned();
    let counting = Counting::default();
    let (dispatch, guard) = Logging::builder(&config)
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .with_layer(counting.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("request", id = 7);
        let _entered = span.enter();
        tracing::info!("below pr-logging's level");
        tracing::warn!("at pr-logging's level");
    });
    drop(guard);
    // The other layer has no filter: it saw the span and both events.
    assert_eq!((counting.spans(), counting.events()), (1, 2));
    let lines = buf.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["message"], "at pr-logging's level");
}

#[test]
fn a_filtered_layer_beside_pr_logging_does_not_widen_what_it_writes() {
    let buf = Buf::default();
    let mut config = quiet();
    config.filter = "info".to_owned();
    let counting = Counting::default();
    let (dispatch, guard) = Logging::builder(&config)
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .with_layer(
            counting
                .clone()
                .with_filter(tracing::level_filters::LevelFilter::ERROR),
        )
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::debug!("nobody's");
        tracing::info!("pr-logging's");
        tracing::error!("both");
    });
    drop(guard);
    assert_eq!(counting.events(), 1);
    let messages: Vec<_> = buf.lines().iter().map(|l| l["message"].clone()).collect();
    assert_eq!(messages, ["pr-logging's", "both"]);
}

#[test]
fn the_layer_composes_by_hand_and_keeps_its_runtime_levels() {
    let buf = Buf::default();
    let mut config = quiet();
    config.filter = "info".to_owned();
    let (layer, guard) = Logging::builder(&config)
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build_layer()
        .unwrap();
    let counting = Counting::default();
    let subscriber = tracing_subscriber::registry()
        .with(counting.clone())
        .with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!("hidden at info");
        guard.levels().set("debug").unwrap();
        tracing::debug!("shown at debug");
        let span = tracing::info_span!("job", trace_id = "4bf92f3577b34da6a3ce929d0e0e4736");
        span.in_scope(|| tracing::info!("in a span"));
    });
    let lines = buf.lines();
    let messages: Vec<_> = lines.iter().map(|l| l["message"].clone()).collect();
    assert_eq!(
        messages,
        ["log filter changed", "shown at debug", "in a span"],
        "{lines:?}"
    );
    assert_eq!(lines[2]["span"]["name"], "job");
    assert_eq!(lines[2]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    // The other layer saw the hidden event too.
    assert_eq!(counting.events(), 4);
    drop(guard);
}

#[test]
fn layers_added_to_the_builder_are_refused_by_build_layer() {
    let Err(err) = Logging::builder(&quiet())
        .with_layer(Counting::default())
        .build_layer::<tracing_subscriber::Registry>()
    else {
        panic!("build_layer accepted layers it would have dropped");
    };
    assert!(
        matches!(&err, pr_logging::Error::InvalidConfig { problems } if problems[0].key == "layers"),
        "{err}"
    );
}

#[test]
fn a_log_record_is_written_with_its_own_target_level_and_location() {
    pr_logging::bridge_log().unwrap();
    // A second call is a no-op.
    pr_logging::bridge_log().unwrap();
    // Into a JSON file output, as a service's logs go.
    let dir = pr_test_support::temp_dir("log-bridge");
    let path = dir.path().join("app.log");
    let mut config = quiet();
    config.files.push(plain_file(path.clone()));
    config.filter = "info,noisy_dependency=error".to_owned();
    let (dispatch, guard) = Logging::builder(&config).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        log::warn!(target: "dependency::client", "connected after {} tries", 3);
        log::warn!(target: "noisy_dependency", "filtered by its own target");
        log::error!(target: "noisy_dependency", "admitted at error");
        log::debug!(target: "dependency::client", "below the level");
    });
    drop(guard);
    let lines: Vec<serde_json::Value> = read(&path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["target"], "dependency::client");
    assert_eq!(lines[0]["level"], "WARN");
    assert_eq!(lines[0]["message"], "connected after 3 tries");
    assert!(
        lines[0]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("log.")),
        "{lines:?}"
    );
    assert_eq!(lines[1]["target"], "noisy_dependency");
    assert_eq!(lines[1]["level"], "ERROR");
}

#[test]
fn a_log_records_location_is_its_own_at_debug() {
    pr_logging::bridge_log().unwrap();
    let buf = Buf::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        log::debug!(target: "dependency", "where");
    });
    drop(guard);
    let lines = buf.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]["file"].as_str().unwrap().ends_with("compose.rs"),
        "{lines:?}"
    );
    assert!(lines[0]["line"].as_u64().unwrap() > 0);
}

#[test]
fn log_records_are_rate_limited_per_call_site_not_per_level() {
    pr_logging::bridge_log().unwrap();
    let buf = Buf::default();
    let mut config = quiet();
    let mut limits = LogRateLimitConfig::default();
    limits.per_second = 2;
    config.rate_limit = Some(limits);
    let clock = ManualClock::at_unix(T0);
    let (dispatch, guard) = Logging::builder(&config)
        .clock(clock.clock())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..5 {
            log::info!(target: "chatty", "chatty {i}");
        }
        log::info!(target: "quiet", "a second site at the same level");
    });
    drop(guard);
    let lines = buf.lines();
    let count = |prefix: &str| {
        lines
            .iter()
            .filter(|l| l["message"].as_str().unwrap().starts_with(prefix))
            .count()
    };
    assert_eq!(count("chatty"), 2, "{lines:?}");
    assert_eq!(count("a second site"), 1, "{lines:?}");
}

#[cfg(feature = "otel")]
#[test]
fn a_line_inside_an_opentelemetry_span_carries_its_w3c_ids() {
    use opentelemetry::trace::TracerProvider as _;

    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    let buf = Buf::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .with_layer(otel)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("outside any span");
        // A span field named trace_id loses to the OpenTelemetry context.
        tracing::info_span!("request", trace_id = "not-the-w3c-one").in_scope(|| {
            tracing::info_span!("db").in_scope(|| tracing::info!("inside"));
        });
    });
    drop(guard);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let db = spans.iter().find(|s| s.name == "db").unwrap();
    let lines = buf.lines();
    assert!(lines[0].get("trace_id").is_none(), "{lines:?}");
    assert_eq!(
        lines[1]["trace_id"],
        format!("{:032x}", db.span_context.trace_id())
    );
    assert_eq!(
        lines[1]["span_id"],
        format!("{:016x}", db.span_context.span_id())
    );
}
