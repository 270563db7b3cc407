//! Keyed GCRA limiters (per client, per route) with bounded memory.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashbrown::HashTable;

use super::bucket::lock;
use super::{Denied, LimiterClock, MonotonicClock, Quota, RejectCounter};
use crate::Error;

/// One GCRA state per key, in a fixed number of shards, with at most
/// `max_keys` keys.
///
/// A key whose state is fully replenished (its theoretical arrival time is
/// past) is the same as an absent key, so it is dropped first when a shard
/// is full (and by [`sweep`](Self::sweep)); when every key of a full shard
/// is active, the one closest to replenished is dropped. A flood of
/// distinct keys therefore never holds more than `max_keys` states, at the
/// cost, for the evicted active key, of forgetting part of its use.
///
/// # Examples
///
/// ```
/// use pr_resilience::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let limiter = KeyedLimiter::<String>::builder(Quota::per_second(1))
///     .max_keys(10_000)
///     .build()?;
/// assert!(limiter.check_key("alice").is_ok());
/// assert!(limiter.check_key("alice").is_err());
/// assert!(limiter.check_key("bob").is_ok());
/// assert_eq!(limiter.len(), 2);
/// # Ok(())
/// # }
/// ```
pub struct KeyedLimiter<K, C = MonotonicClock> {
    inner: Arc<Inner<K, C>>,
}

/// One shard: each key with its theoretical arrival time.
type Shard<K> = Mutex<HashTable<(K, u64)>>;

struct Inner<K, C> {
    shards: Box<[Shard<K>]>,
    shard_bits: u32,
    per_shard: usize,
    hasher: RandomState,
    interval: u64,
    capacity: u64,
    burst: u32,
    quota: Quota,
    max_keys: usize,
    clock: C,
    rejected: RejectCounter,
    #[cfg(feature = "metrics")]
    evicted: metrics::Counter,
}

impl<K, C> Clone for KeyedLimiter<K, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, C> std::fmt::Debug for KeyedLimiter<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("quota", &self.inner.quota)
            .field("max_keys", &self.inner.max_keys)
            .finish_non_exhaustive()
    }
}

/// Builds a [`KeyedLimiter`]; made by [`KeyedLimiter::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct KeyedLimiterBuilder<K, C = MonotonicClock> {
    key: std::marker::PhantomData<fn(K) -> K>,
    quota: Quota,
    max_keys: usize,
    shards: Option<usize>,
    clock: C,
}

impl<K> KeyedLimiterBuilder<K> {
    /// Reads time from `clock` instead of the default clock.
    pub fn clock<C2: LimiterClock>(self, clock: C2) -> KeyedLimiterBuilder<K, C2> {
        KeyedLimiterBuilder {
            key: std::marker::PhantomData,
            quota: self.quota,
            max_keys: self.max_keys,
            shards: self.shards,
            clock,
        }
    }
}

impl<K: Hash + Eq + Clone, C: LimiterClock> KeyedLimiterBuilder<K, C> {
    /// The most keys held at once (default 100,000).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The number of shards (a power of two; default: enough for ~64 keys
    /// each, at most 64).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Builds the limiter.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an invalid quota, no keys, or a shard
    /// count that is not a power of two or exceeds the maximum of keys.
    pub fn build(self) -> Result<KeyedLimiter<K, C>, Error> {
        let nanos = self.quota.nanos()?;
        if self.max_keys == 0 {
            return Err(Error::InvalidConfig {
                field: "keyed.max_keys",
                message: "must be at least 1 (usize 0 given)".into(),
            });
        }
        let shards = self
            .shards
            .unwrap_or_else(|| (self.max_keys / 64).clamp(1, 64).next_power_of_two());
        if !shards.is_power_of_two() || shards > self.max_keys || shards > 1 << 16 {
            return Err(Error::InvalidConfig {
                field: "keyed.shards",
                message: format!(
                    "must be a power of two, at most 65536 and at most max_keys ({}); usize {shards} given",
                    self.max_keys
                ),
            });
        }
        Ok(KeyedLimiter {
            inner: Arc::new(Inner {
                shards: (0..shards).map(|_| Mutex::new(HashTable::new())).collect(),
                shard_bits: shards.trailing_zeros(),
                per_shard: self.max_keys / shards,
                hasher: RandomState::new(),
                interval: nanos.interval,
                capacity: nanos.capacity,
                burst: self.quota.burst(),
                quota: self.quota,
                max_keys: self.max_keys,
                clock: self.clock,
                rejected: RejectCounter::new("keyed_gcra"),
                #[cfg(feature = "metrics")]
                evicted: metrics::counter!("pr_resilience_ratelimit_evicted_keys_total"),
            }),
        })
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A builder with `quota` for every key.
    pub fn builder(quota: Quota) -> KeyedLimiterBuilder<K> {
        KeyedLimiterBuilder {
            key: std::marker::PhantomData,
            quota,
            max_keys: 100_000,
            shards: None,
            clock: MonotonicClock::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, C: LimiterClock> KeyedLimiter<K, C> {
    /// Takes one permit for `key`.
    ///
    /// # Errors
    ///
    /// [`Denied::RetryAfter`] with the wait until the key has a permit.
    #[inline]
    pub fn check_key<Q>(&self, key: &Q) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, 1, true)
    }

    /// Takes `n` permits for `key`, or none.
    ///
    /// # Errors
    ///
    /// [`Denied::RetryAfter`], or [`Denied::ExceedsBurst`] when `n` is more
    /// than the burst.
    pub fn check_key_n<Q>(&self, key: &Q, n: u32) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, n, true)
    }

    /// Whether `key` would get a permit now, without taking it (and without
    /// adding the key).
    ///
    /// # Errors
    ///
    /// As [`check_key`](Self::check_key).
    pub fn peek_key<Q>(&self, key: &Q) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, 1, false)
    }

    /// Waits (on tokio's timer) until `key` gets a permit.
    pub async fn until_key_ready<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        while let Err(denied) = self.check_key(key) {
            tokio::time::sleep(denied.retry_after().unwrap_or(Duration::from_millis(1))).await;
        }
    }

    /// The keys held now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The room allocated for keys now (bounded by about twice `max_keys`).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).capacity()).sum()
    }

    /// The most keys held at once.
    #[must_use]
    pub fn max_keys(&self) -> usize {
        self.inner.max_keys
    }

    /// The quota of every key.
    #[must_use]
    pub fn quota(&self) -> Quota {
        self.inner.quota
    }

    /// Drops every key whose state is fully replenished (indistinguishable
    /// from an absent key); returns how many.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; the count is informational"
    )]
    pub fn sweep(&self) -> usize {
        let now = self.inner.clock.now();
        self.inner
            .shards
            .iter()
            .map(|shard| {
                let mut table = lock(shard);
                let before = table.len();
                table.retain(|(_, tat)| *tat > now);
                table.shrink_to(self.inner.per_shard, |(k, _)| self.inner.hasher.hash_one(k));
                before - table.len()
            })
            .sum()
    }

    fn decide<Q>(&self, key: &Q, n: u32, take: bool) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let inner = &*self.inner;
        if n > inner.burst {
            return Err(Denied::ExceedsBurst {
                requested: n,
                burst: inner.burst,
            });
        }
        let hash = inner.hasher.hash_one(key);
        let shard = if inner.shard_bits == 0 {
            0
        } else {
            usize::try_from(hash >> (64 - inner.shard_bits)).unwrap_or(0)
        };
        let add = u64::from(n) * inner.interval;
        let now = inner.clock.now();
        let mut table = lock(&inner.shards[shard]);
        let eq = |entry: &(K, u64)| entry.0.borrow() == key;
        if let Some(entry) = table.find_mut(hash, eq) {
            let next = entry.1.max(now) + add;
            let ahead = next - now;
            if ahead > inner.capacity {
                drop(table);
                if take {
                    inner.rejected.hit();
                }
                return Err(Denied::RetryAfter(Duration::from_nanos(
                    ahead - inner.capacity,
                )));
            }
            if take {
                entry.1 = next;
            }
            return Ok(());
        }
        // An absent key has a full burst; n <= burst always passes.
        if take && n > 0 {
            if table.len() >= inner.per_shard {
                self.make_room(&mut table, now);
            }
            table.insert_unique(hash, (key.to_owned(), now + add), |(k, _)| {
                inner.hasher.hash_one(k)
            });
        }
        Ok(())
    }

    /// Frees room in a full shard: every replenished key, or else the
    /// eighth of the keys closest to replenished (so that a flood of new
    /// keys pays for one scan every `per_shard / 8` inserts, not each).
    #[cold]
    fn make_room(&self, table: &mut HashTable<(K, u64)>, now: u64) {
        let before = table.len();
        table.retain(|(_, tat)| *tat > now);
        if table.len() >= self.inner.per_shard {
            let mut tats: Vec<u64> = table.iter().map(|(_, tat)| *tat).collect();
            let cut = (tats.len() / 8).min(tats.len() - 1);
            let (_, threshold, _) = tats.select_nth_unstable(cut);
            let threshold = *threshold;
            // Every key below the threshold, and at it only as many as
            // make up the eighth (ties are common: keys first seen at once).
            let below = tats.iter().filter(|t| **t < threshold).count();
            let mut at_threshold = cut + 1 - below;
            table.retain(|(_, tat)| {
                if *tat == threshold && at_threshold > 0 {
                    at_threshold -= 1;
                    return false;
                }
                *tat >= threshold
            });
        }
        let evicted = before - table.len();
        #[cfg(feature = "metrics")]
        self.inner.evicted.increment(evicted as u64);
        tracing::trace!(
            name: "pr_resilience.ratelimit.keys_evicted",
            evicted,
            "keyed limiter evicted keys to stay within its maximum"
        );
    }
}
