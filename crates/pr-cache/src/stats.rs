//! Caffeine-style statistics: hits, misses, loads, load time, and evictions
//! with their weight, by cause. Hits and misses, counted on every get, are
//! striped per thread (see `STRIPES`); the rest are plain atomics, counted
//! on loads and removals only.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why an entry left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Its time to live or time to idle passed.
    Expired,
    /// It was invalidated (by key, predicate, prefix or all).
    Explicit,
    /// Its value was replaced by an insert.
    Replaced,
    /// It was evicted to keep the cache within its capacity.
    Size,
}

impl RemovalCause {
    /// Whether the cache removed it by itself (expired or evicted for size),
    /// as opposed to an invalidation or a replacement by the user.
    #[must_use]
    pub const fn was_evicted(self) -> bool {
        matches!(self, Self::Expired | Self::Size)
    }

    /// A stable lowercase name (`expired`, `explicit`, `replaced`, `size`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Explicit => "explicit",
            Self::Replaced => "replaced",
            Self::Size => "size",
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::Expired => 0,
            Self::Explicit => 1,
            Self::Replaced => 2,
            Self::Size => 3,
        }
    }

    /// Every cause, in a fixed order.
    pub const ALL: [Self; 4] = [Self::Expired, Self::Explicit, Self::Replaced, Self::Size];
}

/// Counts and weights of removals, per cause.
///
/// Serializes as an object keyed by cause (`expired`, `explicit`,
/// `replaced`, `size`) rather than as the bare array, so the JSON reads
/// without knowing the index order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ByCauseFields", into = "ByCauseFields")]
pub struct ByCause {
    counts: [u64; 4],
}

/// The serde shape of [`ByCause`]: one named field per cause.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ByCauseFields {
    expired: u64,
    explicit: u64,
    replaced: u64,
    size: u64,
}

impl From<ByCause> for ByCauseFields {
    fn from(b: ByCause) -> Self {
        Self {
            expired: b.get(RemovalCause::Expired),
            explicit: b.get(RemovalCause::Explicit),
            replaced: b.get(RemovalCause::Replaced),
            size: b.get(RemovalCause::Size),
        }
    }
}

impl From<ByCauseFields> for ByCause {
    fn from(f: ByCauseFields) -> Self {
        Self {
            counts: [f.expired, f.explicit, f.replaced, f.size],
        }
    }
}

impl ByCause {
    /// The figure for one cause.
    #[must_use]
    pub const fn get(&self, cause: RemovalCause) -> u64 {
        self.counts[cause.index()]
    }

    /// Expired plus size evictions: what the cache removed by itself.
    #[must_use]
    pub const fn evicted(&self) -> u64 {
        self.get(RemovalCause::Expired) + self.get(RemovalCause::Size)
    }
}

/// A snapshot of a cache's statistics, from [`crate::MemoryCache::snapshot`].
///
/// Serializable for a status page; `total_load_time` is serde's `Duration`
/// shape (`{"secs", "nanos"}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheSnapshot {
    /// Lookups that found a value (including loading calls that did not run
    /// their loader).
    pub hits: u64,
    /// Lookups that found nothing (including loading calls that ran their
    /// loader or received a concurrent loader's error).
    pub misses: u64,
    /// Loader runs that returned a value.
    pub load_successes: u64,
    /// Loader runs that failed.
    pub load_failures: u64,
    /// Time spent in loaders, successful or not, on the cache's clock.
    pub total_load_time: Duration,
    /// Removals per cause.
    pub removals: ByCause,
    /// Weight removed per cause (entries when there is no weigher).
    pub removed_weight: ByCause,
}

impl CacheSnapshot {
    /// Hits plus misses.
    #[must_use]
    pub const fn requests(&self) -> u64 {
        self.hits + self.misses
    }

    /// Hits over requests; 1.0 when there was no request (as Caffeine).
    #[must_use]
    #[expect(
        clippy::cast_precision_loss,
        reason = "a ratio of counts; f64's 52 bits are plenty"
    )]
    pub fn hit_ratio(&self) -> f64 {
        let requests = self.requests();
        if requests == 0 {
            1.0
        } else {
            self.hits as f64 / requests as f64
        }
    }

    /// Entries the cache removed by itself (expired or evicted for size).
    #[must_use]
    pub const fn eviction_count(&self) -> u64 {
        self.removals.evicted()
    }

    /// Weight of the entries the cache removed by itself.
    #[must_use]
    pub const fn eviction_weight(&self) -> u64 {
        self.removed_weight.evicted()
    }

    /// Mean time of a load, or zero without loads.
    #[must_use]
    pub fn average_load_penalty(&self) -> Duration {
        let loads = self.load_successes + self.load_failures;
        if loads == 0 {
            Duration::ZERO
        } else {
            let nanos = self.total_load_time.as_nanos() / u128::from(loads);
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
    }
}

/// How many stripes the hit and miss counters are split into (a power of
/// two): threads are spread over them so that two threads reading the cache
/// at once rarely add to the same cache line.
const STRIPES: usize = 8;

/// One stripe of a counter, alone on its cache line (128 bytes: adjacent
/// lines are fetched in pairs on x86).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

/// A counter added to on every get: striped, so that it costs a get one
/// uncontended atomic add whatever the number of threads (a single
/// `AtomicU64` bounces between the cores of threads hitting the cache
/// together). Read by summing the stripes.
#[derive(Debug, Default)]
struct Striped([Stripe; STRIPES]);

impl Striped {
    #[inline]
    fn add(&self, n: u64) {
        self.0[stripe()].0.fetch_add(n, Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0
            .iter()
            .fold(0_u64, |sum, s| sum.wrapping_add(s.0.load(Relaxed)))
    }
}

/// This thread's stripe: threads take the stripes in turn as they first
/// touch a counter.
#[inline]
fn stripe() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

/// The live counters behind [`CacheSnapshot`].
#[derive(Debug, Default)]
pub(crate) struct StatsCounter {
    hits: Striped,
    misses: Striped,
    load_successes: AtomicU64,
    load_failures: AtomicU64,
    load_nanos: AtomicU64,
    removals: [AtomicU64; 4],
    removed_weight: [AtomicU64; 4],
}

impl StatsCounter {
    #[inline]
    pub(crate) fn hit(&self) {
        self.hits.add(1);
    }

    #[inline]
    pub(crate) fn miss(&self) {
        self.misses.add(1);
    }

    pub(crate) fn load(&self, ok: bool, took: Duration) {
        if ok {
            self.load_successes.fetch_add(1, Relaxed);
        } else {
            self.load_failures.fetch_add(1, Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.load_nanos.fetch_add(nanos, Relaxed);
    }

    pub(crate) fn removal(&self, cause: RemovalCause, weight: u64) {
        self.removals[cause.index()].fetch_add(1, Relaxed);
        self.removed_weight[cause.index()].fetch_add(weight, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheSnapshot {
        let by = |a: &[AtomicU64; 4]| ByCause {
            counts: [
                a[0].load(Relaxed),
                a[1].load(Relaxed),
                a[2].load(Relaxed),
                a[3].load(Relaxed),
            ],
        };
        CacheSnapshot {
            hits: self.hits.sum(),
            misses: self.misses.sum(),
            load_successes: self.load_successes.load(Relaxed),
            load_failures: self.load_failures.load(Relaxed),
            total_load_time: Duration::from_nanos(self.load_nanos.load(Relaxed)),
            removals: by(&self.removals),
            removed_weight: by(&self.removed_weight),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The snapshot is what a status page serializes: its keys are the API.
    #[test]
    fn cache_snapshot_serializes_with_its_field_names_and_round_trips() {
        let counter = StatsCounter::default();
        counter.hits.add(3);
        counter.removals[RemovalCause::Size.index()].fetch_add(2, Relaxed);
        let snapshot = counter.snapshot();
        let json = serde_json::to_value(snapshot).unwrap();
        assert_eq!(json["hits"], 3);
        assert_eq!(json["misses"], 0);
        assert_eq!(json["load_successes"], 0);
        assert_eq!(json["removals"]["size"], 2);
        assert_eq!(json["removed_weight"]["expired"], 0);
        assert!(json.get("total_load_time").is_some());
        let back: CacheSnapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, snapshot);
    }
}

#[cfg(test)]
mod striped_tests {
    use super::*;

    /// Threads adding to the striped counters at once lose no count: the
    /// snapshot is their exact sum.
    #[test]
    fn striped_counts_from_many_threads_add_up_exactly() {
        let counter = StatsCounter::default();
        std::thread::scope(|s| {
            for _ in 0..STRIPES * 2 + 1 {
                s.spawn(|| {
                    for _ in 0..1_000 {
                        counter.hit();
                    }
                    counter.miss();
                });
            }
        });
        let snapshot = counter.snapshot();
        let threads = (STRIPES * 2 + 1) as u64;
        assert_eq!((snapshot.hits, snapshot.misses), (threads * 1_000, threads));
    }
}
