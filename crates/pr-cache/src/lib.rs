//! A memory cache with Caffeine-style statistics, loading and
//! stale-while-revalidate, a crash-safe file cache, tiers, a Redis tier and
//! memoization.
//!
//! [`MemoryCache`] is [moka](https://docs.rs/moka) underneath (`TinyLFU`
//! admission, bounds in entries, in bytes ([`Weigh`], both at once) or in
//! weight) with what moka's users ask for
//! on top: hit / miss / load / eviction statistics ([`CacheSnapshot`], off by
//! default at the cost of one branch), loading calls where concurrent callers
//! for a missing key run one loader (async, and `_blocking` twins for sync
//! loaders), stale-while-revalidate
//! ([`MemoryCache::get_or_refresh`]), invalidation by predicate and key
//! prefix, an eviction listener with the [`RemovalCause`], and expiry on an
//! injected [`Clock`] so tests drive time.
//!
//! The same cache runs on a second engine, [`Engine::Fast`]
//! ([`quick_cache`](https://docs.rs/quick_cache) underneath), whose get hit
//! costs a fraction of moka's: chosen with
//! [`MemoryCacheBuilder::engine`] or `engine = "fast"` in
//! [`MemoryCacheConfig`]; moka stays the default for its hit ratio at small
//! sizes (the figures are in the README).
//!
//! [`FileCache`] keeps bytes in a directory that survives restarts and
//! crashes (checksummed entries written by rename, a durability setting, TTL,
//! an LRU size bound, prefix and glob invalidation through a key index),
//! shared safely by threads and processes. [`TieredCache`] puts a memory
//! tier in front of it and of Redis (feature `redis`): read-through,
//! write-through, promotion of lower hits, one loader run per key, and
//! invalidation that reaches every node. [`memoize`] wraps a function so
//! that its results are cached by argument.
//!
//! The async methods run on any executor except
//! [`MemoryCache::get_or_refresh`] and the Redis types, which use tokio.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use pr_cache::{MemoryCache, RemovalCause};
//!
//! # fn main() -> Result<(), pr_cache::Error> {
//! let cache: MemoryCache<String, u64> = MemoryCache::builder()
//!     .max_entries(10_000)
//!     .time_to_live(Duration::from_secs(60))
//!     .record_stats()
//!     .build()?;
//!
//! cache.insert("user:1".to_owned(), 7);
//! assert_eq!(cache.get("user:1"), Some(7));
//! assert_eq!(cache.get("user:2"), None);
//!
//! // One loader run, however many callers ask at once.
//! let loaded = cache.get_or_insert_with_blocking("user:2".to_owned(), || 42);
//! assert_eq!(loaded, 42);
//!
//! cache.invalidate_prefix("user:");
//! assert_eq!(cache.get("user:1"), None);
//!
//! let stats = cache.snapshot().expect("built with record_stats");
//! assert_eq!((stats.hits, stats.misses, stats.load_successes), (1, 3, 1));
//! assert_eq!(stats.removals.get(RemovalCause::Explicit), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `metrics`: [`MemoryCache::publish_metrics`] sets `pr_cache_hits_total`,
//!   `pr_cache_misses_total`, `pr_cache_loads_total{result}`,
//!   `pr_cache_load_duration_seconds`, `pr_cache_removals_total{cause}`,
//!   `pr_cache_removed_weight_total{cause}`, `pr_cache_entries` and
//!   `pr_cache_weight`, each labelled `cache="<name>"`, through the `metrics`
//!   facade.
//!
//!   ```toml
//!   pr-cache = { version = "0.1", features = ["metrics"] }
//!   ```
//! - `health`: [`FileCacheCheck`], the file cache's directory as a
//!   pr-health check (can it still write?); with `redis` as well,
//!   `RedisCheck`, each Redis client's connection (`Degraded` while Redis
//!   is unreachable).
//!
//!   ```toml
//!   pr-cache = { version = "0.1", features = ["health"] }
//!   ```
//! - `redis`: [`RedisTier`], a Redis tier for [`TieredCache`], and
//!   [`RedisInvalidation`], invalidation over Redis pub/sub so that every
//!   node's memory tier drops a key invalidated anywhere. Both reconnect
//!   on a bounded back-off (`RedisReconnect`) after Redis restarts.
//!
//!   ```toml
//!   pr-cache = { version = "0.1", features = ["redis"] }
//!   ```
//!
//! # Errors
//!
//! Building and the file cache fail with [`Error`]; its codes are in
//! [`codes`]. Loaders keep their own error types, shared in an `Arc`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod config;
mod error;
mod file;
#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
mod health;
mod memo;
mod memory;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
mod redis;
mod stats;
mod tier;
mod weigh;

// The cache builders take the toolkit's one clock: re-exported so that their
// signatures read `pr_cache::Clock`, as pr-config re-exports pr-core's units.
pub use pr_core::time::Clock;

pub use config::{FileCacheConfig, MemoryCacheConfig};
pub use error::Error;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{CODEC, CODES, INVALID_CONFIG, INVALID_KEY, IO, LOAD_FAILED, REDIS};
}
pub use file::{Durability, FileCache, FileCacheBuilder, FileCacheSnapshot, MAX_KEY_LEN};
#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
pub use health::FileCacheCheck;
pub use memo::{Memoized, memoize};
pub use memory::{Engine, MemoryCache, MemoryCacheBuilder, Policy};
#[cfg(all(feature = "health", feature = "redis"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "health", feature = "redis"))))]
pub use redis::RedisCheck;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisInvalidation, RedisReconnect, RedisTier};
pub use stats::{ByCause, CacheSnapshot, RemovalCause};
pub use tier::{
    Invalidated, Invalidation, InvalidationHandler, Tier, TierFuture, TieredCache,
    TieredCacheBuilder,
};
pub use weigh::{ENTRY_OVERHEAD_BYTES, Weigh};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
