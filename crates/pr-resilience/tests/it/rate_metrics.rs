//! Limiter and dead-letter figures through the `metrics` facade.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use pr_core::time::ManualClock;
use pr_resilience::dlq::{DeadLetter, Dlq, DlqConfig};
use pr_resilience::rate::{Gcra, Quota, RateLimiter};

/// Keeps every counter and gauge by name (labels folded in).
#[derive(Default)]
pub(crate) struct Capture(Mutex<BTreeMap<String, Arc<AtomicU64>>>);

impl Capture {
    fn cell(&self, key: &Key) -> Arc<AtomicU64> {
        let mut name = key.name().to_owned();
        for label in key.labels() {
            name.push_str(&format!("{{{}={}}}", label.key(), label.value()));
        }
        self.0.lock().unwrap().entry(name).or_default().clone()
    }

    pub(crate) fn value(&self, name: &str) -> u64 {
        self.0.lock().unwrap()[name].load(Ordering::Relaxed)
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn limiter_and_queue_figures_are_reported() {
    let capture = Capture::default();
    let dir = pr_test_support::temp_dir("resilience-dlq-metrics");
    metrics::with_local_recorder(&capture, || {
        let gcra = Gcra::with_clock(Quota::per_second(1), ManualClock::new().clock()).unwrap();
        gcra.check().unwrap();
        assert!(gcra.check().is_err());
        assert!(gcra.peek().is_err(), "a peek is not counted");

        let mut config = DlqConfig::new(dir.path());
        config.max_records = 2;
        let dlq: Dlq<u32> = Dlq::open(config).unwrap();
        for n in 0..3 {
            let _ = dlq.push(&DeadLetter::with_code(n, "x.y", "failed"));
        }
        dlq.replay_blocking(|_| Ok::<(), ()>(())).unwrap();
    });
    assert_eq!(
        capture.value("pr_resilience_ratelimit_rejected_total{algorithm=gcra}"),
        1
    );
    assert_eq!(capture.value("pr_resilience_dlq_pushed_total"), 2);
    assert_eq!(capture.value("pr_resilience_dlq_rejected_total"), 1);
    assert_eq!(
        capture.value("pr_resilience_dlq_push_failures_total{reason=full}"),
        1
    );
    assert_eq!(
        capture.value("pr_resilience_dlq_push_failures_total{reason=io}"),
        0
    );
    assert_eq!(capture.value("pr_resilience_dlq_replayed_total"), 2);
    assert_eq!(
        f64::from_bits(capture.value("pr_resilience_dlq_records")),
        0.0
    );
    assert_eq!(
        f64::from_bits(capture.value("pr_resilience_dlq_bytes")),
        0.0
    );
}

#[test]
fn exposition_passes_promtool() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let dir = pr_test_support::temp_dir("resilience-dlq-promtool");
    metrics::with_local_recorder(&recorder, || {
        let gcra = Gcra::with_clock(Quota::per_second(1), ManualClock::new().clock()).unwrap();
        gcra.check().unwrap();
        assert!(gcra.check().is_err());
        let keyed = pr_resilience::rate::KeyedLimiter::<u64>::builder(Quota::per_hour(1))
            .max_keys(1)
            .build()
            .unwrap();
        keyed.check_key(&1).unwrap();
        keyed.check_key(&2).unwrap();
        let mut config = DlqConfig::new(dir.path());
        config.max_records = 1;
        let dlq: Dlq<u32> = Dlq::open(config).unwrap();
        dlq.push(&DeadLetter::with_code(1, "x.y", "failed"))
            .unwrap();
        assert!(
            dlq.push(&DeadLetter::with_code(2, "x.y", "failed"))
                .is_err()
        );
        dlq.replay_blocking(|_| Ok::<(), ()>(())).unwrap();
    });
    let text = handle.render();
    for name in [
        "pr_resilience_ratelimit_rejected_total",
        "pr_resilience_ratelimit_evicted_keys_total",
        "pr_resilience_dlq_records",
        "pr_resilience_dlq_bytes",
        "pr_resilience_dlq_pushed_total",
        "pr_resilience_dlq_rejected_total",
        "pr_resilience_dlq_replayed_total",
        "pr_resilience_dlq_push_failures_total{reason=\"full\"} 1",
        "pr_resilience_dlq_push_failures_total{reason=\"io\"} 0",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    pr_test_support::check_metrics(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
}
