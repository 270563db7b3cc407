//! Typed registration, label limits, expiry, concurrency.

use std::sync::Arc;
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_errors::CodedError;
use pr_metrics::{Clock, ExpositionFormat, MetricKind, Registry, SeriesValue};

#[test]
fn handles_share_series_and_kinds_conflict() {
    let registry = Registry::default();
    let a = registry.counter("hits_total", &[("route", "/a")]).unwrap();
    let b = registry.counter("hits_total", &[("route", "/a")]).unwrap();
    a.inc();
    b.inc_by(2);
    assert_eq!(a.value(), 3);
    let err = registry.gauge("hits_total", &[]).unwrap_err();
    assert_eq!(err.code().as_str(), "metrics.kind_conflict");
    assert!(
        err.to_string().contains("already registered as a counter"),
        "{err}"
    );
}

#[test]
fn labels_are_checked_and_order_does_not_matter() {
    let registry = Registry::builder()
        .global_label("service", "api")
        .build()
        .unwrap();
    let a = registry
        .gauge("queue_depth", &[("b", "2"), ("a", "1")])
        .unwrap();
    let b = registry
        .gauge("queue_depth", &[("a", "1"), ("b", "2")])
        .unwrap();
    a.set(5.0);
    assert!((b.value() - 5.0).abs() < f64::EPSILON);
    for (labels, code) in [
        (&[("le", "1")][..], "metrics.reserved_label"),
        (&[("service", "x")][..], "metrics.reserved_label"),
        (&[("__meta", "x")][..], "metrics.reserved_label"),
        (&[("a", "1"), ("a", "2")][..], "metrics.invalid_label"),
        (&[("bad-name", "1")][..], "metrics.invalid_label"),
    ] {
        let err = registry.gauge("queue_depth", labels).unwrap_err();
        assert_eq!(err.code().as_str(), code, "{labels:?}");
    }
}

#[test]
fn cardinality_limit_sends_new_label_sets_to_one_overflow_series() {
    let registry = Registry::builder()
        .max_series_per_metric(3)
        .build()
        .unwrap();
    for user in 0..10 {
        registry
            .counter("logins_total", &[("user", &user.to_string())])
            .unwrap()
            .inc();
    }
    // A known label set still reaches its own series.
    registry
        .counter("logins_total", &[("user", "1")])
        .unwrap()
        .inc();
    let snapshot = registry.snapshot();
    let family = snapshot.family("logins_total").unwrap();
    assert_eq!(family.series.len(), 4);
    let overflow = family.series.last().unwrap();
    assert_eq!(
        overflow.labels.get("metric_overflow").map(String::as_str),
        Some("true")
    );
    assert_eq!(overflow.value, SeriesValue::Counter { value: 7 });
    assert_eq!(
        snapshot.value("logins_total", &[("user", "1")]),
        Some(&SeriesValue::Counter { value: 2 })
    );
}

#[test]
fn idle_series_expire_only_when_unheld_and_unchanged() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let registry = Registry::builder()
        .clock(clock.clock())
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let held = registry.counter("held_total", &[]).unwrap();
    held.inc();
    registry
        .counter("transient_total", &[("id", "1")])
        .unwrap()
        .inc();
    registry.counter("busy_total", &[]).unwrap().inc();
    let _ = registry.render(ExpositionFormat::Prometheus);
    clock.advance(Duration::from_secs(30));
    registry.counter("busy_total", &[]).unwrap().inc();
    let _ = registry.render(ExpositionFormat::Prometheus);
    clock.advance(Duration::from_secs(45));
    let text = registry.render(ExpositionFormat::Prometheus);
    assert!(text.contains("held_total 1"), "{text}");
    assert!(text.contains("busy_total 2"), "{text}");
    assert!(!text.contains("transient_total{"), "{text}");
    // A new registration after expiry starts from zero.
    registry
        .counter("transient_total", &[("id", "1")])
        .unwrap()
        .inc();
    assert!(
        registry
            .render(ExpositionFormat::Prometheus)
            .contains("transient_total{id=\"1\"} 1")
    );
}

#[test]
fn two_threads_on_one_counter_and_one_histogram_exact_totals() {
    let registry = Registry::default();
    let counter = registry.counter("work_total", &[]).unwrap();
    let histogram = registry.histogram("work_duration_seconds", &[]).unwrap();
    const N: u64 = 200_000;
    std::thread::scope(|scope| {
        for t in 0..2 {
            let counter = counter.clone();
            let histogram = histogram.clone();
            scope.spawn(move || {
                for i in 0..N {
                    counter.inc();
                    histogram.record(((i % 4) + t) as f64 * 0.25);
                }
            });
        }
    });
    assert_eq!(counter.value(), 2 * N);
    let stats = histogram.snapshot();
    assert_eq!(stats.count, 2 * N);
    // Thread 0 records 0, .25, .5, .75; thread 1 .25, .5, .75, 1 (N/4 each).
    let expected_sum = (N / 4) as f64 * (1.5 + 2.5);
    assert!((stats.sum - expected_sum).abs() < 1e-6, "{}", stats.sum);
    assert_eq!(stats.min, Some(0.0));
    assert_eq!(stats.max, Some(1.0));
    let text = registry.render(ExpositionFormat::Prometheus);
    assert!(text.contains(&format!(
        "work_duration_seconds_bucket{{le=\"+Inf\"}} {}",
        2 * N
    )));
    assert!(text.contains(&format!("work_duration_seconds_count {}", 2 * N)));
}

#[test]
fn concurrent_scrapes_and_writes_are_safe() {
    let registry = Arc::new(Registry::default());
    std::thread::scope(|scope| {
        for t in 0..2 {
            let registry = registry.clone();
            scope.spawn(move || {
                for i in 0..2_000 {
                    registry
                        .counter("events_total", &[("k", &((i + t) % 50).to_string())])
                        .unwrap()
                        .inc();
                    registry
                        .histogram("event_size_bytes", &[])
                        .unwrap()
                        .record(f64::from(i));
                }
            });
        }
        for _ in 0..2 {
            let registry = registry.clone();
            scope.spawn(move || {
                for _ in 0..50 {
                    let text = registry.render(ExpositionFormat::OpenMetrics);
                    assert!(text.ends_with("# EOF\n"));
                }
            });
        }
    });
    let snapshot = registry.snapshot();
    let total: u64 = snapshot
        .family("events_total")
        .unwrap()
        .series
        .iter()
        .map(|s| match s.value {
            SeriesValue::Counter { value } => value,
            _ => 0,
        })
        .sum();
    assert_eq!(total, 4_000);
}

#[test]
fn timer_records_on_drop_and_can_be_discarded() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let registry = Registry::builder().clock(clock.clock()).build().unwrap();
    let histogram = registry.histogram("job_duration_seconds", &[]).unwrap();
    {
        let _timer = histogram.start_timer();
        clock.advance(Duration::from_millis(250));
    }
    let timer = histogram.start_timer();
    clock.advance(Duration::from_secs(5));
    timer.stop_and_discard();
    let timer = histogram.start_timer();
    clock.advance(Duration::from_secs(2));
    assert!((timer.stop_and_record() - 2.0).abs() < 1e-9);
    let stats = histogram.snapshot();
    assert_eq!(stats.count, 2);
    assert!((stats.sum - 2.25).abs() < 1e-9);
    assert_eq!(stats.min, Some(0.25));
}

#[test]
fn describe_sets_help_and_unit_and_checks_them() {
    let registry = Registry::default();
    registry
        .describe(
            "upload_size_bytes",
            MetricKind::Histogram,
            Some(metrics::Unit::Bytes),
            "Upload sizes.",
        )
        .unwrap();
    let err = registry
        .describe(
            "upload_time",
            MetricKind::Gauge,
            Some(metrics::Unit::Seconds),
            "x",
        )
        .unwrap_err();
    assert_eq!(err.code().as_str(), "metrics.unit_suffix");
    let err = registry
        .describe(
            "upload_seconds",
            MetricKind::Gauge,
            Some(metrics::Unit::Milliseconds),
            "x",
        )
        .unwrap_err();
    assert_eq!(err.code().as_str(), "metrics.non_base_unit");
    let snapshot = registry.snapshot();
    let family = snapshot.family("upload_size_bytes").unwrap();
    assert_eq!(family.unit.as_deref(), Some("bytes"));
    assert_eq!(family.help.as_deref(), Some("Upload sizes."));
}

#[test]
fn snapshot_round_trips_through_serde() {
    let registry = Registry::builder()
        .summary("rpc_latency_seconds")
        .build()
        .unwrap();
    registry
        .counter("rpc_calls_total", &[("method", "get")])
        .unwrap()
        .inc_by(4);
    registry.gauge("rpc_inflight", &[]).unwrap().set(2.0);
    let h = registry.histogram("rpc_latency_seconds", &[]).unwrap();
    for v in [0.1, 0.2, 0.3] {
        h.record(v);
    }
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot.family("rpc_latency_seconds").unwrap().kind,
        MetricKind::Summary
    );
    let json = serde_json::to_string(&snapshot).unwrap();
    assert!(json.contains(r#""type":"counter","value":4"#), "{json}");
    let back: pr_metrics::Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);
}

#[test]
fn invalid_configuration_is_refused() {
    let err = Registry::builder()
        .global_label("bad-label", "x")
        .max_series_per_metric(0)
        .build()
        .unwrap_err();
    assert_eq!(err.code().as_str(), "metrics.invalid_config");
    let err = Registry::builder()
        .buckets("x_seconds", vec![])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(": buckets.x_seconds: "), "{err}");
}

/// Counts the warning and error events it sees, by their `event` field.
#[derive(Default)]
struct Events(std::sync::Mutex<Vec<(tracing::Level, String)>>);

struct EventField(String);

impl tracing::field::Visit for EventField {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "event" {
            self.0 = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "event" {
            self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut field = EventField(String::new());
        event.record(&mut field);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), field.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn overflow_and_refusals_are_logged_once() {
    let events = Arc::new(Events::default());
    let registry = Registry::builder()
        .max_series_per_metric(1)
        .build()
        .unwrap();
    tracing::subscriber::with_default(events.clone(), || {
        metrics::with_local_recorder(&registry.recorder(), || {
            for id in 0..10 {
                metrics::counter!("sessions_total", "id" => id.to_string()).increment(1);
                metrics::counter!("badName_total").increment(1);
            }
        });
    });
    let seen = events.0.lock().unwrap().clone();
    let count = |level: tracing::Level, name: &str| {
        seen.iter()
            .filter(|(l, e)| *l == level && e == name)
            .count()
    };
    assert_eq!(
        count(tracing::Level::WARN, "metrics.cardinality_overflow"),
        1,
        "{seen:?}"
    );
    assert_eq!(
        count(tracing::Level::ERROR, "metrics.registration_refused"),
        1,
        "{seen:?}"
    );
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot.value("sessions_total", &[("metric_overflow", "true")]),
        Some(&SeriesValue::Counter { value: 9 })
    );
}

#[test]
fn small_api_surface() {
    let gauge = pr_metrics::Gauge::detached();
    gauge.inc();
    gauge.inc();
    gauge.dec();
    gauge.add(2.5);
    assert!((gauge.value() - 3.5).abs() < f64::EPSILON);
    let counter = pr_metrics::Counter::detached();
    counter.inc_by(5);
    assert_eq!(counter.value(), 5);

    let clock = ManualClock::at_unix(1_700_000_000);
    let registry = Registry::builder().clock(clock.clock()).build().unwrap();
    assert!(registry.clock().is_manual());
    assert_eq!(registry.config().max_series_per_metric, 1_000);
    assert!(format!("{registry:?}").contains("Registry"));
    assert!(format!("{:?}", clock.clock()).starts_with("Clock::manual"));
    assert_eq!(format!("{:?}", Clock::system()), "Clock::system()");
    let histogram = registry.histogram("op_duration_seconds", &[]).unwrap();
    histogram.record_duration(Duration::from_millis(1500));
    let timer = histogram.start_timer();
    clock.advance(Duration::from_secs(1));
    assert_eq!(timer.elapsed(), Duration::from_secs(1));
    drop(timer);
    let stats = histogram.snapshot();
    assert_eq!(stats.count, 2);
    assert_eq!(stats.mean, Some(1.25));
    assert_eq!(stats.stddev, Some(0.25));
    assert_eq!(ExpositionFormat::OpenMetrics.to_string(), "openmetrics");
    assert_eq!(ExpositionFormat::Prometheus.to_string(), "prometheus");
    assert_eq!(MetricKind::Summary.to_string(), "summary");

    let registry = Registry::new(pr_metrics::MetricsConfig::default()).unwrap();
    let err = registry.histogram("op_total", &[]).unwrap_err();
    assert_eq!(err.code().as_str(), "metrics.total_on_non_counter");
    assert_eq!(
        err.to_string(),
        "metric `op_total`: only counter names may end with `_total`"
    );
    let err = registry.counter("op_duration_ms_total", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "metric `op_duration_ms_total`: names must not use the abbreviated unit `ms`"
    );
    for (name, kind) in [
        ("jobs_latency_microseconds", MetricKind::Gauge),
        ("jobs_gauge", MetricKind::Gauge),
        ("jobs_sum", MetricKind::Gauge),
        ("jobsWaiting", MetricKind::Gauge),
        ("jobs:rate", MetricKind::Gauge),
    ] {
        let err = registry.describe(name, kind, None, "help").unwrap_err();
        assert!(!err.to_string().is_empty());
    }
    let err = registry
        .describe(
            "net_rx_bytes_total",
            MetricKind::Counter,
            Some(metrics::Unit::BitsPerSecond),
            "x",
        )
        .unwrap_err();
    assert!(err.to_string().contains("rate()"), "{err}");
}

#[test]
fn collectors_set_figures_kept_elsewhere_at_every_scrape() {
    use std::sync::atomic::{AtomicU64, Ordering};

    let registry = Registry::default();
    let outside = Arc::new(AtomicU64::new(7));
    let (seen, reg) = (outside.clone(), registry.clone());
    registry.add_collector(move || {
        // A collector may register series and add another collector: no
        // registry lock is held while it runs.
        let gauge = reg.gauge("pool_size", &[]).unwrap();
        #[expect(clippy::cast_precision_loss, reason = "a small test figure")]
        gauge.set(seen.load(Ordering::Relaxed) as f64);
    });
    let text = registry.render(ExpositionFormat::Prometheus);
    assert!(text.contains("pool_size 7\n"), "{text}");
    outside.store(9, Ordering::Relaxed);
    let text = registry.render(ExpositionFormat::Prometheus);
    assert!(text.contains("pool_size 9\n"), "{text}");
    outside.store(11, Ordering::Relaxed);
    let snapshot = registry.snapshot();
    let pool = snapshot
        .families
        .iter()
        .find(|family| family.name == "pool_size")
        .unwrap();
    assert!(
        matches!(pool.series[0].value, SeriesValue::Gauge { value } if (value - 11.0).abs() < 1e-9)
    );
}
