//! The `pr_cache_*` metrics, captured by a test recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use pr_cache::MemoryCache;

use super::ENGINE;

/// A builder on the engine this copy of the tests runs against (see
/// `main.rs`: the same tests run on each engine).
fn builder<K, V>() -> pr_cache::MemoryCacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    MemoryCache::builder().engine(ENGINE)
}

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
struct Capture(
    Mutex<BTreeMap<String, Arc<Cell>>>,
    Mutex<BTreeMap<String, &'static str>>,
    /// Help text by family, as the crate described it.
    Mutex<BTreeMap<String, String>>,
);

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

    /// The captured series as Prometheus text exposition.
    fn exposition(&self) -> String {
        let kinds = self.1.lock().unwrap().clone();
        let helps = self.2.lock().unwrap().clone();
        let cells = self.0.lock().unwrap();
        let mut text = String::new();
        for (family, kind) in &kinds {
            let help = helps
                .get(family)
                .unwrap_or_else(|| panic!("{family} has no description"));
            text.push_str(&format!("# HELP {family} {help}\n# TYPE {family} {kind}\n"));
            for (series, cell) in cells.iter() {
                let (name, labels) = series.split_once('{').unwrap();
                if name != family {
                    continue;
                }
                let labels: Vec<String> = labels
                    .trim_end_matches('}')
                    .split(',')
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        format!("{k}=\"{v}\"")
                    })
                    .collect();
                let raw = cell.0.load(Ordering::SeqCst);
                let value = if *kind == "gauge" {
                    f64::from_bits(raw)
                } else {
                    raw as f64
                };
                text.push_str(&format!("{name}{{{}}} {value}\n", labels.join(",")));
            }
        }
        text
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, name: KeyName, _: Option<Unit>, help: SharedString) {
        self.2
            .lock()
            .unwrap()
            .insert(name.as_str().to_owned(), help.into_owned());
    }
    fn describe_gauge(&self, name: KeyName, _: Option<Unit>, help: SharedString) {
        self.2
            .lock()
            .unwrap()
            .insert(name.as_str().to_owned(), help.into_owned());
    }
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.1
            .lock()
            .unwrap()
            .insert(key.name().to_owned(), "counter");
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.1
            .lock()
            .unwrap()
            .insert(key.name().to_owned(), "gauge");
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
        builder().name("users").record_stats().build().unwrap()
    });
    cache.insert(1, 1);
    let _ = cache.get(&1);
    let _ = cache.get(&2);
    let _ = cache.get_or_insert_with_blocking(3, || 3);
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

    // promtool accepts the names, types and units.
    let text = capture.exposition();
    if let Err(said) = pr_test_support::check_metrics(&text) {
        panic!("{said}\n{text}");
    }
    assert!(
        text.contains("pr_cache_hits_total{cache=\"users\"} 1\n"),
        "{text}"
    );
}
