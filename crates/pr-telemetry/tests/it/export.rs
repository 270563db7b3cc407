//! Spans exported to real receivers, and what a down or silent collector
//! costs.

use std::time::Duration;

use pr_telemetry::{Protocol, Telemetry, TelemetryConfig};
use tracing_subscriber::layer::SubscriberExt as _;

use pr_test_support::otlp::{Receiver, Silent, closed_port, hex};

/// A config that sends each span at once, to `endpoint`.
fn eager(endpoint: String) -> TelemetryConfig {
    let mut config = TelemetryConfig::default();
    config.endpoint = Some(endpoint);
    config.batch_size = 1;
    config.batch_delay = pr_core::units::Duration::from_millis(10);
    config
}

fn start(config: &TelemetryConfig, env: &[(&str, &str)]) -> Telemetry {
    Telemetry::builder(config)
        .service("checkout", "1.4.2")
        .env_vars(env.iter().copied())
        .build()
        .unwrap()
}

/// A parent span with a child, under `telemetry`'s layer.
fn request(telemetry: &Telemetry) {
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, || {
        let parent = tracing::info_span!("checkout.pay", order = 17);
        parent.in_scope(|| {
            tracing::info_span!("db.query", table = "orders").in_scope(|| {
                tracing::info!("inside the child");
            });
        });
    });
}

fn exports_a_parent_and_its_child(receiver: &Receiver, protocol: Protocol, endpoint: String) {
    let mut config = eager(endpoint);
    config.protocol = Some(protocol);
    config
        .resource_attributes
        .insert("deployment.environment".to_owned(), "test".to_owned());
    let telemetry = start(
        &config,
        &[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "team=payments,deployment.environment=ignored",
        )],
    );
    assert!(telemetry.is_exporting());
    request(&telemetry);
    telemetry.shutdown(Duration::from_secs(10)).unwrap();

    let spans = receiver.received.spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    let parent = spans
        .iter()
        .find(|(s, _)| s.name == "checkout.pay")
        .unwrap();
    let child = spans.iter().find(|(s, _)| s.name == "db.query").unwrap();
    assert_eq!(child.0.trace_id, parent.0.trace_id);
    assert_eq!(child.0.parent_span_id, parent.0.span_id);
    assert!(parent.0.parent_span_id.is_empty(), "the parent is a root");
    assert_eq!(hex(&parent.0.trace_id).len(), 32);

    let attributes = &parent.1;
    let get = |key: &str| {
        attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("service.name"), Some("checkout"));
    assert_eq!(get("service.version"), Some("1.4.2"));
    assert_eq!(
        get("deployment.environment"),
        Some("test"),
        "the config wins"
    );
    assert_eq!(get("team"), Some("payments"), "the variable adds");
    assert_eq!(
        get("process.pid"),
        Some(std::process::id().to_string().as_str())
    );
    assert_eq!(get("service.instance.id").map(str::len), Some(32));
    assert!(get("host.name").is_some_and(|h| !h.is_empty()));
    assert_eq!(get("telemetry.sdk.language"), Some("rust"));

    let snapshot = telemetry.snapshot();
    assert_eq!(snapshot.exported, 2);
    assert_eq!(snapshot.dropped(), 0);
}

#[test]
fn spans_reach_an_otlp_http_receiver_with_their_structure_and_resource() {
    let receiver = Receiver::http();
    exports_a_parent_and_its_child(&receiver, Protocol::HttpProtobuf, receiver.traces_url());
}

#[test]
fn spans_reach_an_otlp_grpc_receiver_with_their_structure_and_resource() {
    let receiver = Receiver::grpc();
    exports_a_parent_and_its_child(&receiver, Protocol::Grpc, receiver.grpc_url());
}

#[test]
fn the_standard_variables_name_the_endpoint_and_protocol() {
    let receiver = Receiver::grpc();
    let telemetry = start(
        &TelemetryConfig::default(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_url().as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ],
    );
    assert_eq!(
        telemetry.endpoint(),
        Some((receiver.grpc_url().as_str(), Protocol::Grpc))
    );
    request(&telemetry);
    telemetry.shutdown(Duration::from_secs(10)).unwrap();
    let spans = receiver.received.spans();
    assert_eq!(spans.len(), 2);
    assert!(
        spans[0]
            .1
            .iter()
            .any(|(k, v)| k == "service.name" && v == "from-env")
    );
}

#[test]
fn a_continued_trace_keeps_its_callers_ids_and_sampling_decision() {
    let receiver = Receiver::http();
    let mut config = eager(receiver.traces_url());
    // New traces are never sampled; a caller's sampled trace still is.
    config.sampling_ratio = Some(0.0);
    let telemetry = start(&config, &[]);
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    let mut outgoing = http::HeaderMap::new();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("not sampled").in_scope(|| {});
        let span = tracing::info_span!("continued");
        pr_telemetry::propagation::continue_trace(&span, &headers);
        span.in_scope(|| {
            pr_telemetry::propagation::inject_span(&tracing::Span::current(), &mut outgoing);
        });
    });
    telemetry.shutdown(Duration::from_secs(10)).unwrap();
    let spans = receiver.received.spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span = &spans[0].0;
    assert_eq!(span.name, "continued");
    assert_eq!(hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&span.parent_span_id), "00f067aa0ba902b7");
    // What the span passes on names it as the callee's parent.
    let traceparent = outgoing["traceparent"].to_str().unwrap();
    assert_eq!(
        traceparent,
        format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01",
            hex(&span.span_id)
        )
    );
}

#[test]
fn without_an_endpoint_nothing_is_recorded() {
    let telemetry = start(&TelemetryConfig::default(), &[]);
    assert!(!telemetry.is_exporting());
    assert!(telemetry.layer::<tracing_subscriber::Registry>().is_none());
    telemetry.shutdown(Duration::from_millis(1)).unwrap();
    // The kill switch wins over a configured endpoint.
    let telemetry = start(
        &eager("http://127.0.0.1:4318/v1/traces".to_owned()),
        &[("OTEL_SDK_DISABLED", "true")],
    );
    assert!(!telemetry.is_exporting());
}

#[test]
fn a_collector_that_is_down_costs_dropped_spans_and_a_counter() {
    let mut config = eager(format!("http://{}/v1/traces", closed_port()));
    // Nothing leaves before shutdown, which then finds the collector down.
    config.batch_size = 512;
    config.batch_delay = pr_core::units::Duration::from_secs(3600);
    config.export_timeout = pr_core::units::Duration::from_millis(500);
    let telemetry = start(&config, &[]);
    request(&telemetry);
    // Shutdown reports what it could not send, within its deadline.
    let result = telemetry.shutdown(Duration::from_secs(5));
    let snapshot = telemetry.snapshot();
    assert_eq!(snapshot.exported, 0);
    assert_eq!(snapshot.dropped(), 2, "{snapshot:?}");
    assert!(snapshot.failed_exports >= 1, "{snapshot:?}");
    assert!(
        matches!(result, Err(pr_telemetry::Error::FlushIncomplete { .. })),
        "{result:?}"
    );
}

#[test]
fn a_silent_collector_never_blocks_the_spans_and_a_full_queue_drops() {
    let silent = Silent::start();
    let mut config = eager(format!("http://{}/v1/traces", silent.addr));
    config.queue_size = 2;
    // Long enough that the export thread is stuck on the first batch while
    // the spans below end.
    config.export_timeout = pr_core::units::Duration::from_secs(30);
    let telemetry = start(&config, &[]);
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..50 {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
    let snapshot = telemetry.snapshot();
    // One batch in flight at most, two queued: the rest were dropped.
    assert!(snapshot.dropped_queue_full >= 47, "{snapshot:?}");
    assert_eq!(snapshot.exported, 0);
    // The deadline bounds shutdown while the collector still says nothing.
    let result = telemetry.shutdown(Duration::from_millis(200));
    assert!(
        matches!(result, Err(pr_telemetry::Error::FlushIncomplete { .. })),
        "{result:?}"
    );
}
