//! The exposition text of every metric kind, checked by the real
//! `promtool` (Debian's `prometheus` package; `.ci/run` installs it).

use pr_core::time::ManualClock;
use pr_metrics::{ExpositionFormat, MetricKind, Registry};
use pr_test_support::{check_metrics, check_openmetrics};

/// A registry with every kind, labels needing escapes, global labels, a
/// summary, a unit, and an overflowed family.
fn full_registry() -> Registry {
    let registry = Registry::builder()
        .clock(ManualClock::at_unix(1_700_000_000).clock())
        .global_label("service", "shop \"eu\"")
        .max_series_per_metric(2)
        .summary("rpc_latency_seconds")
        .buckets(
            "payload_size_bytes",
            pr_metrics::exponential(64.0, 4.0, 6).unwrap(),
        )
        .build()
        .unwrap();
    let describe = |name, kind, unit, help| registry.describe(name, kind, unit, help).unwrap();
    describe(
        "http_requests_total",
        MetricKind::Counter,
        None,
        "Requests served,\nby \"path\" and C:\\ drive.",
    );
    describe("queue_depth", MetricKind::Gauge, None, "Jobs waiting.");
    describe(
        "http_request_duration_seconds",
        MetricKind::Histogram,
        Some(metrics::Unit::Seconds),
        "Time to answer.",
    );
    describe(
        "payload_size_bytes",
        MetricKind::Histogram,
        Some(metrics::Unit::Bytes),
        "Payload sizes.",
    );
    describe(
        "rpc_latency_seconds",
        MetricKind::Histogram,
        Some(metrics::Unit::Seconds),
        "RPC latency.",
    );
    describe(
        "tenant_logins_total",
        MetricKind::Counter,
        None,
        "Logins per tenant.",
    );
    describe(
        "sent_bytes_total",
        MetricKind::Counter,
        Some(metrics::Unit::Bytes),
        "Bytes sent.",
    );

    registry
        .counter(
            "http_requests_total",
            &[("path", "/a\"b\\c\nd"), ("method", "GET")],
        )
        .unwrap()
        .inc_by(7);
    registry
        .counter("http_requests_total", &[("path", "/"), ("method", "POST")])
        .unwrap()
        .inc();
    registry.gauge("queue_depth", &[]).unwrap().set(-3.5);
    let latency = registry
        .histogram("http_request_duration_seconds", &[("route", "/")])
        .unwrap();
    for v in [0.001, 0.02, 0.2, 2.0, 30.0] {
        latency.record(v);
    }
    registry
        .histogram("payload_size_bytes", &[])
        .unwrap()
        .record(1000.0);
    let rpc = registry
        .histogram("rpc_latency_seconds", &[("peer", "db")])
        .unwrap();
    for i in 1..=100 {
        rpc.record(f64::from(i) / 1000.0);
    }
    for tenant in ["a", "b", "c", "d"] {
        registry
            .counter("tenant_logins_total", &[("tenant", tenant)])
            .unwrap()
            .inc();
    }
    registry
        .counter("sent_bytes_total", &[])
        .unwrap()
        .inc_by(1 << 40);
    registry
}

#[test]
fn prometheus_text_passes_promtool_check_metrics() {
    let registry = full_registry();
    let text = registry.render(ExpositionFormat::Prometheus);
    // Spot checks of the format itself.
    assert!(
        text.contains(
            "# HELP http_requests_total Requests served,\\nby \"path\" and C:\\\\ drive.\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{service="shop \"eu\"",method="GET",path="/a\"b\\c\nd"} 7"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"http_request_duration_seconds_bucket{service="shop \"eu\"",route="/",le="+Inf"} 5"#
    ));
    assert!(
        text.contains(r#"http_request_duration_seconds_count{service="shop \"eu\"",route="/"} 5"#)
    );
    assert!(
        text.contains(
            r#"rpc_latency_seconds{service="shop \"eu\"",peer="db",quantile="0.5"} 0.049"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"tenant_logins_total{service="shop \"eu\"",metric_overflow="true"} 2"#)
    );
    assert!(text.contains("# TYPE rpc_latency_seconds summary\n"));
    assert!(!text.contains("# EOF") && !text.contains("_created"));

    // Accepted, and without a word: check_metrics refuses any output.
    if let Err(problems) = check_metrics(&text) {
        panic!("{problems}\n{text}");
    }
}

/// `promtool check metrics` reads only the Prometheus text format; its
/// `OpenMetrics` parser is behind `tsdb create-blocks-from openmetrics`,
/// which wants a timestamp on every sample.
#[test]
fn openmetrics_text_parses_with_promtool() {
    let registry = full_registry();
    let text = registry.render(ExpositionFormat::OpenMetrics);
    assert!(text.ends_with("# EOF\n"));
    assert!(text.contains("# TYPE http_requests counter\n"), "{text}");
    assert!(
        text.contains("# UNIT http_request_duration_seconds seconds\n"),
        "{text}"
    );
    assert!(text.contains("# UNIT sent_bytes bytes\n"), "{text}");
    assert!(
        text.contains(
            "# HELP http_requests Requests served,\\nby \\\"path\\\" and C:\\\\ drive.\n"
        )
    );
    assert!(text.contains(r#"http_requests_created{service="shop \"eu\"",method="GET",path="/a\"b\\c\nd"} 1700000000"#), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1);

    if let Err(said) = check_openmetrics(&text) {
        panic!("promtool's OpenMetrics parser: {said}");
    }
}

#[test]
fn empty_registry_renders_valid_empty_pages() {
    let registry = Registry::default();
    assert_eq!(registry.render(ExpositionFormat::Prometheus), "");
    assert_eq!(registry.render(ExpositionFormat::OpenMetrics), "# EOF\n");
}
