//! [`MemoryCache`]: moka underneath, with statistics, loading with one
//! loader run per key, stale-while-revalidate, and expiry on an injected
//! clock.
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

use std::any::Any;
use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pr_core::validate::Violation;

use crate::error::Error;
use crate::stats::{CacheSnapshot, RemovalCause, StatsCounter};
use crate::weigh::{ENTRY_OVERHEAD_BYTES, Weigh};
use pr_core::time::Clock;

type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync>;
type Sizer<K, V> = Arc<dyn Fn(&K, &V) -> usize + Send + Sync>;
type Listener<K, V> = Arc<dyn Fn(&K, &V, RemovalCause) + Send + Sync>;
type AnyError = Arc<dyn Any + Send + Sync>;
/// A sync single-flight slot: concurrent callers share one loader's result.
type SyncFlight<V> = OnceLock<Result<V, AnyError>>;

thread_local! {
    /// Set while this thread invalidates an entry its clock found expired, so
    /// that the listener reports `Expired` rather than `Explicit`.
    static EXPIRING: Cell<bool> = const { Cell::new(false) };
    /// Set while this thread holds a window lock: moka's removal
    /// notifications made meanwhile (our writes to moka happen under that
    /// lock) wait in `DEFERRED` until it is released, so that a listener
    /// may call back into the cache.
    static IN_WINDOW: Cell<bool> = const { Cell::new(false) };
    static DEFERRED: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// Clears `IN_WINDOW` when the window lock is released, even on a panic.
struct InWindow;

impl InWindow {
    fn enter() -> Self {
        IN_WINDOW.with(|f| f.set(true));
        Self
    }
}

impl Drop for InWindow {
    fn drop(&mut self) {
        IN_WINDOW.with(|f| f.set(false));
    }
}

/// Runs the notifications deferred while this thread held a window lock.
fn flush_deferred() {
    loop {
        let pending = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
        if pending.is_empty() {
            return;
        }
        for notify in pending {
            notify();
        }
    }
}

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

/// Which entries the cache keeps when it is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Policy {
    /// Window `TinyLFU` (the default): new entries enter an LRU window of 20 %
    /// of the bound; the window's least recent entry then asks moka's
    /// `TinyLFU` (the other 80 %) for admission, which compares how often it
    /// and moka's victim were asked for. The window keeps recent entries
    /// that `TinyLFU` alone would reject too early; the frequency filter keeps
    /// scans and one-hit wonders out. On the ARC OLTP trace it beats exact
    /// LRU at every size measured (see `benches/benches/cache.rs`), where
    /// moka's plain `TinyLFU` falls below LRU at 2,000 entries. Loaded values
    /// enter through the window too, and an entry read while in the window
    /// moves on to moka (so a hot key is read at moka's cost).
    #[default]
    WindowTinyLfu,
    /// moka's `TinyLFU` alone: admission by frequency, LRU within.
    TinyLfu,
    /// Plain least-recently-used (moka's).
    Lru,
}

/// The share of the bound given to the window of [`Policy::WindowTinyLfu`], in percent.
const WINDOW_PERCENT: u64 = 20;

/// The LRU window in front of moka ([`Policy::WindowTinyLfu`]).
///
/// Every move of a key between the window and moka, and every write to moka
/// in window mode, happens under the window's lock: a key is never in both,
/// an insert is never overtaken by an older value spilling out of the window,
/// and an invalidated key is never put back by a spill.
struct Window<K, V> {
    /// Key → (slot, LRU stamp, weight).
    map: HashMap<K, (Slot<V>, u64, u64)>,
    order: BTreeMap<u64, K>,
    next: u64,
    weight: u64,
    capacity: u64,
}

impl<K: Hash + Eq + Clone, V> Window<K, V> {
    /// Removes `key`, returning it, its slot and its weight.
    fn take<Q>(&mut self, key: &Q) -> Option<(K, Slot<V>, u64)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (k, (slot, stamp, weight)) = self.map.remove_entry(key)?;
        self.order.remove(&stamp);
        self.weight = self.weight.saturating_sub(weight);
        Some((k, slot, weight))
    }

    /// Puts `key` in as the most recent.
    fn push(&mut self, key: K, slot: Slot<V>, weight: u64) {
        let stamp = self.next;
        self.next += 1;
        self.order.insert(stamp, key.clone());
        self.map.insert(key, (slot, stamp, weight));
        self.weight = self.weight.saturating_add(weight);
    }

    /// Takes the least recent entry out while the window is over capacity.
    fn pop_overflow(&mut self) -> Option<(K, Slot<V>)> {
        if self.weight <= self.capacity {
            return None;
        }
        let (_, oldest) = self.order.pop_first()?;
        let (slot, _, weight) = self.map.remove(&oldest)?;
        self.weight = self.weight.saturating_sub(weight);
        Some((oldest, slot))
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
            .field("entries", &self.inner.cache.entry_count())
            .field("stats", &self.inner.stats.is_some())
            .finish_non_exhaustive()
    }
}

/// A single-flight slot for async loads: concurrent callers share the result.
struct Flight<V> {
    cell: tokio::sync::OnceCell<Result<V, AnyError>>,
}

struct Inner<K, V> {
    cache: moka::sync::Cache<K, Slot<V>>,
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
    /// would put loaded values past the window, straight to admission).
    sync_flights: Mutex<HashMap<K, Arc<SyncFlight<V>>>>,
    refreshing: Mutex<HashSet<K>>,
    window: Option<Mutex<Window<K, V>>>,
    weigher: Option<Weigher<K, V>>,
    listener: Option<Listener<K, V>>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::CacheMetrics>,
}

/// Builds a [`MemoryCache`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct MemoryCacheBuilder<K, V> {
    max_entries: Option<u64>,
    max_weight: Option<u64>,
    weigher: Option<Weigher<K, V>>,
    max_bytes: Option<(u64, Sizer<K, V>)>,
    ttl: Option<Duration>,
    tti: Option<Duration>,
    refresh_after: Option<Duration>,
    listener: Option<Listener<K, V>>,
    stats: bool,
    clock: Clock,
    name: String,
    policy: Policy,
}

impl<K, V> fmt::Debug for MemoryCacheBuilder<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCacheBuilder")
            .field("max_entries", &self.max_entries)
            .field("max_weight", &self.max_weight)
            .field("max_bytes", &self.max_bytes.as_ref().map(|(n, _)| n))
            .field("ttl", &self.ttl)
            .field("tti", &self.tti)
            .field("refresh_after", &self.refresh_after)
            .field("stats", &self.stats)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<K, V> MemoryCacheBuilder<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Bounds the cache to `n` entries.
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = Some(n);
        self
    }

    /// Bounds the cache to `n` bytes, as [`Weigh`] measures its keys and
    /// values (plus [`ENTRY_OVERHEAD_BYTES`] per entry). Combines with
    /// [`max_entries`](Self::max_entries): both bounds hold (see
    /// [`max_bytes_with`](Self::max_bytes_with) for how). Use it wherever a
    /// client chooses keys or values: an entry bound alone lets 10,000 keys
    /// of 64 KB take 640 MB.
    pub fn max_bytes(self, n: u64) -> Self
    where
        K: Weigh,
        V: Weigh,
    {
        self.max_bytes_with(n, |k: &K, v: &V| k.weigh() + v.weigh())
    }

    /// Bounds the cache to `n` bytes, `size` telling an entry's key and value
    /// bytes (the cache adds [`ENTRY_OVERHEAD_BYTES`]): for types without a
    /// [`Weigh`] implementation, or to count differently. `size` runs once
    /// per insert (and per removal when statistics or a listener need the
    /// weight), never on a get.
    ///
    /// This is moka's `weigher` + `max_capacity` in bytes, with one addition:
    /// it combines with [`max_entries`](Self::max_entries). moka has one
    /// capacity, so with both set each entry weighs at least
    /// `max_bytes / max_entries` (rounded up): the total weight stays within
    /// `max_bytes`, so the bytes do, and so does the count, since `n` entries
    /// weigh at least `n × max_bytes / max_entries`. Small entries fill the
    /// cache to `max_entries`; large ones leave it at fewer.
    /// [`MemoryCache::weighted_size`] reports the weight so counted. Keys in
    /// the LRU window of [`Policy::WindowTinyLfu`] (at most a fifth of the
    /// bound) are held twice but counted once.
    pub fn max_bytes_with(
        mut self,
        n: u64,
        size: impl Fn(&K, &V) -> usize + Send + Sync + 'static,
    ) -> Self {
        self.max_bytes = Some((n, Arc::new(size)));
        self
    }

    /// Bounds the cache to a total weight (bytes, say) measured by `weigher`.
    /// (For a bound in bytes that also keeps an entry bound, use
    /// [`max_bytes`](Self::max_bytes).)
    pub fn max_weight(
        mut self,
        max: u64,
        weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static,
    ) -> Self {
        self.max_weight = Some(max);
        self.weigher = Some(Arc::new(weigher));
        self
    }

    /// Entries expire this long after they were written.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Entries expire after this long without a read or write.
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.tti = Some(tti);
        self
    }

    /// Stale-while-revalidate: [`MemoryCache::get_or_refresh`] returns an
    /// entry older than `age` at once and reloads it in the background, once.
    pub fn refresh_after(mut self, age: Duration) -> Self {
        self.refresh_after = Some(age);
        self
    }

    /// Called for every entry that leaves the cache, with the cause.
    ///
    /// Size evictions are reported when moka runs its maintenance (on writes,
    /// or [`MemoryCache::run_pending_tasks`]); invalidations and replacements
    /// at once, on the calling thread. The listener must not panic.
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(&K, &V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Records statistics ([`MemoryCache::snapshot`]). Off by default: then the
    /// cache keeps no counters and a get pays one branch.
    pub fn record_stats(mut self) -> Self {
        self.stats = true;
        self
    }

    /// The clock for expiry, refresh ages and load times (default
    /// [`Clock::precise`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A name for logs and the `cache` label of its metrics (default `default`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The eviction policy (default [`Policy::WindowTinyLfu`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem: both an entry and a
    /// weight bound, a weight and a byte bound, a zero byte bound, a byte
    /// bound over 4 GiB per entry of the entry bound, a zero duration, an
    /// empty name.
    pub fn build(mut self) -> Result<MemoryCache<K, V>, Error> {
        // Keyed by the builder method that set the value.
        let mut problems = Vec::new();
        if self.max_entries.is_some() && self.max_weight.is_some() {
            problems.push(Violation::new(
                "max_weight",
                "set one bound, `max_entries` or `max_weight`, not both",
            ));
        }
        if let Some((bytes, size)) = self.max_bytes.take() {
            if self.max_weight.is_some() {
                problems.push(Violation::new(
                    "max_weight",
                    "set one bound, `max_bytes` or `max_weight`, not both",
                ));
            }
            match byte_weigher(bytes, self.max_entries, size) {
                Ok(weigher) => {
                    self.max_weight = Some(bytes);
                    self.weigher = Some(weigher);
                    self.max_entries = None;
                }
                Err(problem) => problems.push(problem),
            }
        }
        for (field, d) in [
            ("time_to_live", self.ttl),
            ("time_to_idle", self.tti),
            ("refresh_after", self.refresh_after),
        ] {
            if d == Some(Duration::ZERO) {
                problems.push(Violation::new(field, "must be more than zero"));
            }
        }
        if self.name.is_empty() {
            problems.push(Violation::new("name", "must not be empty"));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig { problems });
        }
        let stats = self.stats.then(|| Arc::new(StatsCounter::default()));
        let mut builder = moka::sync::Cache::builder().name(&self.name);
        let bound = self.max_entries.or(self.max_weight);
        let window_capacity = match (self.policy, bound) {
            // n / 100 * 20 + the rest's share: no overflow for any n.
            (Policy::WindowTinyLfu, Some(n)) if n >= 5 => {
                n / 100 * WINDOW_PERCENT + n % 100 * WINDOW_PERCENT / 100
            }
            _ => 0,
        };
        if let Some(n) = bound {
            builder = builder.max_capacity(n - window_capacity);
        }
        if let Some(weigher) = self.weigher.clone() {
            builder = builder.weigher(move |k: &K, slot: &Slot<V>| weigher(k, &slot.value));
        }
        builder = builder.eviction_policy(match self.policy {
            Policy::WindowTinyLfu | Policy::TinyLfu => moka::policy::EvictionPolicy::tiny_lfu(),
            Policy::Lru => moka::policy::EvictionPolicy::lru(),
        });
        if self.listener.is_some() || stats.is_some() {
            let listener = self.listener.clone();
            let weigher = self.weigher.clone();
            let stats = stats.clone();
            let deliver = Arc::new(move |key: Arc<K>, slot: Slot<V>, cause: RemovalCause| {
                if let Some(stats) = &stats {
                    let weight = weigher
                        .as_ref()
                        .map_or(1, |w| u64::from(w(&key, &slot.value)));
                    stats.removal(cause, weight);
                }
                if let Some(listener) = &listener {
                    listener(&key, &slot.value, cause);
                }
            });
            builder = builder.eviction_listener(
                move |key: Arc<K>, slot: Slot<V>, cause: moka::notification::RemovalCause| {
                    let cause = match cause {
                        moka::notification::RemovalCause::Expired => RemovalCause::Expired,
                        moka::notification::RemovalCause::Explicit => {
                            if EXPIRING.with(Cell::get) {
                                RemovalCause::Expired
                            } else {
                                RemovalCause::Explicit
                            }
                        }
                        moka::notification::RemovalCause::Replaced => RemovalCause::Replaced,
                        moka::notification::RemovalCause::Size => RemovalCause::Size,
                    };
                    if IN_WINDOW.with(Cell::get) {
                        let deliver = Arc::clone(&deliver);
                        DEFERRED.with(|d| {
                            d.borrow_mut()
                                .push(Box::new(move || deliver(key, slot, cause)));
                        });
                    } else {
                        deliver(key, slot, cause);
                    }
                },
            );
        }
        let timed = self.ttl.is_some() || self.tti.is_some() || self.refresh_after.is_some();
        // moka's per-entry expiry costs every read a call and timer work; a
        // cache without TTL, TTI or refresh age goes without it: an entry
        // given its own TTL is still never returned after it (our check on
        // get), and its memory is reclaimed on that get or by the bound.
        if timed {
            builder = builder.expire_after(MokaExpiry {
                clock: self.clock.clone(),
                tti: self.tti,
            });
        }
        #[cfg(feature = "metrics")]
        let metrics = stats
            .as_ref()
            .map(|_| crate::metrics::CacheMetrics::new(&self.name));
        Ok(MemoryCache {
            inner: Arc::new(Inner {
                cache: builder.build(),
                clock: self.clock,
                stats,
                ttl: self.ttl,
                tti: self.tti,
                refresh_after: self.refresh_after,
                timed,
                name: self.name,
                flights: Mutex::new(HashMap::new()),
                sync_flights: Mutex::new(HashMap::new()),
                refreshing: Mutex::new(HashSet::new()),
                window: (window_capacity > 0).then(|| {
                    Mutex::new(Window {
                        map: HashMap::new(),
                        order: BTreeMap::new(),
                        next: 0,
                        weight: 0,
                        capacity: window_capacity,
                    })
                }),
                weigher: self.weigher,
                listener: self.listener,
                #[cfg(feature = "metrics")]
                metrics,
            }),
        })
    }
}

/// The weigher of a byte bound: `size` plus the per-entry overhead, at
/// least `max_bytes / max_entries` when both are set (so that a weight bound
/// of `max_bytes` also bounds the count), in moka's `u32` weights.
fn byte_weigher<K, V>(
    max_bytes: u64,
    max_entries: Option<u64>,
    size: Sizer<K, V>,
) -> Result<Weigher<K, V>, Violation>
where
    K: 'static,
    V: 'static,
{
    if max_bytes == 0 {
        return Err(Violation::new("max_bytes", "must be greater than 0"));
    }
    let floor = match max_entries {
        Some(n) if n > 0 => max_bytes.div_ceil(n),
        _ => 0,
    };
    let Ok(floor) = u32::try_from(floor) else {
        return Err(Violation::new(
            "max_bytes",
            "must be at most 4GiB per entry of `max_entries`",
        ));
    };
    Ok(Arc::new(move |k: &K, v: &V| {
        let bytes = size(k, v).saturating_add(ENTRY_OVERHEAD_BYTES);
        u32::try_from(bytes).unwrap_or(u32::MAX).max(floor)
    }))
}

/// Takes a key's single-flight slot out of its map when a caller is done
/// with it: at once when it holds a result (so that a later call starts
/// afresh, an error not being cached), else when the last caller leaves (the
/// loader panicked or its caller was cancelled, and nobody waits on it any
/// more). Runs on return, panic and cancellation alike, so the map holds
/// only flights in progress.
struct FlightGuard<'a, K: Hash + Eq, F> {
    map: &'a Mutex<HashMap<K, Arc<F>>>,
    key: &'a K,
    flight: Arc<F>,
    done: fn(&F) -> bool,
}

impl<K: Hash + Eq, F> Drop for FlightGuard<'_, K, F> {
    fn drop(&mut self) {
        let mut map = lock(self.map);
        // The map's Arc, ours and the caller's local one: no one else.
        let last = Arc::strong_count(&self.flight) <= 3;
        if map
            .get(self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            && ((self.done)(&self.flight) || last)
        {
            map.remove(self.key);
        }
    }
}

/// Marks a key's refresh as running; ends it when dropped, so that a
/// refresh that panics, or is never started, does not block later ones.
struct RefreshGuard<K: Hash + Eq, V> {
    inner: Arc<Inner<K, V>>,
    key: K,
}

impl<K: Hash + Eq, V> Drop for RefreshGuard<K, V> {
    fn drop(&mut self) {
        lock(&self.inner.refreshing).remove(&self.key);
    }
}

/// Hands each entry's deadline (on our clock) to moka as a duration.
struct MokaExpiry {
    clock: Clock,
    tti: Option<Duration>,
}

impl MokaExpiry {
    fn remaining<V>(&self, slot: &Slot<V>) -> Option<Duration> {
        let until_deadline = slot
            .meta
            .as_ref()
            .and_then(|m| m.expires)
            .map(|e| e.saturating_sub(self.clock.elapsed()));
        match (until_deadline, self.tti) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<K, V> moka::Expiry<K, Slot<V>> for MokaExpiry {
    fn expire_after_create(&self, _: &K, slot: &Slot<V>, _: Instant) -> Option<Duration> {
        self.remaining(slot)
    }

    fn expire_after_update(
        &self,
        _: &K,
        slot: &Slot<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.remaining(slot)
    }

    fn expire_after_read(
        &self,
        _: &K,
        slot: &Slot<V>,
        _: Instant,
        current: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        if self.tti.is_some() {
            self.remaining(slot)
        } else {
            current
        }
    }
}

use pr_core::sync::lock;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A builder with no bound, no expiry and no statistics.
    pub fn builder() -> MemoryCacheBuilder<K, V> {
        MemoryCacheBuilder {
            max_entries: None,
            max_weight: None,
            weigher: None,
            max_bytes: None,
            ttl: None,
            tti: None,
            refresh_after: None,
            listener: None,
            stats: false,
            clock: Clock::precise(),
            name: "default".to_owned(),
            policy: Policy::default(),
        }
    }

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
        let slot = match self.inner.cache.get(key) {
            Some(slot) => slot,
            None => self.window_get(key)?,
        };
        if slot.meta.is_none() {
            return Some(slot);
        }
        self.check_times(key, slot)
    }

    #[cold]
    fn check_times<Q>(&self, key: &Q, slot: Slot<V>) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let meta = slot.meta.as_deref()?;
        let now = self.inner.clock.elapsed();
        let born = meta.born;
        let mut expired = meta.expires.is_some_and(|e| now >= e);
        if let (Some(tti), Some(touched)) = (self.inner.tti, &meta.touched) {
            let last = born + Duration::from_nanos(touched.load(Ordering::Relaxed));
            if now.saturating_sub(last) >= tti {
                expired = true;
            } else {
                touched.fetch_max(nanos(now.saturating_sub(born)), Ordering::Relaxed);
            }
        }
        if expired {
            EXPIRING.with(|f| f.set(true));
            self.remove_key(key, RemovalCause::Expired);
            EXPIRING.with(|f| f.set(false));
            return None;
        }
        Some(slot)
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

    /// Reports a removal the window made (moka reports its own).
    fn notify(&self, key: &K, value: &V, cause: RemovalCause) {
        if let Some(stats) = &self.inner.stats {
            stats.removal(cause, self.weigh(key, value));
        }
        if let Some(listener) = &self.inner.listener {
            listener(key, value, cause);
        }
    }

    /// Runs `f` under the window's lock; moka's notifications made
    /// meanwhile are delivered after it is released.
    fn with_window<R>(window: &Mutex<Window<K, V>>, f: impl FnOnce(&mut Window<K, V>) -> R) -> R {
        let r = {
            let mut w = lock(window);
            let _in = InWindow::enter();
            f(&mut w)
        };
        flush_deferred();
        r
    }

    /// Stores a slot: in moka when the key is there or there is no window,
    /// else in the window, whose overflow then asks moka for admission.
    fn store(&self, key: K, slot: Slot<V>) {
        let Some(window) = &self.inner.window else {
            self.inner.cache.insert(key, slot);
            return;
        };
        let weight = self.weigh(&key, &slot.value);
        let replaced = Self::with_window(window, |w| {
            if self.inner.cache.contains_key(&key) {
                self.inner.cache.insert(key, slot);
                return None;
            }
            self.put_in_window(w, key, slot, weight)
        });
        if let Some((k, old, _)) = replaced {
            self.notify(&k, &old.value, RemovalCause::Replaced);
        }
    }

    /// Puts a slot in the window, moving what overflows it to moka (which
    /// admits or rejects it); returns the entry it replaced.
    fn put_in_window(
        &self,
        w: &mut Window<K, V>,
        key: K,
        slot: Slot<V>,
        weight: u64,
    ) -> Option<(K, Slot<V>, u64)> {
        let replaced = w.take(&key);
        w.push(key, slot, weight);
        while let Some((k, s)) = w.pop_overflow() {
            self.inner.cache.insert(k, s);
        }
        replaced
    }

    /// The window's slot for `key`: a hit in the window moves the entry to
    /// moka (whose `TinyLFU` has counted the misses that led here), so that a
    /// key read again is read at moka's cost.
    fn window_get<Q>(&self, key: &Q) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Self::with_window(self.inner.window.as_ref()?, |w| {
            let (k, slot, _) = w.take(key)?;
            self.inner.cache.insert(k, slot.clone());
            Some(slot)
        })
    }

    /// Stores a refreshed value only if `key` still holds the entry `seen`
    /// that the refresh started from: a refresh never overwrites a value
    /// inserted meanwhile, nor brings back a key invalidated or evicted
    /// meanwhile (a refreshed entry's times always have a `Meta` to compare).
    fn store_refreshed(&self, key: K, seen: &Slot<V>, value: V) {
        let Some(seen) = seen.meta.as_ref() else {
            return;
        };
        let same = |s: &Slot<V>| s.meta.as_ref().is_some_and(|m| Arc::ptr_eq(m, seen));
        let slot = self.slot(value, None);
        let Some(window) = &self.inner.window else {
            let _ = self
                .inner
                .cache
                .entry(key)
                .and_compute_with(|current| match current {
                    Some(e) if same(e.value()) => moka::ops::compute::Op::Put(slot),
                    _ => moka::ops::compute::Op::Nop,
                });
            return;
        };
        let weight = self.weigh(&key, &slot.value);
        let replaced = Self::with_window(window, |w| {
            if let Some(current) = self.inner.cache.get(&key) {
                if same(&current) {
                    self.inner.cache.insert(key, slot);
                }
                return None;
            }
            if !w.map.get(&key).is_some_and(|(current, _, _)| same(current)) {
                return None;
            }
            self.put_in_window(w, key, slot, weight)
        });
        if let Some((k, old, _)) = replaced {
            self.notify(&k, &old.value, RemovalCause::Replaced);
        }
    }

    /// Removes `key` from moka and the window, reporting `cause` for the
    /// window's entry (moka reports its own).
    fn remove_key<Q>(&self, key: &Q, cause: RemovalCause) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(window) = &self.inner.window else {
            return self.inner.cache.remove(key).map(|s| s.value);
        };
        let (main, windowed) =
            Self::with_window(window, |w| (self.inner.cache.remove(key), w.take(key)));
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
        let keys: Vec<Arc<K>> = self
            .inner
            .cache
            .iter()
            .filter(|(k, s)| predicate(k, &s.value))
            .map(|(k, _)| k)
            .collect();
        for k in &keys {
            if self
                .remove_key(k.as_ref(), RemovalCause::Explicit)
                .is_some()
            {
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
            self.inner.cache.invalidate_all();
            return;
        };
        let drained = Self::with_window(window, |w| {
            self.inner.cache.invalidate_all();
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
        self.inner.cache.entry_count() + window
    }

    /// The total weight (entries without a weigher; with a byte bound, the
    /// bytes as [`MemoryCacheBuilder::max_bytes_with`] counts them). Like
    /// [`Self::entry_count`], approximate until [`Self::run_pending_tasks`].
    #[must_use]
    pub fn weighted_size(&self) -> u64 {
        let window = self.inner.window.as_ref().map_or(0, |w| lock(w).weight);
        self.inner.cache.weighted_size() + window
    }

    /// Runs moka's pending maintenance now: size evictions, expirations and
    /// their listener calls. Useful before reading exact counts.
    pub fn run_pending_tasks(&self) {
        self.inner.cache.run_pending_tasks();
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

    fn record_load(&self, ok: bool, started: Option<Duration>) {
        if let (Some(stats), Some(started)) = (&self.inner.stats, started) {
            let took = self.inner.clock.elapsed().saturating_sub(started);
            stats.load(ok, took);
        }
    }

    fn load_started(&self) -> Option<Duration> {
        self.inner
            .stats
            .as_ref()
            .map(|_| self.inner.clock.elapsed())
    }

    /// The blocking [`Self::get_or_insert_with`], with a sync loader: the value
    /// for `key`, or the one `init` makes, stored. Concurrent calls for a
    /// missing key run one `init` and all get its value; the other threads
    /// block until it returns.
    pub fn get_or_insert_with_blocking(&self, key: K, init: impl FnOnce() -> V) -> V {
        match self
            .try_get_or_insert_with_blocking(key, || Ok::<V, std::convert::Infallible>(init()))
        {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// The blocking [`Self::try_get_or_insert_with`], with a sync loader that
    /// can fail. Concurrent callers share one loader run and its error (the
    /// other threads block until it returns); an error is not cached: the
    /// next call runs the loader again. (To cache a failure, make `V` a
    /// `Result` and use [`Self::get_or_insert_with_blocking`], with
    /// [`Self::insert_with_ttl`] for a short negative TTL.)
    ///
    /// # Errors
    ///
    /// The loader's error, shared.
    pub fn try_get_or_insert_with_blocking<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        if let Some(slot) = self.lookup(&key) {
            self.record(true);
            return Ok(slot.value);
        }
        if self.inner.window.is_some() {
            return self.load_through_window(key, init);
        }
        let mut ran = false;
        let result = self.inner.cache.entry(key).or_try_insert_with(|| {
            ran = true;
            let started = self.load_started();
            let loaded = init();
            self.record_load(loaded.is_ok(), started);
            loaded.map(|v| self.slot(v, None))
        });
        self.record(!ran && result.is_ok());
        result.map(|entry| entry.into_value().value)
    }

    /// Sync loading with a window: one loader run per key among concurrent
    /// callers (the others block on the slot), the value stored through the
    /// window like an insert.
    fn load_through_window<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        let flight = Arc::clone(
            lock(&self.inner.sync_flights)
                .entry(key.clone())
                .or_default(),
        );
        let guard = FlightGuard {
            map: &self.inner.sync_flights,
            key: &key,
            flight: Arc::clone(&flight),
            done: |f: &SyncFlight<V>| f.get().is_some(),
        };
        let mut init = Some(init);
        let mut ran = false;
        let outcome = flight
            .get_or_init(|| {
                if let Some(slot) = self.lookup(&key) {
                    return Ok(slot.value);
                }
                let Some(init) = init.take() else {
                    unreachable!("the slot runs one initializer")
                };
                ran = true;
                let started = self.load_started();
                let loaded = init();
                self.record_load(loaded.is_ok(), started);
                match loaded {
                    Ok(v) => {
                        self.store(key.clone(), self.slot(v.clone(), None));
                        Ok(v)
                    }
                    Err(e) => Err(Arc::new(e) as AnyError),
                }
            })
            .clone();
        drop(guard);
        self.record(!ran && outcome.is_ok());
        match outcome {
            Ok(v) => Ok(v),
            Err(e) => match e.downcast::<E>() {
                Ok(e) => Err(e),
                // A concurrent loader of another error type failed: run ours.
                Err(_) => match init.take() {
                    Some(init) => {
                        let started = self.load_started();
                        let loaded = init();
                        self.record_load(loaded.is_ok(), started);
                        let v = loaded.map_err(Arc::new)?;
                        self.insert(key, v.clone());
                        Ok(v)
                    }
                    None => unreachable!("our loader ran, so the error has our type"),
                },
            },
        }
    }

    /// The value for `key`, or the one `init` makes, stored. Concurrent calls
    /// for a missing key run one loader and all get its value; the others
    /// await it. [`Self::get_or_insert_with_blocking`] takes a sync loader.
    pub async fn get_or_insert_with<F, Fut>(&self, key: K, init: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let load = || async { Ok::<V, std::convert::Infallible>(init().await) };
        match self.try_get_or_insert_with(key, load).await {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// Like [`Self::get_or_insert_with`] with a loader that can fail.
    /// Concurrent callers share one loader run and its value or error; an
    /// error is not cached: the next call runs the loader again. (To cache a
    /// failure, make `V` a `Result` and use [`Self::get_or_insert_with`], with
    /// [`Self::insert_with_ttl`] for a short negative TTL.)
    ///
    /// If the loading caller is cancelled, a waiting caller runs its own
    /// loader instead.
    ///
    /// # Errors
    ///
    /// The loader's error, shared.
    pub async fn try_get_or_insert_with<E, F, Fut>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(slot) = self.lookup(&key) {
            self.record(true);
            return Ok(slot.value);
        }
        let flight = Arc::clone(lock(&self.inner.flights).entry(key.clone()).or_insert_with(
            || {
                Arc::new(Flight {
                    cell: tokio::sync::OnceCell::new(),
                })
            },
        ));
        let guard = FlightGuard {
            map: &self.inner.flights,
            key: &key,
            flight: Arc::clone(&flight),
            done: |f: &Flight<V>| f.cell.initialized(),
        };
        let mut init = Some(init);
        let mut ran = false;
        let outcome = flight
            .cell
            .get_or_init(|| async {
                // Someone may have stored it between our lookup and the flight.
                if let Some(slot) = self.lookup(&key) {
                    return Ok(slot.value);
                }
                let Some(init) = init.take() else {
                    unreachable!("the cell runs one initializer per caller at most")
                };
                ran = true;
                let started = self.load_started();
                let loaded = init().await;
                self.record_load(loaded.is_ok(), started);
                match loaded {
                    Ok(v) => {
                        self.store(key.clone(), self.slot(v.clone(), None));
                        Ok(v)
                    }
                    Err(e) => Err(Arc::new(e) as AnyError),
                }
            })
            .await
            .clone();
        drop(guard);
        self.record(!ran && outcome.is_ok());
        match outcome {
            Ok(v) => Ok(v),
            Err(e) => match e.downcast::<E>() {
                Ok(e) => Err(e),
                // A concurrent loader of another error type failed: run ours.
                Err(_) => match init.take() {
                    Some(init) => {
                        let started = self.load_started();
                        let loaded = init().await;
                        self.record_load(loaded.is_ok(), started);
                        let v = loaded.map_err(Arc::new)?;
                        self.insert(key, v.clone());
                        Ok(v)
                    }
                    None => unreachable!("our loader ran, so the error has our type"),
                },
            },
        }
    }

    /// Stale-while-revalidate. A missing key loads as
    /// [`Self::try_get_or_insert_with`]. A present entry older than the
    /// builder's [`refresh_after`](MemoryCacheBuilder::refresh_after) age is
    /// returned at once while `init` reloads it on a spawned tokio task; one
    /// refresh per key at a time, and a failed refresh keeps the old value.
    ///
    /// # Errors
    ///
    /// The loader's error, when the key was missing.
    ///
    /// Outside a tokio runtime the old value is returned without a refresh
    /// (`cache.refresh_not_started` is logged).
    pub async fn get_or_refresh<E, F, Fut>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let Some(slot) = self.lookup(&key) else {
            return self.try_get_or_insert_with(key, init).await;
        };
        self.record(true);
        if let (Some(age), Some(born)) = (self.inner.refresh_after, slot.born())
            && self.inner.clock.elapsed().saturating_sub(born) >= age
            && lock(&self.inner.refreshing).insert(key.clone())
        {
            let this = self.clone();
            let seen = slot.clone();
            let guard = RefreshGuard {
                inner: Arc::clone(&self.inner),
                key: key.clone(),
            };
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                tracing::warn!(target: "pr_cache", cache = %self.inner.name, "cache.refresh_not_started");
                return Ok(slot.value);
            };
            runtime.spawn(async move {
                let _guard = guard;
                let started = this.load_started();
                let loaded = init().await;
                this.record_load(loaded.is_ok(), started);
                match loaded {
                    Ok(v) => this.store_refreshed(key.clone(), &seen, v),
                    Err(_) => tracing::debug!(
                        target: "pr_cache",
                        cache = %this.inner.name,
                        "cache.refresh_failed"
                    ),
                }
            });
        }
        Ok(slot.value)
    }

    /// The blocking [`Self::get_or_refresh`], with a sync loader: a missing
    /// key loads as [`Self::try_get_or_insert_with_blocking`], blocking the
    /// caller; an entry older than the refresh age is returned at once while
    /// `init` reloads it on a new thread, one refresh per key at a time; a
    /// failed refresh keeps the old value.
    ///
    /// # Errors
    ///
    /// The loader's error, when the key was missing.
    pub fn get_or_refresh_blocking<E, F>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Result<V, E> + Send + 'static,
    {
        let Some(slot) = self.lookup(&key) else {
            return self.try_get_or_insert_with_blocking(key, init);
        };
        self.record(true);
        if let (Some(age), Some(born)) = (self.inner.refresh_after, slot.born())
            && self.inner.clock.elapsed().saturating_sub(born) >= age
            && lock(&self.inner.refreshing).insert(key.clone())
        {
            let this = self.clone();
            let seen = slot.clone();
            let guard = RefreshGuard {
                inner: Arc::clone(&self.inner),
                key: key.clone(),
            };
            let spawned = std::thread::Builder::new()
                .name("pr-cache-refresh".to_owned())
                .spawn(move || {
                    let _guard = guard;
                    let started = this.load_started();
                    let loaded = init();
                    this.record_load(loaded.is_ok(), started);
                    match loaded {
                        Ok(v) => this.store_refreshed(key.clone(), &seen, v),
                        Err(_) => tracing::debug!(
                            target: "pr_cache",
                            cache = %this.inner.name,
                            "cache.refresh_failed"
                        ),
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(target: "pr_cache", error = %e, "cache.refresh_not_started");
            }
        }
        Ok(slot.value)
    }

    /// How long ago `key`'s value was stored, on the cache's clock (only
    /// when a TTL, TTI or refresh age is configured, or it has its own TTL).
    #[must_use]
    pub fn age<Q>(&self, key: &Q) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = match self.inner.cache.get(key) {
            Some(slot) => slot,
            None => lock(self.inner.window.as_ref()?).map.get(key)?.0.clone(),
        };
        let born = slot.born()?;
        Some(self.inner.clock.elapsed().saturating_sub(born))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flights<K, V>(cache: &MemoryCache<K, V>) -> (usize, usize) {
        (
            lock(&cache.inner.flights).len(),
            lock(&cache.inner.sync_flights).len(),
        )
    }

    #[test]
    fn single_flight_slots_leave_their_maps_on_return_panic_and_cancel() {
        let cache: MemoryCache<u32, u32> = MemoryCache::builder()
            .max_entries(100)
            .build()
            .expect("a cache");
        // Returned, sync through the window.
        assert_eq!(cache.get_or_insert_with_blocking(1, || 1), 1);
        assert_eq!(flights(&cache), (0, 0));
        // Panicked.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get_or_insert_with_blocking(2, || panic!("loader bug"))
        }));
        assert!(panicked.is_err());
        assert_eq!(flights(&cache), (0, 0));
        // An async load cancelled after its first poll.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        {
            let mut load = std::pin::pin!(cache.get_or_insert_with(3, std::future::pending::<u32>));
            assert!(load.as_mut().poll(&mut cx).is_pending());
            assert_eq!(flights(&cache), (1, 0), "in progress");
        }
        assert_eq!(flights(&cache), (0, 0), "cancelled");
        // An async error: not kept.
        let mut failed =
            std::pin::pin!(cache.try_get_or_insert_with(4, || async { Err::<u32, &str>("down") }));
        assert!(matches!(
            failed.as_mut().poll(&mut cx),
            std::task::Poll::Ready(Err(_))
        ));
        assert_eq!(flights(&cache), (0, 0));
    }
}
