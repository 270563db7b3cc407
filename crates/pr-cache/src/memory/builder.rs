//! [`MemoryCacheBuilder`]: the cache's settings, checked all at once in
//! `build`, and how they become the engine's cache: for moka the bound (less
//! the window's share), the weigher of a byte bound, the eviction policy, the
//! expiry hook, and one removal listener that feeds both the statistics and
//! the user's listener; for the fast engine `quick_cache` sized from the
//! same bound and weigher (its removals are reported by `engine.rs`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_core::time::Clock;
use pr_core::validate::Violation;

use super::engine::{Engine, Fast, FastSizing, MAX_SHARDS, Store};
use super::expiry::{self, MokaExpiry};
use super::window::{self, Policy, Window};
use super::{Inner, Listener, MemoryCache, Slot, Weigher};
use crate::error::Error;
use crate::stats::{RemovalCause, StatsCounter};
use crate::weigh::{ENTRY_OVERHEAD_BYTES, Weigh};

type Sizer<K, V> = Arc<dyn Fn(&K, &V) -> usize + Send + Sync>;

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
    /// `None`: the default, which `build` may pair with either engine.
    policy: Option<Policy>,
    engine: Engine,
    shards: Option<usize>,
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
            .field("policy", &self.policy)
            .field("engine", &self.engine)
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

    /// The eviction policy of the moka engine (default
    /// [`Policy::WindowTinyLfu`]); [`Engine::Fast`] has its own, and `build`
    /// rejects a policy set with it.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The engine (default [`Engine::Moka`]): see [`Engine`] for the
    /// trade-off. The API, the statistics and the listener's causes are the
    /// same on both.
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }

    /// The number of shards of [`Engine::Fast`] (rounded up to a power of
    /// two; default: 4 per core, lowered so that each shard holds at least
    /// 1,024 entries). Each shard evicts on its own: more shards serve more
    /// threads at once, fewer keep a better hit ratio. Ignored by moka.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem: both an entry and a
    /// weight bound, a weight and a byte bound, a zero byte bound, a byte
    /// bound over 4 GiB per entry of the entry bound, a zero duration, an
    /// empty name, a [`policy`](Self::policy) or [`shards`](Self::shards)
    /// outside 1–65,536 with [`Engine::Fast`].
    pub fn build(mut self) -> Result<MemoryCache<K, V>, Error> {
        // Keyed by the builder method that set the value.
        let mut problems = Vec::new();
        // For the fast engine's sizing: the entries a bound will hold.
        let entries_hint = self.max_entries;
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
        if self.engine == Engine::Fast {
            if self.policy.is_some() {
                problems.push(Violation::new(
                    "policy",
                    "applies to the `moka` engine only; the `fast` engine has its own",
                ));
            }
            if self.shards.is_some_and(|n| n == 0 || n > MAX_SHARDS) {
                problems.push(Violation::new("shards", "must be between 1 and 65536"));
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig { problems });
        }
        let stats = self.stats.then(|| Arc::new(StatsCounter::default()));
        let bound = self.max_entries.or(self.max_weight);
        let timed = self.ttl.is_some() || self.tti.is_some() || self.refresh_after.is_some();
        let (cache, window_capacity) = match self.engine {
            Engine::Moka => {
                let policy = self.policy.unwrap_or_default();
                let window_capacity = window::capacity(policy, bound);
                (
                    Store::Moka(self.moka(policy, bound, window_capacity, stats.as_ref(), timed)),
                    window_capacity,
                )
            }
            Engine::Fast => {
                let sizing = FastSizing {
                    bound,
                    // A weight bound alone says nothing of the count: a
                    // guess; quick_cache needs only its order of magnitude.
                    entries: entries_hint
                        .unwrap_or_else(|| bound.map_or(10_000, |b| (b / 1_024).max(16))),
                };
                let notifying = stats.is_some() || self.listener.is_some();
                let fast = Fast::new(&sizing, self.weigher.clone(), notifying, self.shards);
                (Store::Fast(fast), 0)
            }
        };
        #[cfg(feature = "metrics")]
        let metrics = stats
            .as_ref()
            .map(|_| crate::metrics::CacheMetrics::new(&self.name));
        Ok(MemoryCache {
            inner: Arc::new(Inner {
                cache,
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
                window: (window_capacity > 0).then(|| Mutex::new(Window::new(window_capacity))),
                weigher: self.weigher,
                listener: self.listener,
                #[cfg(feature = "metrics")]
                metrics,
            }),
        })
    }

    /// The moka cache for these settings: the bound less the window's
    /// share, the weigher, the policy, the removal listener, the expiry hook.
    fn moka(
        &self,
        policy: Policy,
        bound: Option<u64>,
        window_capacity: u64,
        stats: Option<&Arc<StatsCounter>>,
        timed: bool,
    ) -> moka::sync::Cache<K, Slot<V>> {
        let mut builder = moka::sync::Cache::builder().name(&self.name);
        if let Some(n) = bound {
            builder = builder.max_capacity(n - window_capacity);
        }
        if let Some(weigher) = self.weigher.clone() {
            builder = builder.weigher(move |k: &K, slot: &Slot<V>| weigher(k, &slot.value));
        }
        builder = builder.eviction_policy(match policy {
            Policy::WindowTinyLfu | Policy::TinyLfu => moka::policy::EvictionPolicy::tiny_lfu(),
            Policy::Lru => moka::policy::EvictionPolicy::lru(),
        });
        if self.listener.is_some() || stats.is_some() {
            let listener = self.listener.clone();
            let weigher = self.weigher.clone();
            let stats = stats.cloned();
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
                    let cause = expiry::removal_cause(cause);
                    if window::holds_lock() {
                        let deliver = Arc::clone(&deliver);
                        window::defer(Box::new(move || deliver(key, slot, cause)));
                    } else {
                        deliver(key, slot, cause);
                    }
                },
            );
        }
        // moka's per-entry expiry costs every read a call and timer work; a
        // cache without TTL, TTI or refresh age goes without it: an entry
        // given its own TTL is still never returned after it (our check on
        // get), and its memory is reclaimed on that get or by the bound.
        if timed {
            builder = builder.expire_after(MokaExpiry::new(self.clock.clone(), self.tti));
        }
        builder.build()
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
            policy: None,
            engine: Engine::default(),
            shards: None,
        }
    }
}
