//! Tiers: a [`MemoryCache`] in front of slower shared stores (a
//! [`FileCache`], Redis), read-through and write-through, with promotion of
//! a lower tier's hit and one loader run per key across all of them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::file::FileCache;
use crate::memory::MemoryCache;

/// The future a [`Tier`] returns.
pub type TierFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A lower tier: a store of bytes by string key.
pub trait Tier: Send + Sync + fmt::Debug + 'static {
    /// A short name for logs (`file`, `redis`).
    fn name(&self) -> &'static str;
    /// The bytes under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> TierFuture<'a, Option<Vec<u8>>>;
    /// Stores `value` under `key`, expiring after `ttl` when given.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> TierFuture<'a, ()>;
    /// Removes `key`.
    fn remove<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()>;
    /// Removes every entry of this tier. A [`TieredCache`] calls it on its
    /// tiers that are not shared when its invalidation bus may have lost
    /// messages ([`Invalidated::All`]).
    fn clear(&self) -> TierFuture<'_, ()>;
    /// Whether every node sees the same store (Redis), as opposed to a
    /// store of this node's own (a local directory). An invalidation from
    /// another node is applied to the memory tier and to the tiers that are
    /// not shared. Default: not shared.
    fn is_shared(&self) -> bool {
        false
    }
    /// Calls `handler` with [`Invalidated::All`] whenever this tier may have
    /// missed invalidations: [`RedisTier`](crate::RedisTier) does when its
    /// connection comes back after an outage. A [`TieredCache`] subscribes
    /// to each of its tiers when it is built, and empties its memory and
    /// local tiers when told. Default: never.
    fn subscribe_invalidations(&self, handler: InvalidationHandler) {
        let _ = handler;
    }
}

/// What an [`Invalidation`] bus tells its subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidated {
    /// Another node invalidated this key.
    Key(String),
    /// The bus may have lost messages (its connection dropped and came
    /// back), so any local copy may be stale: drop them all.
    All,
}

/// What a node does when the bus reports an invalidation: drop the key (or
/// everything) from its own tiers.
pub type InvalidationHandler =
    Arc<dyn Fn(Invalidated) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Tells other nodes that a key was invalidated (the Redis pub/sub bus is
/// one), so that they drop it from their memory tier.
pub trait Invalidation: Send + Sync + fmt::Debug + 'static {
    /// Announces that `key` was invalidated.
    fn publish<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()>;
    /// Calls `handler` with every key another node invalidates, and with
    /// [`Invalidated::All`] when messages may have been lost.
    fn subscribe(&self, handler: InvalidationHandler);
}

/// The file cache as a tier. Its calls are short blocking file operations
/// (a few µs on a warm page cache), made on the calling task.
impl Tier for FileCache {
    fn name(&self) -> &'static str {
        "file"
    }

    fn get<'a>(&'a self, key: &'a str) -> TierFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { FileCache::get(self, key) })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> TierFuture<'a, ()> {
        Box::pin(async move {
            match ttl {
                Some(ttl) => self.insert_with_ttl(key, value, ttl),
                None => self.insert(key, value),
            }
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()> {
        Box::pin(async move { FileCache::remove(self, key).map(|_| ()) })
    }

    fn clear(&self) -> TierFuture<'_, ()> {
        Box::pin(async move { FileCache::clear(self).map(|_| ()) })
    }
}

/// A memory tier in front of lower tiers; values are stored below as JSON.
///
/// # Examples
///
/// ```
/// use pr_cache::{FileCache, MemoryCache, TieredCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pr_cache::Error> {
/// # let dir = std::env::temp_dir().join(format!("pr-cache-tier-doc-{}", std::process::id()));
/// let cache: TieredCache<Vec<String>> = TieredCache::builder(MemoryCache::builder().max_entries(1_000).build()?)
///     .tier(FileCache::builder(&dir).build()?)
///     .build();
///
/// let tags = cache
///     .get_or_insert_with("tags:7", || async { Ok::<_, std::io::Error>(vec!["a".to_owned()]) })
///     .await
///     .map_err(|e| pr_cache::Error::LoadFailed { source: e.to_string().into() })?;
/// assert_eq!(tags, ["a"]);
///
/// // After a restart the memory tier is empty; the file tier answers and is promoted.
/// let restarted: TieredCache<Vec<String>> = TieredCache::builder(MemoryCache::builder().build()?)
///     .tier(FileCache::builder(&dir).build()?)
///     .build();
/// assert_eq!(restarted.get("tags:7").await, Some(vec!["a".to_owned()]));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
pub struct TieredCache<V> {
    memory: MemoryCache<String, V>,
    lower: Vec<Arc<dyn Tier>>,
    ttl: Option<Duration>,
    invalidation: Option<Arc<dyn Invalidation>>,
    /// Bumped by every invalidation (local or from another node): a value
    /// read from a lower tier while one ran is not kept in memory.
    invalidations: Arc<AtomicU64>,
}

impl<V> Clone for TieredCache<V> {
    fn clone(&self) -> Self {
        Self {
            memory: self.memory.clone(),
            lower: self.lower.clone(),
            ttl: self.ttl,
            invalidation: self.invalidation.clone(),
            invalidations: Arc::clone(&self.invalidations),
        }
    }
}

impl<V> fmt::Debug for TieredCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TieredCache")
            .field("memory", &self.memory)
            .field("lower", &self.lower)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Builds a [`TieredCache`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct TieredCacheBuilder<V> {
    cache: TieredCache<V>,
}

impl<V> fmt::Debug for TieredCacheBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cache.fmt(f)
    }
}

impl<V> TieredCacheBuilder<V>
where
    V: Clone + Send + Sync + 'static,
{
    /// Adds a lower tier, below the ones added before.
    pub fn tier(mut self, tier: impl Tier) -> Self {
        self.cache.lower.push(Arc::new(tier));
        self
    }

    /// Adds a shared lower tier.
    pub fn shared_tier(mut self, tier: Arc<dyn Tier>) -> Self {
        self.cache.lower.push(tier);
        self
    }

    /// The TTL of what is written to the lower tiers (the memory tier keeps
    /// its own settings).
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.cache.ttl = Some(ttl);
        self
    }

    /// Announces every invalidation to other nodes.
    pub fn invalidation(mut self, bus: impl Invalidation) -> Self {
        self.cache.invalidation = Some(Arc::new(bus));
        self
    }

    /// The cache. With an invalidation bus, it subscribes: a key another
    /// node invalidates leaves the memory tier and the tiers that are not
    /// shared. It also subscribes to its tiers
    /// ([`Tier::subscribe_invalidations`]): when one may have missed
    /// invalidations (a Redis tier back after an outage), the memory tier
    /// and the tiers that are not shared are emptied.
    #[must_use]
    pub fn build(self) -> TieredCache<V> {
        let memory = self.cache.memory.clone();
        let invalidations = Arc::clone(&self.cache.invalidations);
        let local: Vec<Arc<dyn Tier>> = self
            .cache
            .lower
            .iter()
            .filter(|t| !t.is_shared())
            .cloned()
            .collect();
        let handler: InvalidationHandler = Arc::new(move |what: Invalidated| {
            let drop_from_memory = {
                let (memory, invalidations) = (memory.clone(), Arc::clone(&invalidations));
                let what = what.clone();
                move || {
                    invalidations.fetch_add(1, SeqCst);
                    match &what {
                        Invalidated::Key(key) => memory.invalidate(key),
                        Invalidated::All => memory.invalidate_all(),
                    }
                }
            };
            drop_from_memory();
            let local = local.clone();
            Box::pin(async move {
                for tier in &local {
                    let done = match &what {
                        Invalidated::Key(key) => tier.remove(key).await,
                        Invalidated::All => tier.clear().await,
                    };
                    if let Err(e) = done {
                        tracing::warn!(target: "pr_cache", event = "cache.tier.remote_invalidation_failed", tier = tier.name(), error = %e, "a tier could not drop an invalidated key");
                    }
                }
                // Again, past a promotion from a local tier meanwhile.
                if !local.is_empty() {
                    drop_from_memory();
                }
            })
        });
        for tier in &self.cache.lower {
            tier.subscribe_invalidations(Arc::clone(&handler));
        }
        if let Some(bus) = &self.cache.invalidation {
            bus.subscribe(handler);
        }
        self.cache
    }
}

fn encode<V: Serialize>(value: &V) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Codec {
        op: "serialized",
        type_name: std::any::type_name::<V>(),
        source: Box::new(e),
    })
}

impl<V> TieredCache<V>
where
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// A builder with `memory` as the first tier.
    pub fn builder(memory: MemoryCache<String, V>) -> TieredCacheBuilder<V> {
        TieredCacheBuilder {
            cache: Self {
                memory,
                lower: Vec::new(),
                ttl: None,
                invalidation: None,
                invalidations: Arc::default(),
            },
        }
    }

    /// The memory tier.
    #[must_use]
    pub fn memory(&self) -> &MemoryCache<String, V> {
        &self.memory
    }

    /// Looks `key` up in the lower tiers, in order; a hit is promoted into
    /// the tiers above it (not the memory tier: the caller does that). A
    /// failing tier or an undecodable value reads as a miss (logged).
    async fn lower_get(&self, key: &str) -> Option<V> {
        for (i, tier) in self.lower.iter().enumerate() {
            let bytes = match tier.get(key).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(target: "pr_cache", event = "cache.tier.read_failed", tier = tier.name(), error = %e, "cache tier read failed");
                    continue;
                }
            };
            let Ok(value) = serde_json::from_slice::<V>(&bytes) else {
                tracing::warn!(target: "pr_cache", event = "cache.tier.undecodable_value", tier = tier.name(), "cache tier holds a value that does not decode");
                continue;
            };
            for upper in &self.lower[..i] {
                if let Err(e) = upper.set(key, &bytes, self.ttl).await {
                    tracing::warn!(target: "pr_cache", event = "cache.tier.promote_failed", tier = upper.name(), error = %e, "could not copy a value into an upper tier");
                }
            }
            return Some(value);
        }
        None
    }

    /// The value for `key` from the first tier that has it, promoted into
    /// the tiers above.
    pub async fn get(&self, key: &str) -> Option<V> {
        if let Some(v) = self.memory.get(key) {
            return Some(v);
        }
        let seen = self.invalidations.load(SeqCst);
        let value = self.lower_get(key).await?;
        self.memory.insert(key.to_owned(), value.clone());
        self.forget_if_invalidated(key, seen);
        Some(value)
    }

    /// Drops `key` from memory if an invalidation (of any key: one counter)
    /// ran since `seen` was read: what a lower tier answered meanwhile may be
    /// the invalidated value. It is returned to the caller that asked, not
    /// kept for the next one (a spurious drop costs one lower-tier read).
    fn forget_if_invalidated(&self, key: &str, seen: u64) {
        if self.invalidations.load(SeqCst) != seen {
            self.memory.invalidate(key);
        }
    }

    /// Writes `value` through every tier.
    ///
    /// # Errors
    ///
    /// The first lower tier's error ([`Error::Io`], [`Error::Redis`], ...) or
    /// [`Error::Codec`]; every tier is tried, and the memory tier always holds
    /// the new value.
    pub async fn insert(&self, key: &str, value: V) -> Result<(), Error> {
        let bytes = encode(&value)?;
        self.memory.insert(key.to_owned(), value);
        let mut first = None;
        for tier in &self.lower {
            if let Err(e) = tier.set(key, &bytes, self.ttl).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Removes `key` from every tier and announces it to other nodes.
    ///
    /// # Errors
    ///
    /// The first tier's or the bus's error; every tier is tried.
    pub async fn invalidate(&self, key: &str) -> Result<(), Error> {
        self.memory.invalidate(key);
        let mut first = None;
        for tier in &self.lower {
            if let Err(e) = tier.remove(key).await {
                first.get_or_insert(e);
            }
        }
        // Again: a concurrent get may have promoted the old value from a
        // lower tier into memory before that tier dropped it (and one that
        // promotes it later sees the count move and drops it itself).
        self.invalidations.fetch_add(1, SeqCst);
        self.memory.invalidate(key);
        if let Some(bus) = &self.invalidation
            && let Err(e) = bus.publish(key).await
        {
            first.get_or_insert(e);
        }
        first.map_or(Ok(()), Err)
    }

    /// The value for `key` from the first tier that has it, or the one
    /// `init` loads, written through every tier. Concurrent callers for one
    /// key run one lookup of the lower tiers and at most one `init`. A lower
    /// tier that fails to store the loaded value is logged, not an error.
    ///
    /// # Errors
    ///
    /// The loader's error, shared with concurrent callers; not cached.
    pub async fn get_or_insert_with<E, F, Fut>(&self, key: &str, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let seen = self.invalidations.load(SeqCst);
        let below = std::sync::atomic::AtomicBool::new(false);
        let loaded = self
            .memory
            .try_get_or_insert_with(key.to_owned(), || async {
                below.store(true, SeqCst);
                if let Some(v) = self.lower_get(key).await {
                    return Ok(v);
                }
                let value = init().await?;
                match encode(&value) {
                    Ok(bytes) => {
                        for tier in &self.lower {
                            if let Err(e) = tier.set(key, &bytes, self.ttl).await {
                                tracing::warn!(target: "pr_cache", event = "cache.tier.write_failed", tier = tier.name(), error = %e, "cache tier write failed");
                            }
                        }
                    }
                    Err(e) => tracing::warn!(target: "pr_cache", event = "cache.tier.write_failed", error = %e, "cache tier write failed"),
                }
                Ok(value)
            })
            .await;
        if below.load(SeqCst) {
            self.forget_if_invalidated(key, seen);
        }
        loaded
    }
}
