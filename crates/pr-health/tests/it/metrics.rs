//! Check metrics through the `metrics` facade, captured by a test recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use pr_health::{HealthRegistry, Outcome, check_fn};

#[derive(Default)]
struct Cell {
    gauge: AtomicU64,
    samples: Mutex<Vec<f64>>,
}

impl GaugeFn for Cell {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, value: f64) {
        self.gauge.store(value.to_bits(), Ordering::SeqCst);
    }
}

impl HistogramFn for Cell {
    fn record(&self, value: f64) {
        self.samples.lock().unwrap().push(value);
    }
}

#[derive(Default)]
struct Capture(Mutex<BTreeMap<String, Arc<Cell>>>, Mutex<Vec<String>>);

impl Capture {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        // Every family has help text before its first series (promtool asks for it).
        assert!(
            self.1.lock().unwrap().iter().any(|n| n == key.name()),
            "{} registered without a description",
            key.name()
        );
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.0.lock().unwrap().entry(name).or_default())
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, name: KeyName, _: Option<Unit>, help: SharedString) {
        assert!(!help.is_empty());
        self.1.lock().unwrap().push(name.as_str().to_owned());
    }
    fn describe_histogram(&self, name: KeyName, unit: Option<Unit>, help: SharedString) {
        assert!(!help.is_empty() && unit == Some(Unit::Seconds));
        self.1.lock().unwrap().push(name.as_str().to_owned());
    }
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

#[test]
fn durations_and_up_gauge_per_check() {
    let capture = Capture::default();
    let registry = metrics::with_local_recorder(&capture, || {
        let registry = HealthRegistry::default();
        registry
            .add(check_fn("db", || async { Outcome::up() }))
            .unwrap();
        registry
            .add(check_fn("queue", || async { Outcome::down("full") }))
            .unwrap();
        registry
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(registry.report(None));

    let cells = capture.0.lock().unwrap();
    let gauge = |name: &str| f64::from_bits(cells[name].gauge.load(Ordering::SeqCst));
    assert_eq!(gauge("pr_health_check_up{check=db}"), 1.0);
    assert_eq!(gauge("pr_health_check_up{check=queue}"), 0.0);
    assert_eq!(
        cells["pr_health_check_duration_seconds{check=db}"]
            .samples
            .lock()
            .unwrap()
            .len(),
        1
    );
}
