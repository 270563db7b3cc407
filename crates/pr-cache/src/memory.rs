//! [`MemoryCache`]: moka underneath (or `quick_cache`, [`Engine::Fast`]),
//! with statistics, loading with one loader run per key,
//! stale-while-revalidate, and expiry on an injected clock.
//!
//! # Time
//!
//! moka keeps its own clock, which tests cannot drive. So every entry that
//! can expire carries its deadline on the cache's [`Clock`], and a get checks
//! it: that check decides what a caller sees. The same deadlines are handed
//! to moka through its `Expiry` so that moka also reclaims expired entries'
//! memory on its own schedule. With the default clock ([`Clock::precise`],
//! the monotonic clock moka reads too) both agree; with a
//! [`ManualClock`](pr_core::time::ManualClock)'s clock tests move time and
//! the check follows.
//! An entry without any deadline (no TTL, TTI, refresh age or per-entry
//! expiry configured) costs no clock read on a get.
//!
//! # Parts
//!
//! This file holds the cache and its plain operations (get, insert,
//! invalidation, counts); the rest sits beside it in `memory/`:
//!
//! - `builder.rs`: [`MemoryCacheBuilder`], its checks, and how the settings
//!   become the engine's cache (bounds, weigher, removal listener).
//! - `engine.rs`: [`Engine`], the two engines behind one enum, and how the
//!   fast one keeps the cache's contract (removal causes, expiry sweep).
//! - `window.rs`: the LRU window of [`Policy::WindowTinyLfu`] in front of
//!   moka, and the removal notifications deferred while its lock is held.
//! - `expiry.rs`: deadlines on the injected clock, checked on a get and
//!   handed to moka's `Expiry`.
//! - `flight.rs`: loading with one loader run per key, async and blocking,
//!   and why it keeps its own single-flight slots.
//! - `refresh.rs`: stale-while-revalidate.

mod builder;
mod engine;
mod expiry;
mod flight;
mod refresh;
#[cfg(test)]
mod tests;
mod window;

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_core::sync::lock;
use pr_core::time::Clock;

use crate::stats::{CacheSnapshot, RemovalCause, StatsCounter};

pub use builder::MemoryCacheBuilder;
pub use engine::Engine;
use engine::Store;
use flight::{Flight, SyncFlight};
pub use window::Policy;
use window::Window;

type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync>;
type Listener<K, V> = Arc<dyn Fn(&K, &V, RemovalCause) + Send + Sync>;

/// A cached value, with its times when something needs them (kept behind
/// an `Arc` so that an untimed entry clones as little as moka's own value).
#[derive(Clone)]
struct Slot<V> {
    value: V,
    meta: Option<Arc<Meta>>,
}

/// An entry's times, on the cache's clock (time since its origin).
struct Meta {
    /// When it was stored.
    born: Duration,
    /// Its deadline: per-entry expiry, or born + TTL.
    expires: Option<Duration>,
    /// Nanoseconds after `born` of the last read (only with a TTI).
    touched: Option<AtomicU64>,
}

impl<V> Slot<V> {
    fn born(&self) -> Option<Duration> {
        self.meta.as_ref().map(|m| m.born)
    }
}

/// A concurrent in-memory cache. Clones share the same entries.
///
/// Built with [`MemoryCache::builder`]; see the [crate docs](crate) for an
/// example.
pub struct MemoryCache<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for MemoryCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> fmt::Debug for MemoryCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("name", &self.inner.name)
            .field("engine", &self.inner.cache.engine())
            .field("stats", &self.inner.stats.is_some())
            .finish_non_exhaustive()
    }
}

struct Inner<K, V> {
    cache: Store<K, V>,
    clock: Clock,
    stats: Option<Arc<StatsCounter>>,
    ttl: Option<Duration>,
    tti: Option<Duration>,
    refresh_after: Option<Duration>,
    /// Whether new entries need `born` (TTL, TTI or refresh configured).
    timed: bool,
    name: String,
    flights: Mutex<HashMap<K, Arc<Flight<V>>>>,
    /// Sync single-flight slots, used with a window (moka's own loading
    /// would put loaded values past the window, straight to admission: see
    /// `flight.rs`).
    sync_flights: Mutex<HashMap<K, Arc<SyncFlight<V>>>>,
    refreshing: Mutex<HashSet<K>>,
    window: Option<Mutex<Window<K, V>>>,
    weigher: Option<Weigher<K, V>>,
    listener: Option<Listener<K, V>>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::CacheMetrics>,
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The cache's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn slot(&self, value: V, ttl: Option<Duration>) -> Slot<V> {
        let ttl = ttl.or(self.inner.ttl);
        if !self.inner.timed && ttl.is_none() {
            return Slot { value, meta: None };
        }
        let now = self.inner.clock.elapsed();
        Slot {
            value,
            meta: Some(Arc::new(Meta {
                born: now,
                expires: ttl.and_then(|t| now.checked_add(t)),
                touched: self.inner.tti.map(|_| AtomicU64::new(0)),
            })),
        }
    }

    /// The entry if present and not expired on our clock; an expired one is
    /// invalidated (reported as `Expired`). Records nothing.
    #[inline]
    fn lookup<Q>(&self, key: &Q) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = match self.engine_get(key) {
            Some(slot) => slot,
            None => self.window_get(key)?,
        };
        if slot.meta.is_none() {
            return Some(slot);
        }
        self.check_times(key, slot)
    }

    #[inline]
    fn record(&self, hit: bool) {
        if let Some(stats) = &self.inner.stats {
            if hit {
                stats.hit();
            } else {
                stats.miss();
            }
        }
    }

    fn weigh(&self, key: &K, value: &V) -> u64 {
        self.inner
            .weigher
            .as_ref()
            .map_or(1, |w| u64::from(w(key, value)))
    }

    /// Reports a removal the window or the fast engine made (moka reports
    /// its own).
    fn notify(&self, key: &K, value: &V, cause: RemovalCause) {
        if let Some(stats) = &self.inner.stats {
            stats.removal(cause, self.weigh(key, value));
        }
        if let Some(listener) = &self.inner.listener {
            listener(key, value, cause);
        }
    }

    /// Removes `key` from the engine and the window, reporting `cause` for
    /// the window's and the fast engine's entry (moka reports its own).
    fn remove_key<Q>(&self, key: &Q, cause: RemovalCause) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(window) = &self.inner.window else {
            return self.engine_remove(key, cause).map(|s| s.value);
        };
        let (main, windowed) =
            Self::with_window(window, |w| (self.engine_remove(key, cause), w.take(key)));
        if let Some((k, slot, _)) = &windowed {
            self.notify(k, &slot.value, cause);
        }
        main.or(windowed.map(|(_, s, _)| s)).map(|s| s.value)
    }

    /// The value for `key`, if present and not expired.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.lookup(key);
        self.record(found.is_some());
        found.map(|s| s.value)
    }

    /// Whether `key` has a live value (records no statistics).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lookup(key).is_some()
    }

    /// Stores `value` under `key` (replacing any value, reported as
    /// `Replaced`), with the cache's TTL if any.
    pub fn insert(&self, key: K, value: V) {
        let slot = self.slot(value, None);
        self.store(key, slot);
    }

    /// Stores `value` under `key`, expiring after `ttl` whatever the cache's
    /// TTL.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        let slot = self.slot(value, Some(ttl));
        self.store(key, slot);
    }

    /// Removes `key` (reported as `Explicit`).
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_key(key, RemovalCause::Explicit);
    }

    /// Removes `key` and returns its value, if it had a live one.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_key(key, RemovalCause::Explicit)
    }

    /// Removes every entry for which `predicate` is true, at once, and
    /// returns how many. Walks the whole cache: O(entries).
    pub fn invalidate_if(&self, mut predicate: impl FnMut(&K, &V) -> bool) -> usize {
        let mut removed = 0;
        // The window first: keys only move from the window to moka, so a
        // key moved meanwhile is met again in moka's walk.
        if let Some(window) = &self.inner.window {
            let seen: Vec<(K, Slot<V>)> = lock(window)
                .map
                .iter()
                .map(|(k, (s, _, _))| (k.clone(), s.clone()))
                .collect();
            for (k, s) in &seen {
                if predicate(k, &s.value) && self.remove_key(k, RemovalCause::Explicit).is_some() {
                    removed += 1;
                }
            }
        }
        let keys = self.engine_keys_where(predicate);
        for k in &keys {
            if self.remove_key(k, RemovalCause::Explicit).is_some() {
                removed += 1;
            }
        }
        removed
    }

    /// Removes every entry whose key starts with `prefix`; returns how many.
    #[expect(
        clippy::must_use_candidate,
        reason = "called for its effect; the count is extra"
    )]
    pub fn invalidate_prefix(&self, prefix: &str) -> usize
    where
        K: AsRef<str>,
    {
        self.invalidate_if(|k, _| k.as_ref().starts_with(prefix))
    }

    /// Removes every entry.
    pub fn invalidate_all(&self) {
        let Some(window) = &self.inner.window else {
            self.engine_clear();
            return;
        };
        let drained = Self::with_window(window, |w| {
            self.engine_clear();
            w.order.clear();
            w.weight = 0;
            std::mem::take(&mut w.map)
        });
        for (k, (s, _, _)) in drained {
            self.notify(&k, &s.value, RemovalCause::Explicit);
        }
    }

    /// The number of entries (approximate until [`Self::run_pending_tasks`]).
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        let window = self
            .inner
            .window
            .as_ref()
            .map_or(0, |w| lock(w).map.len() as u64);
        self.engine_len() + window
    }

    /// The total weight (entries without a weigher; with a byte bound, the
    /// bytes as [`MemoryCacheBuilder::max_bytes_with`] counts them). Like
    /// [`Self::entry_count`], approximate until [`Self::run_pending_tasks`].
    #[must_use]
    pub fn weighted_size(&self) -> u64 {
        let window = self.inner.window.as_ref().map_or(0, |w| lock(w).weight);
        self.engine_weight() + window
    }

    /// Runs the engine's pending maintenance now: with moka its size
    /// evictions, expirations and their listener calls; with
    /// [`Engine::Fast`] (which evicts for size at once) a walk removing every
    /// entry expired or idle on the cache's clock. Useful before reading
    /// exact counts.
    pub fn run_pending_tasks(&self) {
        self.engine_maintain();
    }

    /// The engine this cache runs on.
    #[must_use]
    pub fn engine(&self) -> Engine {
        self.inner.cache.engine()
    }

    /// How many shards the [`Engine::Fast`] engine split the cache into
    /// (each evicts on its own); `None` for moka.
    #[must_use]
    pub fn shards(&self) -> Option<usize> {
        self.engine_shards()
    }

    /// A snapshot of the statistics, or `None` when the cache was built
    /// without [`MemoryCacheBuilder::record_stats`].
    #[must_use]
    pub fn snapshot(&self) -> Option<CacheSnapshot> {
        self.inner.stats.as_ref().map(|s| s.snapshot())
    }

    /// Sets the `pr_cache_*` metrics of this cache to its statistics (feature
    /// `metrics`; a no-op without statistics). Call it before a scrape or on
    /// a timer: the hot path never touches the recorder.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn publish_metrics(&self) {
        if let (Some(m), Some(stats)) = (&self.inner.metrics, self.snapshot()) {
            m.publish(&stats, self.entry_count(), self.weighted_size());
        }
    }

    /// How long ago `key`'s value was stored, on the cache's clock (only
    /// when a TTL, TTI or refresh age is configured, or it has its own TTL).
    #[must_use]
    pub fn age<Q>(&self, key: &Q) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = match self.engine_peek(key) {
            Some(slot) => slot,
            None => lock(self.inner.window.as_ref()?).map.get(key)?.0.clone(),
        };
        let born = slot.born()?;
        Some(self.inner.clock.elapsed().saturating_sub(born))
    }
}
