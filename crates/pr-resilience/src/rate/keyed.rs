//! Keyed GCRA limiters (per client, per route) with bounded memory.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashbrown::HashTable;

use pr_core::sync::lock;
use pr_core::time::Clock;

use super::{Denied, Quota, RejectCounter};
use crate::Error;

/// One GCRA state per key, in a fixed number of shards, with at most
/// `max_keys` keys and at most `max_bytes` bytes of them.
///
/// Keys are often chosen by clients (an API key header, a user name), so
/// the limiter is bounded in bytes as well as in keys: each entry counts its
/// fixed size plus what [`weigher`](crate::rate::KeyedLimiterBuilder::weigher) says its
/// key owns on the heap (give `|key: &String| key.len()` for string keys;
/// the default counts nothing, right for addresses and numbers). A key
/// heavier than a shard's share of `max_bytes` is refused with
/// [`Denied::KeyTooLarge`](crate::rate::Denied::KeyTooLarge) rather than tracked or let through.
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
/// use pr_resilience::rate::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let limiter = KeyedLimiter::<String>::builder(Quota::per_second(1))
///     .max_keys(10_000)
///     .max_bytes(4 << 20)
///     .weigher(|key: &String| key.len())
///     .build()?;
/// assert!(limiter.check_key("alice").is_ok());
/// assert!(limiter.check_key("alice").is_err());
/// assert!(limiter.check_key("bob").is_ok());
/// assert_eq!(limiter.len(), 2);
/// # Ok(())
/// # }
/// ```
pub struct KeyedLimiter<K> {
    inner: Arc<Inner<K>>,
}

/// One shard: each key with its theoretical arrival time and its weight,
/// and the shard's total weight.
type Shard<K> = Mutex<ShardTable<K>>;

/// The keys of one shard.
struct ShardTable<K> {
    table: HashTable<(K, u64, usize)>,
    bytes: usize,
}

impl<K> ShardTable<K> {
    /// Keeps the entries `keep` accepts, keeping `bytes` in step.
    fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        let mut freed = 0;
        self.table.retain(|(_, tat, weight)| {
            let kept = keep(*tat);
            if !kept {
                freed += *weight;
            }
            kept
        });
        self.bytes -= freed;
    }
}

/// What a key's weigher returns: the bytes it owns besides its entry.
type Weigher<K> = Arc<dyn Fn(&K) -> usize + Send + Sync>;

struct Inner<K> {
    name: String,
    shards: Box<[Shard<K>]>,
    shard_bits: u32,
    per_shard: usize,
    per_shard_bytes: usize,
    weigher: Weigher<K>,
    hasher: RandomState,
    interval: u64,
    capacity: u64,
    burst: u32,
    quota: Quota,
    max_keys: usize,
    max_bytes: usize,
    clock: Clock,
    rejected: RejectCounter,
    /// Permits refused, for [`KeyedLimiter::snapshot`] (counted on the
    /// refusal path only).
    refused: AtomicU64,
    #[cfg(feature = "metrics")]
    evicted: metrics::Counter,
}

impl<K> Inner<K> {
    /// One more refused permit: the metric and the snapshot's count.
    fn refuse(&self) {
        self.rejected.hit();
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// A [`KeyedLimiter`]'s figures ([`KeyedLimiter::snapshot`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct KeyedLimiterSnapshot {
    /// Permits per period, for each key.
    pub permits: u32,
    /// The quota's period.
    pub period: pr_core::units::Duration,
    /// The most permits a key takes at once.
    pub burst: u32,
    /// Keys held now.
    pub keys: usize,
    /// The most keys held at once.
    pub max_keys: usize,
    /// Bytes the keys take now.
    pub bytes: usize,
    /// The most bytes the keys take.
    pub max_bytes: usize,
    /// Permits refused since the limiter was built.
    pub refused: u64,
}

impl<K> Clone for KeyedLimiter<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> std::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("name", &self.inner.name)
            .field("quota", &self.inner.quota)
            .field("max_keys", &self.inner.max_keys)
            .field("max_bytes", &self.inner.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Builds a [`KeyedLimiter`](crate::rate::KeyedLimiter); made by [`KeyedLimiter::builder`](crate::rate::KeyedLimiter::builder).
#[must_use = "a builder does nothing until `build` is called"]
pub struct KeyedLimiterBuilder<K> {
    name: String,
    quota: Quota,
    max_keys: usize,
    max_bytes: usize,
    weigher: Weigher<K>,
    shards: Option<usize>,
    clock: Clock,
}

impl<K> std::fmt::Debug for KeyedLimiterBuilder<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiterBuilder")
            .field("name", &self.name)
            .field("quota", &self.quota)
            .field("max_keys", &self.max_keys)
            .field("max_bytes", &self.max_bytes)
            .field("shards", &self.shards)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// The default `max_bytes`: 16 MiB, well inside a 256 MiB pod.
const DEFAULT_MAX_BYTES: usize = 16 << 20;

/// The bytes an entry takes besides what its key owns.
const fn entry_bytes<K>() -> usize {
    size_of::<(K, u64, usize)>()
}

impl<K> KeyedLimiterBuilder<K> {
    /// The name it shows under (a `/status` entry; default `"keyed"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Reads time from `clock` instead of the default clock
    /// ([`Clock::precise`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiterBuilder<K> {
    /// The most keys held at once (default 100,000).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The most bytes the keys take, entries and what their keys own
    /// (default 16 MiB). Each shard holds its share.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// How many bytes a key owns on the heap, besides its entry (default:
    /// none). Give it for keys a client chooses: `|key: &String| key.len()`.
    pub fn weigher(mut self, weigher: impl Fn(&K) -> usize + Send + Sync + 'static) -> Self {
        self.weigher = Arc::new(weigher);
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
    pub fn build(self) -> Result<KeyedLimiter<K>, Error> {
        let nanos = self.quota.nanos()?;
        if self.max_keys == 0 {
            return Err(Error::invalid(
                "keyed.max_keys",
                "must be at least 1 (usize 0 given)",
            ));
        }
        let shards = self
            .shards
            .unwrap_or_else(|| (self.max_keys / 64).clamp(1, 64).next_power_of_two());
        if self.max_bytes / shards < entry_bytes::<K>() {
            return Err(Error::invalid(
                "keyed.max_bytes",
                format!(
                    "must hold at least one entry ({} bytes) per shard ({shards} shards); usize {} given",
                    entry_bytes::<K>(),
                    self.max_bytes
                ),
            ));
        }
        if !shards.is_power_of_two() || shards > self.max_keys || shards > 1 << 16 {
            return Err(Error::invalid(
                "keyed.shards",
                format!(
                    "must be a power of two, at most 65536 and at most max_keys ({}); usize {shards} given",
                    self.max_keys
                ),
            ));
        }
        Ok(KeyedLimiter {
            inner: Arc::new(Inner {
                name: self.name,
                shards: (0..shards)
                    .map(|_| {
                        Mutex::new(ShardTable {
                            table: HashTable::new(),
                            bytes: 0,
                        })
                    })
                    .collect(),
                shard_bits: shards.trailing_zeros(),
                per_shard: self.max_keys / shards,
                per_shard_bytes: self.max_bytes / shards,
                weigher: self.weigher,
                hasher: RandomState::new(),
                interval: nanos.interval,
                capacity: nanos.capacity,
                burst: self.quota.burst(),
                quota: self.quota,
                max_keys: self.max_keys,
                max_bytes: self.max_bytes,
                clock: self.clock,
                rejected: RejectCounter::new("keyed_gcra"),
                refused: AtomicU64::new(0),
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
            name: "keyed".to_owned(),
            quota,
            max_keys: 100_000,
            max_bytes: DEFAULT_MAX_BYTES,
            weigher: Arc::new(|_| 0),
            shards: None,
            clock: Clock::precise(),
        }
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// Takes one permit for `key`.
    ///
    /// # Errors
    ///
    /// [`Denied::RetryAfter`](crate::rate::Denied::RetryAfter) with the wait until the key has a permit.
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
    /// [`Denied::RetryAfter`](crate::rate::Denied::RetryAfter), or [`Denied::ExceedsBurst`](crate::rate::Denied::ExceedsBurst) when `n` is more
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
        self.inner.shards.iter().map(|s| lock(s).table.len()).sum()
    }

    /// Whether no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The room allocated for keys now (bounded by about twice `max_keys`).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| lock(s).table.capacity())
            .sum()
    }

    /// The most keys held at once.
    #[must_use]
    pub fn max_keys(&self) -> usize {
        self.inner.max_keys
    }

    /// The bytes the keys take now (entries and what their keys own, as
    /// weighed), at most `max_bytes`.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).bytes).sum()
    }

    /// The most bytes the keys take.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.inner.max_bytes
    }

    /// The quota of every key.
    #[must_use]
    pub fn quota(&self) -> Quota {
        self.inner.quota
    }

    /// Its name ([`KeyedLimiterBuilder::name`]).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Its quota, its keys and bytes against their bounds, and the permits
    /// it refused since it was built.
    #[must_use]
    pub fn snapshot(&self) -> KeyedLimiterSnapshot {
        let quota = self.inner.quota;
        KeyedLimiterSnapshot {
            permits: quota.permits(),
            period: quota.period().into(),
            burst: quota.burst(),
            keys: self.len(),
            max_keys: self.inner.max_keys,
            bytes: self.bytes(),
            max_bytes: self.inner.max_bytes,
            refused: self.inner.refused.load(Ordering::Relaxed),
        }
    }

    /// Drops every key whose state is fully replenished (indistinguishable
    /// from an absent key); returns how many.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; the count is informational"
    )]
    pub fn sweep(&self) -> usize {
        let now = self.inner.clock.now_nanos();
        self.inner
            .shards
            .iter()
            .map(|shard| {
                let mut shard = lock(shard);
                let before = shard.table.len();
                shard.retain(|tat| tat > now);
                shard.table.shrink_to(self.inner.per_shard, |(k, _, _)| {
                    self.inner.hasher.hash_one(k)
                });
                before - shard.table.len()
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
        let now = inner.clock.now_nanos();
        let mut shard = lock(&inner.shards[shard]);
        let eq = |entry: &(K, u64, usize)| entry.0.borrow() == key;
        if let Some(entry) = shard.table.find_mut(hash, eq) {
            let next = entry.1.max(now) + add;
            let ahead = next - now;
            if ahead > inner.capacity {
                drop(shard);
                if take {
                    inner.refuse();
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
            let owned = key.to_owned();
            let weight = entry_bytes::<K>().saturating_add((inner.weigher)(&owned));
            if weight > inner.per_shard_bytes {
                drop(shard);
                inner.refuse();
                return Err(Denied::KeyTooLarge {
                    bytes: weight,
                    max: inner.per_shard_bytes,
                });
            }
            while shard.table.len() >= inner.per_shard
                || shard.bytes + weight > inner.per_shard_bytes
            {
                self.make_room(&mut shard, now);
            }
            shard.bytes += weight;
            shard
                .table
                .insert_unique(hash, (owned, now + add, weight), |(k, _, _)| {
                    inner.hasher.hash_one(k)
                });
        }
        Ok(())
    }

    /// Frees room in a full shard (in keys or in bytes): every replenished
    /// key, or else the eighth of the keys closest to replenished (so that
    /// a flood of new keys pays for one scan every `per_shard / 8` inserts,
    /// not each). Always frees at least one key of a non-empty shard.
    #[cold]
    fn make_room(&self, shard: &mut ShardTable<K>, now: u64) {
        let before = shard.table.len();
        shard.retain(|tat| tat > now);
        if shard.table.len() == before && before > 0 {
            let mut tats: Vec<u64> = shard.table.iter().map(|(_, tat, _)| *tat).collect();
            let cut = (tats.len() / 8).min(tats.len() - 1);
            let (_, threshold, _) = tats.select_nth_unstable(cut);
            let threshold = *threshold;
            // Every key below the threshold, and at it only as many as
            // make up the eighth (ties are common: keys first seen at once).
            let below = tats.iter().filter(|t| **t < threshold).count();
            let mut at_threshold = cut + 1 - below;
            shard.retain(|tat| {
                if tat == threshold && at_threshold > 0 {
                    at_threshold -= 1;
                    return false;
                }
                tat >= threshold
            });
        }
        let evicted = before - shard.table.len();
        #[cfg(feature = "metrics")]
        self.inner.evicted.increment(evicted as u64);
        tracing::trace!(
            name: "pr_resilience.ratelimit.keys_evicted",
            event = "pr_resilience.ratelimit.keys_evicted",
            evicted,
            "keyed limiter evicted keys to stay within its maximum"
        );
    }
}
