//! The `pr_cache_*` metrics, captured by a test recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use pr_cache::MemoryCache;

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, by: u64) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Capture(Mutex<BTreeMap<String, Arc<Cell>>>);

impl Capture {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.0.lock().unwrap().entry(name).or_default())
    }

    fn value(&self, name: &str) -> u64 {
        self.0.lock().unwrap()[name].0.load(Ordering::SeqCst)
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
fn published_metrics_match_the_stats() {
    let capture = Capture::default();
    let cache: MemoryCache<u32, u32> = metrics::with_local_recorder(&capture, || {
        MemoryCache::builder()
            .name("users")
            .record_stats()
            .build()
            .unwrap()
    });
    cache.insert(1, 1);
    let _ = cache.get(&1);
    let _ = cache.get(&2);
    let _ = cache.get_or_insert_with(3, || 3);
    cache.invalidate(&1);
    cache.publish_metrics();
    assert_eq!(capture.value("pr_cache_hits_total{cache=users}"), 1);
    assert_eq!(capture.value("pr_cache_misses_total{cache=users}"), 2);
    assert_eq!(
        capture.value("pr_cache_loads_total{cache=users,result=success}"),
        1
    );
    assert_eq!(
        capture.value("pr_cache_removals_total{cache=users,cause=explicit}"),
        1
    );
    let names: Vec<String> = capture.0.lock().unwrap().keys().cloned().collect();
    assert!(
        names.iter().all(|n| n.starts_with("pr_cache_")),
        "{names:?}"
    );
}
