//! The `metrics` facade through the recorder.

use pr_errors::CodedError;
use pr_metrics::{ExpositionFormat, Registry, SeriesValue};

#[test]
fn macros_land_in_the_registry() {
    let registry = Registry::default();
    metrics::with_local_recorder(&registry.recorder(), || {
        metrics::describe_counter!("orders_total", "Orders placed.");
        metrics::describe_histogram!(
            "order_value_seconds",
            metrics::Unit::Seconds,
            "Time to place."
        );
        for _ in 0..3 {
            metrics::counter!("orders_total", "region" => "eu").increment(1);
        }
        metrics::counter!("orders_total", "region" => "us").absolute(10);
        metrics::gauge!("orders_open").set(4.0);
        metrics::gauge!("orders_open").decrement(1.0);
        metrics::histogram!("order_value_seconds").record(0.5);
    });
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot.value("orders_total", &[("region", "eu")]),
        Some(&SeriesValue::Counter { value: 3 })
    );
    assert_eq!(
        snapshot.value("orders_total", &[("region", "us")]),
        Some(&SeriesValue::Counter { value: 10 })
    );
    assert_eq!(
        snapshot.value("orders_open", &[]),
        Some(&SeriesValue::Gauge { value: 3.0 })
    );
    let text = registry.render(ExpositionFormat::Prometheus);
    assert!(
        text.contains("# HELP orders_total Orders placed.\n"),
        "{text}"
    );
    assert!(text.contains("order_value_seconds_count 1\n"), "{text}");
    assert!(registry.rejected().is_empty());
}

#[test]
fn bad_names_are_refused_not_rewritten() {
    let registry = Registry::default();
    metrics::with_local_recorder(&registry.recorder(), || {
        metrics::counter!("requestCount").increment(1);
        metrics::gauge!("latency_ms").set(1.0);
        metrics::counter!("good_total", "le" => "1").increment(1);
        metrics::counter!("mixed_total").increment(1);
        metrics::gauge!("mixed_total").set(1.0);
    });
    assert_eq!(
        registry.rejected(),
        vec!["good_total", "latency_ms", "mixed_total", "requestCount"]
    );
    let text = registry.render(ExpositionFormat::Prometheus);
    assert!(
        !text.contains("request") && !text.contains("latency"),
        "{text}"
    );
    assert!(text.contains("mixed_total 1"), "{text}");
}

#[test]
fn typed_handles_convert_to_facade_handles() {
    let registry = Registry::default();
    let counter: metrics::Counter = registry.counter("converted_total", &[]).unwrap().into();
    counter.increment(2);
    let histogram: metrics::Histogram =
        registry.histogram("converted_seconds", &[]).unwrap().into();
    histogram.record(1.0);
    let gauge: metrics::Gauge = registry.gauge("converted_ratio", &[]).unwrap().into();
    gauge.set(0.5);
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot.value("converted_total", &[]),
        Some(&SeriesValue::Counter { value: 2 })
    );
}

#[test]
fn install_globally_once() {
    let registry = Registry::default();
    registry.install().unwrap();
    metrics::counter!("global_installs_total").increment(1);
    assert!(
        registry
            .render(ExpositionFormat::Prometheus)
            .contains("global_installs_total 1")
    );
    let err = Registry::default().install().unwrap_err();
    assert_eq!(err.code().as_str(), "metrics.recorder_installed");
}
