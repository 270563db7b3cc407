//! The `process_*`, `pr_system_*` and `pr_cgroup_*` metrics, through a
//! recorder that keeps the last value of each series.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use pr_resources::{ResourcesConfig, Sampler};

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::Relaxed)) + value);
    }
    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Capture {
    counters: Mutex<BTreeMap<String, Arc<Cell>>>,
    gauges: Mutex<BTreeMap<String, Arc<Cell>>>,
}

fn series(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    if labels.is_empty() {
        key.name().to_owned()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = Arc::clone(
            self.counters
                .lock()
                .unwrap()
                .entry(series(key))
                .or_default(),
        );
        Counter::from_arc(cell)
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let cell = Arc::clone(self.gauges.lock().unwrap().entry(series(key)).or_default());
        Gauge::from_arc(cell)
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

impl Capture {
    fn gauge(&self, name: &str) -> f64 {
        let gauges = self.gauges.lock().unwrap();
        let cell = gauges
            .get(name)
            .unwrap_or_else(|| panic!("no gauge {name}"));
        f64::from_bits(cell.0.load(Ordering::Relaxed))
    }
}

#[test]
fn conventional_names_are_set_on_refresh() {
    let capture = Capture::default();
    let sampler = metrics::with_local_recorder(&capture, || {
        Sampler::new(ResourcesConfig::default().with_disk_path("/")).unwrap()
    });
    let snapshot = sampler.refresh();
    #[expect(clippy::cast_precision_loss, reason = "test comparison")]
    {
        assert_eq!(
            capture.gauge("process_resident_memory_bytes"),
            snapshot.process.resident_bytes as f64
        );
        assert_eq!(
            capture.gauge("process_threads"),
            snapshot.process.threads as f64
        );
        assert_eq!(
            capture.gauge("pr_system_memory_total_bytes"),
            snapshot.system.memory_total as f64
        );
        assert_eq!(
            capture.gauge("pr_system_disk_total_bytes{path=/}"),
            snapshot.disks[0].total as f64
        );
    }
    assert!(capture.gauge("process_open_fds") > 0.0);
    assert!(capture.gauge("process_max_fds") > 0.0);
    assert!(capture.gauge("process_start_time_seconds") > 1.0e9);
    assert!(capture.gauge("pr_cgroup_effective_cpus") > 0.0);
    assert!(capture.gauge("pr_resources_refresh_cpu_seconds") > 0.0);
    assert!(
        capture
            .counters
            .lock()
            .unwrap()
            .contains_key("process_cpu_seconds_total")
    );
    for name in capture.gauges.lock().unwrap().keys() {
        assert!(
            name.starts_with("process_") || name.starts_with("pr_"),
            "{name}"
        );
    }
}
