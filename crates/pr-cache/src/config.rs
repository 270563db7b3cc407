//! [`MemoryCacheConfig`] and [`FileCacheConfig`]: the caches' settings as
//! configuration (serde), each with a `validate()` reporting every problem.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::file::{Durability, FileCache};
use crate::memory::MemoryCache;
use crate::weigh::Weigh;

/// A memory cache's settings. `Default` is safe in production: 10,000
/// entries and 32 MiB, no expiry, no statistics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryCacheConfig {
    /// The cache's name, for logs and the `cache` label of its metrics.
    pub name: String,
    /// The most entries kept; the least valuable are evicted past it.
    pub max_entries: u64,
    /// The most bytes kept, keys and values together (as `Weigh` measures
    /// them, plus 128 bytes per entry); both bounds hold. Size it from the
    /// memory the process may use: the default, 32 MiB, fits several caches
    /// in a 256 MiB pod. Keys or values a client chooses make this the bound
    /// that matters.
    pub max_bytes: u64,
    /// Entries expire this many milliseconds after they were written (0: never).
    pub time_to_live_ms: u64,
    /// Entries expire after this many milliseconds without a read or write (0: never).
    pub time_to_idle_ms: u64,
    /// Stale-while-revalidate: entries older than this many milliseconds are
    /// refreshed in the background by `get_or_refresh` (0: never).
    pub refresh_after_ms: u64,
    /// Whether to count hits, misses, loads and evictions.
    pub record_stats: bool,
}

impl Default for MemoryCacheConfig {
    fn default() -> Self {
        Self {
            name: "default".to_owned(),
            max_entries: 10_000,
            max_bytes: 32 << 20,
            time_to_live_ms: 0,
            time_to_idle_ms: 0,
            refresh_after_ms: 0,
            record_stats: false,
        }
    }
}

fn millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

impl MemoryCacheConfig {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each invalid field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.name.is_empty() {
            problems.push("cache.name: must not be empty".to_owned());
        }
        if self.max_entries == 0 {
            problems.push("cache.max_entries: must be greater than 0, got 0".to_owned());
        }
        if self.max_bytes == 0 {
            problems.push("cache.max_bytes: must be greater than 0, got 0".to_owned());
        } else if self.max_entries > 0
            && self.max_bytes.div_ceil(self.max_entries) > u64::from(u32::MAX)
        {
            problems.push(format!(
                "cache.max_bytes: must be at most 4 GiB per entry of max_entries ({}), got {}",
                self.max_entries, self.max_bytes
            ));
        }
        if self.time_to_live_ms > 0 && self.refresh_after_ms >= self.time_to_live_ms {
            problems.push(format!(
                "cache.refresh_after_ms: must be less than time_to_live_ms ({}), got {} \
                 (an entry would expire before it is refreshed)",
                self.time_to_live_ms, self.refresh_after_ms
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache from its configuration (the builder offers more: a listener,
    /// a clock), keys and values measured by [`Weigh`] for `max_bytes`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem.
    pub fn from_config(config: &MemoryCacheConfig) -> Result<Self, Error>
    where
        K: Weigh,
        V: Weigh,
    {
        Self::from_config_with(config, |k: &K, v: &V| k.weigh() + v.weigh())
    }

    /// [`from_config`](Self::from_config) for keys or values without a
    /// [`Weigh`] implementation: `size` tells an entry's bytes, as in
    /// [`MemoryCacheBuilder::max_bytes_with`](crate::MemoryCacheBuilder::max_bytes_with).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem.
    pub fn from_config_with(
        config: &MemoryCacheConfig,
        size: impl Fn(&K, &V) -> usize + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        config.validate()?;
        let mut builder = Self::builder()
            .name(config.name.clone())
            .max_entries(config.max_entries)
            .max_bytes_with(config.max_bytes, size);
        if let Some(d) = millis(config.time_to_live_ms) {
            builder = builder.time_to_live(d);
        }
        if let Some(d) = millis(config.time_to_idle_ms) {
            builder = builder.time_to_idle(d);
        }
        if let Some(d) = millis(config.refresh_after_ms) {
            builder = builder.refresh_after(d);
        }
        if config.record_stats {
            builder = builder.record_stats();
        }
        builder.build()
    }
}

/// A file cache's settings. `Default`: `./cache`, durability `flush`, 1 GiB,
/// no expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FileCacheConfig {
    /// The directory (created when missing); several processes may share it.
    pub dir: PathBuf,
    /// How much of a write survives a machine crash: `none`, `flush` or `fsync`.
    pub durability: Durability,
    /// The entries' total size bound in bytes; least recently used go first.
    pub max_bytes: u64,
    /// Entries expire this many milliseconds after they were written (0: never).
    pub time_to_live_ms: u64,
}

impl Default for FileCacheConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("cache"),
            durability: Durability::Flush,
            max_bytes: 1 << 30,
            time_to_live_ms: 0,
        }
    }
}

impl FileCacheConfig {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each invalid field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.dir.as_os_str().is_empty() {
            problems.push("file_cache.dir: must not be empty".to_owned());
        }
        if self.max_bytes == 0 {
            problems.push("file_cache.max_bytes: must be greater than 0, got 0".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }
}

impl FileCache {
    /// Opens a file cache from its configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem, or what
    /// [`FileCacheBuilder::build`](crate::FileCacheBuilder::build) returns.
    pub fn from_config(config: &FileCacheConfig) -> Result<Self, Error> {
        config.validate()?;
        let mut builder = Self::builder(&config.dir)
            .durability(config.durability)
            .max_bytes(config.max_bytes);
        if let Some(d) = millis(config.time_to_live_ms) {
            builder = builder.time_to_live(d);
        }
        builder.build()
    }
}
