//! The `process_*`, `pr_system_*` and `pr_cgroup_*` metrics, through a
//! recorder that keeps the last value of each series, rendered as
//! Prometheus text and checked by `promtool check metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
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

/// Series are keyed by name, then by rendered labels.
type Series = BTreeMap<String, BTreeMap<String, Arc<Cell>>>;

#[derive(Default)]
struct Capture {
    counters: Mutex<Series>,
    gauges: Mutex<Series>,
    help: Mutex<BTreeMap<String, String>>,
}

fn labels(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
        .collect();
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", labels.join(","))
    }
}

fn register(series: &Mutex<Series>, key: &Key) -> Arc<Cell> {
    let mut series = series.lock().unwrap();
    let by_labels = series.entry(key.name().to_owned()).or_default();
    Arc::clone(by_labels.entry(labels(key)).or_default())
}

impl Recorder for Capture {
    fn describe_counter(&self, name: KeyName, _: Option<Unit>, help: SharedString) {
        self.help
            .lock()
            .unwrap()
            .insert(name.as_str().to_owned(), help.to_string());
    }
    fn describe_gauge(&self, name: KeyName, _: Option<Unit>, help: SharedString) {
        self.help
            .lock()
            .unwrap()
            .insert(name.as_str().to_owned(), help.to_string());
    }
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(register(&self.counters, key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(register(&self.gauges, key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

impl Capture {
    fn gauge(&self, name: &str, labels: &str) -> f64 {
        let gauges = self.gauges.lock().unwrap();
        let cell = &gauges[name][labels];
        f64::from_bits(cell.0.load(Ordering::Relaxed))
    }

    fn render(&self) -> String {
        let help = self.help.lock().unwrap();
        let mut out = String::new();
        for (kind, series) in [("counter", &self.counters), ("gauge", &self.gauges)] {
            for (name, by_labels) in series.lock().unwrap().iter() {
                let text = help.get(name).map_or("", String::as_str);
                writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}").unwrap();
                for (labels, cell) in by_labels {
                    let bits = cell.0.load(Ordering::Relaxed);
                    #[expect(clippy::cast_precision_loss, reason = "counter values are small")]
                    let value = if kind == "counter" {
                        bits as f64
                    } else {
                        f64::from_bits(bits)
                    };
                    writeln!(out, "{name}{labels} {value}").unwrap();
                }
            }
        }
        out
    }
}

#[test]
fn conventional_names_are_set_on_refresh_and_pass_promtool() {
    let capture = Capture::default();
    let sampler = metrics::with_local_recorder(&capture, || {
        Sampler::new(ResourcesConfig::default().with_disk_path("/")).unwrap()
    });
    let snapshot = sampler.refresh();
    #[expect(clippy::cast_precision_loss, reason = "test comparison")]
    {
        assert_eq!(
            capture.gauge("process_resident_memory_bytes", ""),
            snapshot.process.resident_bytes as f64
        );
        assert_eq!(
            capture.gauge("process_threads", ""),
            snapshot.process.threads as f64
        );
        assert_eq!(
            capture.gauge("pr_system_memory_total_bytes", ""),
            snapshot.system.memory_total as f64
        );
        assert_eq!(
            capture.gauge("pr_system_disk_total_bytes", "{path=\"/\"}"),
            snapshot.disks[0].total as f64
        );
    }
    assert!(capture.gauge("process_open_fds", "") > 0.0);
    assert!(capture.gauge("process_max_fds", "") > 0.0);
    assert!(capture.gauge("process_start_time_seconds", "") > 1.0e9);
    assert!(capture.gauge("pr_cgroup_effective_cpus", "") > 0.0);
    assert!(capture.gauge("pr_resources_refresh_cpu_seconds", "") > 0.0);
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

    let text = capture.render();
    pr_test_support::check_metrics(&text)
        .unwrap_or_else(|problems| panic!("promtool: {problems}\n{text}"));
}
