//! The two engines under [`MemoryCache`]: moka (the default) and `fast`, on
//! [`quick_cache`](https://docs.rs/quick_cache). The rest of `memory/`
//! (statistics, expiry on the injected clock, single-flight loading,
//! stale-while-revalidate, the window) is the same for both; it reaches the
//! engine only through the `engine_*` methods here, which dispatch on
//! [`Store`].
//!
//! # Why a second engine
//!
//! A get hit on moka costs about 110 ns (its read path records the access in
//! a buffer and reads its own clock); on `quick_cache` about 15 ns (a read
//! lock on one shard and a `CLOCK-Pro`-like hot/cold/ghost policy). A cache
//! read on a request's hot path feels that.
//!
//! # How the fast engine keeps the cache's contract
//!
//! - **Removal causes.** `quick_cache` tells of its evictions through its
//!   `Lifecycle`; [`Evictions`] collects them per request and they are
//!   reported once the shard lock is released (so a listener may call back
//!   into the cache), each as evicted or replaced (see [`Removals`]);
//!   invalidations report what `remove` hands back.
//! - **Expiry.** Deadlines are checked on every read as for moka (an
//!   expired entry is never returned). Memory is reclaimed by a sweep with
//!   bounded work: timed entries' deadlines wait in a queue ordered by
//!   deadline, and each write looks at most at [`SWEEP_BATCH`] deadlines
//!   that have passed, removing their entries unless they were stored again
//!   since; the queue itself is capped (what falls off is
//!   still expired on read and evicted for size). Idle time (TTI) is checked
//!   on read only: it costs what a TTL costs on a get (one clock read, one
//!   relaxed `fetch_max`), and an idle entry's memory is reclaimed on read,
//!   by size eviction or by [`MemoryCache::run_pending_tasks`].
//! - **Policy.** `quick_cache` with [`HOT_ALLOCATION`] and
//!   [`GHOST_ALLOCATION`] tuned on the ARC OLTP trace (checked on P3), and
//!   shards of at least [`MIN_SHARD_ENTRIES`] entries (each shard evicts on
//!   its own, so small shards lose hit ratio; see `fast_shards`).

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use pr_core::sync::lock;
use quick_cache::sync::{EntryAction, EntryResult};
use serde::{Deserialize, Serialize};

use super::{MemoryCache, Meta, Slot, Weigher};
use crate::stats::RemovalCause;

/// The engine under a [`MemoryCache`]: same API, same configuration, two
/// trade-offs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Engine {
    /// moka (the default): window `TinyLFU` admission ([`Policy`](super::Policy)),
    /// expiry reclaimed by moka's timer wheel. The best hit ratio at small
    /// sizes; a get hit costs about 110 ns.
    #[default]
    Moka,
    /// `quick_cache`: a sharded hot/cold/ghost policy; a get hit costs a read
    /// lock on one shard (5–7× less than moka on the bench), and at 1,000
    /// entries and more its hit ratio on the OLTP trace is the moka engine's
    /// or better (below it at 256–512: see the README). Expired
    /// entries are never returned and are swept a few per write; idle time
    /// (TTI) is checked on read only. [`Policy`](super::Policy) does not
    /// apply.
    Fast,
}

impl Engine {
    /// A stable lowercase name (`moka`, `fast`), as in the configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Moka => "moka",
            Self::Fast => "fast",
        }
    }
}

/// The share of each `quick_cache` shard kept for entries read again (hot);
/// the rest is the cold queue that new entries enter. Tuned on the OLTP
/// trace (the bench prints it): 0.8 beats `quick_cache`'s 0.97 at every
/// size there, a trace where recency matters. The P3 trace (scans) favours
/// 0.9–0.95 from 8,192 entries, but those lose up to 2.4 points on OLTP at
/// 256 entries: 0.8 stays (the crate's README has the measurements).
pub(super) const HOT_ALLOCATION: f64 = 0.8;
/// Ghost keys (recently evicted, remembered so that a key asked for again
/// enters hot) as a share of the entries: 1.0 beats the default 0.5 on the
/// OLTP trace, at 8 to 16 bytes per ghost.
pub(super) const GHOST_ALLOCATION: f64 = 1.0;
/// The fewest entries a shard is given: each shard evicts on its own, and
/// small ones lose hit ratio (see `fast_shards`).
pub(super) const MIN_SHARD_ENTRIES: u64 = 1_024;
/// The most due deadlines one write looks at (and so the most expired
/// entries it removes).
pub(super) const SWEEP_BATCH: usize = 16;
/// The most shards one may ask for (`quick_cache` rounds the count up to a
/// power of two; far more than cores never helps).
pub(super) const MAX_SHARDS: usize = 1 << 16;
/// The smallest cap of the deadline queue (it holds up to four times the
/// entry bound, and at least this).
const MIN_QUEUE: usize = 4_096;

/// The engine's cache.
pub(super) enum Store<K, V> {
    Moka(moka::sync::Cache<K, Slot<V>>),
    Fast(Fast<K, V>),
}

impl<K, V> Store<K, V> {
    /// Which engine this is.
    pub(super) const fn engine(&self) -> Engine {
        match self {
            Self::Moka(_) => Engine::Moka,
            Self::Fast(_) => Engine::Fast,
        }
    }
}

type Quick<K, V> = quick_cache::sync::Cache<
    K,
    Slot<V>,
    FastWeigher<K, V>,
    quick_cache::DefaultHashBuilder,
    Evictions,
>;

/// The fast engine: `quick_cache` and the deadline queue of its sweep.
pub(super) struct Fast<K, V> {
    cache: Quick<K, V>,
    /// (deadline, sequence) → key, for timed entries (see the module docs).
    deadlines: Mutex<BTreeMap<(Duration, u64), K>>,
    /// Whether a timed entry was ever stored (writes skip the sweep until then).
    timed: AtomicBool,
    /// Tells apart queue entries of one deadline.
    next: AtomicU64,
    /// The most deadlines the queue holds.
    queue_cap: usize,
    /// Whether removals are reported (statistics or a listener).
    notifying: bool,
}

/// An entry's weight for `quick_cache`: the cache's weigher on the value, or 1.
pub(super) struct FastWeigher<K, V>(Option<Weigher<K, V>>);

impl<K, V> Clone for FastWeigher<K, V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<K, V> quick_cache::Weighter<K, Slot<V>> for FastWeigher<K, V> {
    #[inline]
    fn weight(&self, key: &K, slot: &Slot<V>) -> u64 {
        self.0
            .as_ref()
            .map_or(1, |w| u64::from(w(key, &slot.value)))
    }
}

/// Collects what `quick_cache` removes during one request, to be reported
/// after its shard lock is released.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Evictions;

/// One request's removals, in order, each marked evicted or replaced.
///
/// `quick_cache` 0.7 hands both to `on_evict`: an eviction (in its
/// `advance_cold` / `advance_hot`, or an insert rejected as too heavy) is
/// announced by `before_evict` first; the old value of an insert over an
/// existing key is not. So an `on_evict` with a `before_evict` pending is an
/// eviction, one without is a replacement. (The crate's docs say a
/// replacement does not reach `on_evict`; its code does, and the matrix tests
/// pin it: every `Replaced` the listener must see comes through here.)
pub(super) struct Removals<K, V> {
    /// The first two removals: an insert removes at most a replaced value
    /// and an eviction or two, so most requests allocate nothing here.
    inline: [Option<(K, V, bool)>; 2],
    /// The rest, in order.
    spill: Vec<(K, V, bool)>,
    len: usize,
    /// `before_evict` calls not yet matched by an `on_evict`.
    pending: usize,
}

impl<K, V> Default for Removals<K, V> {
    fn default() -> Self {
        Self {
            inline: [None, None],
            spill: Vec::new(),
            len: 0,
            pending: 0,
        }
    }
}

impl<K, V> Removals<K, V> {
    fn push(&mut self, item: (K, V, bool)) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(item),
            None => self.spill.push(item),
        }
        self.len += 1;
    }
}

impl<K: Eq, V> Removals<K, V> {
    fn get(&self, i: usize) -> Option<&(K, V, bool)> {
        match self.inline.get(i) {
            Some(slot) => slot.as_ref(),
            None => self.spill.get(i - self.inline.len()),
        }
    }

    fn set_evicted(&mut self, i: usize, evicted: bool) {
        let n = self.inline.len();
        let item = match self.inline.get_mut(i) {
            Some(slot) => slot.as_mut(),
            None => self.spill.get_mut(i - n),
        };
        if let Some(item) = item {
            item.2 = evicted;
        }
    }

    /// The removals in order, each with whether it was evicted (else
    /// replaced).
    ///
    /// One order breaks the rule: an insert too heavy for the cache over an
    /// existing key announces the new value (`before_evict`), then removes
    /// the old one, then rejects the new one: `[old (marked), new
    /// (unmarked)]`, both of that key. The old value was replaced, the new one
    /// evicted: the marks are swapped back.
    fn into_items(mut self) -> impl Iterator<Item = (K, V, bool)> {
        if let Some(last) = self.len.checked_sub(1)
            && let (Some(a), Some(b)) = (
                last.checked_sub(1).and_then(|i| self.get(i)),
                self.get(last),
            )
            && a.2
            && !b.2
            && a.0 == b.0
        {
            self.set_evicted(last - 1, false);
            self.set_evicted(last, true);
        }
        self.inline.into_iter().flatten().chain(self.spill)
    }
}

impl<K, V> quick_cache::Lifecycle<K, V> for Evictions {
    type RequestState = Removals<K, V>;

    #[inline]
    fn before_evict(&self, state: &mut Self::RequestState, _: &K, _: &mut V) {
        state.pending += 1;
    }

    #[inline]
    fn on_evict(&self, state: &mut Self::RequestState, key: K, val: V) {
        let evicted = state.pending > 0;
        state.pending = state.pending.saturating_sub(1);
        state.push((key, val, evicted));
    }
}

/// How `quick_cache` is sized for a bound.
pub(super) struct FastSizing {
    /// The bound in weight (entries without a weigher); `None`: unbounded.
    pub(super) bound: Option<u64>,
    /// About how many entries it will hold.
    pub(super) entries: u64,
}

/// The shard count: `quick_cache`'s own (4 per core, rounded up to a power of
/// two), lowered so that each shard holds at least [`MIN_SHARD_ENTRIES`].
pub(super) fn fast_shards(entries: u64, cores: usize) -> usize {
    let wanted = (cores.max(1) * 4).next_power_of_two();
    let most = usize::try_from(entries / MIN_SHARD_ENTRIES).unwrap_or(usize::MAX);
    wanted.min(most.max(1))
}

impl<K, V> Fast<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(super) fn new(
        sizing: &FastSizing,
        weigher: Option<Weigher<K, V>>,
        notifying: bool,
        shards: Option<usize>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let entries = sizing.entries.max(1);
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(entries).unwrap_or(usize::MAX))
            // No bound: a weight no cache reaches (well below u64::MAX, so
            // that quick_cache's sums cannot overflow).
            .weight_capacity(sizing.bound.unwrap_or(1 << 62))
            .hot_allocation(HOT_ALLOCATION)
            .ghost_allocation(GHOST_ALLOCATION)
            .shards(shards.unwrap_or_else(|| fast_shards(entries, cores)))
            .build();
        let Ok(options) = options else {
            unreachable!("every option is set, each within its range")
        };
        Self {
            cache: quick_cache::sync::Cache::with_options(
                options,
                FastWeigher(weigher),
                quick_cache::DefaultHashBuilder::default(),
                Evictions,
            ),
            deadlines: Mutex::new(BTreeMap::new()),
            timed: AtomicBool::new(false),
            next: AtomicU64::new(0),
            queue_cap: usize::try_from(entries.saturating_mul(4))
                .unwrap_or(usize::MAX)
                .max(MIN_QUEUE),
            notifying,
        }
    }

    /// The number of shards actually used.
    pub(super) fn shards(&self) -> usize {
        self.cache.num_shards()
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The engine's slot for `key` (a read: counts as an access).
    #[inline]
    pub(super) fn engine_get<Q>(&self, key: &Q) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match &self.inner.cache {
            Store::Moka(c) => c.get(key),
            Store::Fast(f) => f.cache.get(key),
        }
    }

    /// The engine's slot for `key` without counting an access where the
    /// engine can tell (`quick_cache`'s peek; moka has none).
    pub(super) fn engine_peek<Q>(&self, key: &Q) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match &self.inner.cache {
            Store::Moka(c) => c.get(key),
            Store::Fast(f) => f.cache.peek(key),
        }
    }

    pub(super) fn engine_contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match &self.inner.cache {
            Store::Moka(c) => c.contains_key(key),
            Store::Fast(f) => f.cache.contains_key(key),
        }
    }

    /// Stores a slot in the engine. moka reports its removals through its
    /// listener; the fast engine's (the replaced value, size evictions, a
    /// few expired entries swept) are reported here, after its locks.
    pub(super) fn engine_insert(&self, key: K, slot: Slot<V>) {
        let f = match &self.inner.cache {
            Store::Moka(c) => return c.insert(key, slot),
            Store::Fast(f) => f,
        };
        let deadline = slot.meta.as_ref().and_then(|m| m.expires);
        let queued = deadline.map(|d| (d, key.clone()));
        let mut removals = Removals::default();
        f.cache.insert_with_lifecycle(key, slot, &mut removals);
        if f.notifying {
            for (k, s, evicted) in removals.into_items() {
                let cause = if !evicted {
                    RemovalCause::Replaced
                } else if self.expired_now(&s) {
                    RemovalCause::Expired
                } else {
                    RemovalCause::Size
                };
                self.notify(&k, &s.value, cause);
            }
        }
        if queued.is_some() {
            f.timed.store(true, Ordering::Relaxed);
        }
        if f.timed.load(Ordering::Relaxed) {
            self.sweep(f, queued, SWEEP_BATCH);
        }
    }

    /// Whether `slot`'s deadline has passed (idle time aside): a slot
    /// without times costs no clock read.
    fn expired_now(&self, slot: &Slot<V>) -> bool {
        slot.meta
            .as_ref()
            .and_then(|m| m.expires)
            .is_some_and(|e| self.inner.clock.elapsed() >= e)
    }

    /// Queues `queued` (a new entry's deadline and key), then removes up to
    /// `most` entries whose deadline has passed, reported as `Expired`, all
    /// under one lock of the queue. An entry replaced since it was queued is
    /// kept unless its new deadline has passed too.
    fn sweep(&self, f: &Fast<K, V>, queued: Option<(Duration, K)>, most: usize) {
        let now = self.inner.clock.elapsed();
        let due: Vec<K> = {
            let mut queue = lock(&f.deadlines);
            if let Some((deadline, key)) = queued {
                let seq = f.next.fetch_add(1, Ordering::Relaxed);
                queue.insert((deadline, seq), key);
                if queue.len() > f.queue_cap {
                    // The farthest deadline falls off: read checks and size
                    // eviction still cover it.
                    queue.pop_last();
                }
            }
            let mut due = Vec::new();
            while due.len() < most {
                match queue.first_key_value() {
                    Some(((deadline, _), _)) if *deadline <= now => {}
                    _ => break,
                }
                if let Some((_, key)) = queue.pop_first() {
                    due.push(key);
                }
            }
            due
        };
        for key in due {
            let removed = f.cache.remove_if(&key, |s| {
                s.meta
                    .as_ref()
                    .and_then(|m| m.expires)
                    .is_some_and(|e| e <= now)
            });
            if let Some((k, s)) = removed {
                self.notify(&k, &s.value, RemovalCause::Expired);
            }
        }
    }

    /// Removes `key` from the engine. moka reports the removal through its
    /// listener; the fast engine's is reported here with `cause`.
    pub(super) fn engine_remove<Q>(&self, key: &Q, cause: RemovalCause) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match &self.inner.cache {
            Store::Moka(c) => c.remove(key),
            Store::Fast(f) => {
                let (k, slot) = f.cache.remove(key)?;
                self.notify(&k, &slot.value, cause);
                Some(slot)
            }
        }
    }

    /// Replaces `key`'s slot with `slot` only if `keep(current)` holds, at
    /// once (stale-while-revalidate's store); a missing key stays missing.
    pub(super) fn engine_replace_if(&self, key: K, slot: Slot<V>, keep: impl Fn(&Slot<V>) -> bool) {
        match &self.inner.cache {
            Store::Moka(c) => {
                let _ = c.entry(key).and_compute_with(|current| match current {
                    Some(e) if keep(e.value()) => moka::ops::compute::Op::Put(slot),
                    _ => moka::ops::compute::Op::Nop,
                });
            }
            Store::Fast(f) => {
                let mut new = Some(slot);
                let found = f.cache.entry(&key, None, |_, current| {
                    if !keep(current) {
                        return EntryAction::Retain(None);
                    }
                    match new.take() {
                        Some(slot) => EntryAction::Retain(Some(std::mem::replace(current, slot))),
                        None => EntryAction::Retain(None),
                    }
                });
                // A vacant key's guard is dropped unfilled: the key was
                // invalidated or evicted, and a refresh must not bring it back.
                if let EntryResult::Retained(Some(old)) = found {
                    self.notify(&key, &old.value, RemovalCause::Replaced);
                }
            }
        }
    }

    /// Every key whose entry satisfies `predicate` (a snapshot: entries
    /// stored during the walk may or may not be seen).
    pub(super) fn engine_keys_where(&self, mut predicate: impl FnMut(&K, &V) -> bool) -> Vec<K> {
        match &self.inner.cache {
            Store::Moka(c) => c
                .iter()
                .filter(|(k, s)| predicate(k, &s.value))
                .map(|(k, _)| K::clone(&k))
                .collect(),
            Store::Fast(f) => f
                .cache
                .iter()
                .filter(|(k, s)| predicate(k, &s.value))
                .map(|(k, _)| k)
                .collect(),
        }
    }

    /// Removes every entry, each reported as `Explicit`.
    pub(super) fn engine_clear(&self) {
        match &self.inner.cache {
            Store::Moka(c) => c.invalidate_all(),
            Store::Fast(f) => {
                lock(&f.deadlines).clear();
                for (k, s) in f.cache.drain() {
                    self.notify(&k, &s.value, RemovalCause::Explicit);
                }
            }
        }
    }

    pub(super) fn engine_len(&self) -> u64 {
        match &self.inner.cache {
            Store::Moka(c) => c.entry_count(),
            Store::Fast(f) => f.cache.len() as u64,
        }
    }

    pub(super) fn engine_weight(&self) -> u64 {
        match &self.inner.cache {
            Store::Moka(c) => c.weighted_size(),
            Store::Fast(f) => f.cache.weight(),
        }
    }

    /// moka's pending maintenance; for the fast engine a full sweep of the
    /// entries expired or idle on the cache's clock (O(entries)).
    pub(super) fn engine_maintain(&self) {
        let f = match &self.inner.cache {
            Store::Moka(c) => return c.run_pending_tasks(),
            Store::Fast(f) => f,
        };
        let now = self.inner.clock.elapsed();
        let tti = self.inner.tti;
        let dead = |s: &Slot<V>| s.meta.as_deref().is_some_and(|m| is_dead(m, now, tti));
        let keys: Vec<K> = f
            .cache
            .iter()
            .filter(|(_, s)| dead(s))
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            if let Some((k, s)) = f.cache.remove_if(&key, |s| dead(s)) {
                self.notify(&k, &s.value, RemovalCause::Expired);
            }
        }
        // What the walk removed no longer needs its queue entries.
        lock(&f.deadlines).retain(|(deadline, _), _| *deadline > now);
    }

    /// The number of shards of the fast engine (`None` for moka).
    pub(super) fn engine_shards(&self) -> Option<usize> {
        match &self.inner.cache {
            Store::Moka(_) => None,
            Store::Fast(f) => Some(f.shards()),
        }
    }
}

/// Whether an entry's deadline or idle time has passed at `now` (without
/// moving its idle time).
fn is_dead(meta: &Meta, now: Duration, tti: Option<Duration>) -> bool {
    if meta.expires.is_some_and(|e| now >= e) {
        return true;
    }
    match (tti, &meta.touched) {
        (Some(tti), Some(touched)) => {
            let last = meta.born + Duration::from_nanos(touched.load(Ordering::Relaxed));
            now.saturating_sub(last) >= tti
        }
        _ => false,
    }
}
