//! The `pr_cache_*` metrics (feature `metrics`), registered once per cache
//! and set from its statistics by [`MemoryCache::publish_metrics`](crate::MemoryCache::publish_metrics).

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

use crate::stats::{CacheSnapshot, RemovalCause};

/// Handles of one cache's metrics, labelled `cache="<name>"`.
pub(crate) struct CacheMetrics {
    hits: Counter,
    misses: Counter,
    load_success: Counter,
    load_failure: Counter,
    load_seconds: Gauge,
    removals: [Counter; 4],
    removed_weight: [Counter; 4],
    entries: Gauge,
    weight: Gauge,
}

/// Describes the `pr_cache_*` families to the recorder (help text and unit),
/// so that the exposition passes `promtool check metrics`.
fn describe() {
    describe_counter!("pr_cache_hits_total", "Cache lookups that found a value.");
    describe_counter!("pr_cache_misses_total", "Cache lookups that found nothing.");
    describe_counter!(
        "pr_cache_loads_total",
        "Values loaded into a cache, by result."
    );
    describe_gauge!(
        "pr_cache_load_duration_seconds",
        Unit::Seconds,
        "Total time spent loading values into a cache."
    );
    describe_counter!(
        "pr_cache_removals_total",
        "Entries removed from a cache, by cause."
    );
    describe_counter!(
        "pr_cache_removed_weight_total",
        "Weight of the entries removed from a cache, by cause."
    );
    describe_gauge!("pr_cache_entries", "Entries in a cache.");
    describe_gauge!("pr_cache_weight", "Weighted size of a cache.");
}

impl CacheMetrics {
    pub(crate) fn new(name: &str) -> Self {
        describe();
        let cache = name.to_owned();
        let by_cause = |metric: &'static str| {
            RemovalCause::ALL
                .map(|cause| counter!(metric, "cache" => cache.clone(), "cause" => cause.as_str()))
        };
        Self {
            hits: counter!("pr_cache_hits_total", "cache" => cache.clone()),
            misses: counter!("pr_cache_misses_total", "cache" => cache.clone()),
            load_success: counter!("pr_cache_loads_total", "cache" => cache.clone(), "result" => "success"),
            load_failure: counter!("pr_cache_loads_total", "cache" => cache.clone(), "result" => "failure"),
            load_seconds: gauge!("pr_cache_load_duration_seconds", "cache" => cache.clone()),
            removals: by_cause("pr_cache_removals_total"),
            removed_weight: by_cause("pr_cache_removed_weight_total"),
            entries: gauge!("pr_cache_entries", "cache" => cache.clone()),
            weight: gauge!("pr_cache_weight", "cache" => cache),
        }
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "gauges are f64; sizes beyond 2^52 lose precision acceptably"
    )]
    pub(crate) fn publish(&self, stats: &CacheSnapshot, entries: u64, weight: u64) {
        self.hits.absolute(stats.hits);
        self.misses.absolute(stats.misses);
        self.load_success.absolute(stats.load_successes);
        self.load_failure.absolute(stats.load_failures);
        self.load_seconds.set(stats.total_load_time.as_secs_f64());
        for (i, cause) in RemovalCause::ALL.into_iter().enumerate() {
            self.removals[i].absolute(stats.removals.get(cause));
            self.removed_weight[i].absolute(stats.removed_weight.get(cause));
        }
        self.entries.set(entries as f64);
        self.weight.set(weight as f64);
    }
}
