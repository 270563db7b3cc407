//! The `metrics` feature: counters registered once, incremented with the
//! stats, names in Prometheus style.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use pr_logging::{LogFormat, Logging, QueueConfig, WhenFull};
use pr_test_support::temp_dir;
use tracing::Level;

use crate::support::{Buf, plain_file, quiet};

/// A recorder that keeps counters by `name{labels}`.
#[derive(Default)]
struct Counters(Mutex<BTreeMap<String, Arc<AtomicU64>>>, Mutex<Vec<String>>);

impl Counters {
    fn value(&self, key: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Recorder for Counters {
    fn describe_counter(&self, name: KeyName, _: Option<Unit>, help: SharedString) {
        assert!(!help.is_empty());
        self.1.lock().unwrap().push(name.as_str().to_owned());
    }
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        // Every counter has help text before its first series (promtool asks for it).
        assert!(
            self.1.lock().unwrap().iter().any(|n| n == key.name()),
            "{} registered without a description",
            key.name()
        );
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = if labels.is_empty() {
            key.name().to_owned()
        } else {
            format!("{}{{{}}}", key.name(), labels.join(","))
        };
        let counter = Arc::clone(self.0.lock().unwrap().entry(name).or_default());
        Counter::from_arc(counter)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn counters_follow_the_stats() {
    let dir = temp_dir("logging-metrics");
    let recorder = Counters::default();
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.max_size = Some(pr_core::units::ByteSize(1024));
    let mut queue = QueueConfig::default();
    queue.when_full = WhenFull::Drop;
    queue.capacity = 1;
    file.queue = Some(queue);
    config.files.push(file);
    let (dispatch, guard) = metrics::with_local_recorder(&recorder, || {
        Logging::builder(&config)
            .writer("buf", Level::TRACE, LogFormat::Json, Buf::default())
            .build()
            .unwrap()
    });
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..500_u64 {
            tracing::info!(n, password = "x", "line");
        }
    });
    guard.flush();
    let stats = guard.snapshot();
    drop(guard);
    let path = dir.path().join("app.log").display().to_string();
    let file = stats.output(&path).unwrap();
    assert_eq!(
        recorder.value(&format!("pr_logging_lines_total{{output={path}}}")),
        file.lines
    );
    assert_eq!(
        recorder.value(&format!("pr_logging_dropped_lines_total{{output={path}}}")),
        file.dropped
    );
    assert_eq!(file.lines + file.dropped, 500);
    assert_eq!(
        recorder.value(&format!("pr_logging_rotations_total{{output={path}}}")),
        file.rotations
    );
    assert_eq!(recorder.value("pr_logging_lines_total{output=buf}"), 500);
    assert!(recorder.value("pr_logging_written_bytes_total{output=buf}") > 500 * 50);
    assert_eq!(recorder.value("pr_logging_redactions_total"), 500);
    assert_eq!(stats.redactions, 500);
    for name in recorder.0.lock().unwrap().keys() {
        let base = name.split('{').next().unwrap();
        assert!(
            base.starts_with("pr_logging_") && base.ends_with("_total"),
            "{name}"
        );
    }
}
