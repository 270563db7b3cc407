//! [`MemoryCacheConfig`] and [`FileCacheConfig`]: the caches' settings as
//! configuration (serde), each implementing [`Validate`] to report every
//! problem at its key.

use std::path::PathBuf;

use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::file::{Durability, FileCache};
use crate::memory::{Engine, MemoryCache};
use crate::weigh::Weigh;

/// A memory cache's settings. `Default` is safe in production: 10,000
/// entries and 32 MiB, no expiry, no statistics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryCacheConfig {
    /// The cache's name, for logs and the `cache` label of its metrics.
    pub name: String,
    /// The most entries kept; the least valuable are evicted past it.
    pub max_entries: u64,
    /// The most bytes kept, keys and values together (as `Weigh` measures
    /// them, plus 128 bytes per entry); both bounds hold (`"32MiB"`; a plain
    /// number is bytes). Size it from the memory the process may use: the
    /// default, 32 MiB, fits several caches in a 256 MiB pod. Keys or values
    /// a client chooses make this the bound that matters.
    pub max_size: ByteSize,
    /// Entries expire this long after they were written (`"10m"`; a plain
    /// number is seconds; `"0s"`: never).
    pub time_to_live: Duration,
    /// Entries expire after this long without a read or write (`"10m"`; a
    /// plain number is seconds; `"0s"`: never).
    pub time_to_idle: Duration,
    /// Stale-while-revalidate: entries older than this are refreshed in the
    /// background by `get_or_refresh` (`"30s"`; a plain number is seconds;
    /// `"0s"`: never).
    pub refresh_after: Duration,
    /// Whether to count hits, misses, loads and evictions.
    pub record_stats: bool,
    /// The engine: `"moka"` (the default: the best hit ratio at small
    /// sizes) or `"fast"` (`quick_cache`: a get hit about 7× cheaper; idle
    /// time checked on read only). Any other value is rejected when the
    /// configuration is read.
    pub engine: Engine,
}

impl Default for MemoryCacheConfig {
    fn default() -> Self {
        Self {
            name: "default".to_owned(),
            max_entries: 10_000,
            max_size: ByteSize::mib(32),
            time_to_live: Duration::default(),
            time_to_idle: Duration::default(),
            refresh_after: Duration::default(),
            record_stats: false,
            engine: Engine::Moka,
        }
    }
}

/// The duration, or `None` for zero (off).
fn unless_zero(d: Duration) -> Option<std::time::Duration> {
    let d = d.as_std();
    (!d.is_zero()).then_some(d)
}

/// Every problem at once, each at its key (`name`, `max_size`,
/// `refresh_after`); no message repeats a value.
impl Validate for MemoryCacheConfig {
    fn validate(&self, v: &mut Validator) {
        v.non_empty("name", &self.name);
        v.check(
            self.max_entries > 0,
            "max_entries",
            "must be greater than 0",
        );
        let bytes = self.max_size.as_u64();
        if bytes == 0 {
            v.error("max_size", "must be greater than 0");
        } else if self.max_entries > 0 && bytes.div_ceil(self.max_entries) > u64::from(u32::MAX) {
            // moka weighs an entry in a u32: the byte bound divided among
            // the entries must fit in one.
            v.error(
                "max_size",
                "must be at most 4GiB per entry of `max_entries`",
            );
        }
        let ttl = self.time_to_live.as_std();
        v.check(
            ttl.is_zero() || self.refresh_after.as_std() < ttl,
            "refresh_after",
            "must be less than `time_to_live` (an entry would expire before it is refreshed)",
        );
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache from its configuration (the builder offers more: a listener,
    /// a clock), keys and values measured by [`Weigh`] for `max_size`.
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
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        let mut builder = Self::builder()
            .engine(config.engine)
            .name(config.name.clone())
            .max_entries(config.max_entries)
            .max_bytes_with(config.max_size.as_u64(), size);
        if let Some(d) = unless_zero(config.time_to_live) {
            builder = builder.time_to_live(d);
        }
        if let Some(d) = unless_zero(config.time_to_idle) {
            builder = builder.time_to_idle(d);
        }
        if let Some(d) = unless_zero(config.refresh_after) {
            builder = builder.refresh_after(d);
        }
        if config.record_stats {
            builder = builder.record_stats();
        }
        builder.build()
    }
}

/// A file cache's settings. `Default`: `./cache`, durability `"flush"`,
/// 1 GiB, no expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FileCacheConfig {
    /// The directory (created when missing); several processes may share it.
    pub dir: PathBuf,
    /// How much of a write survives a machine crash: `"none"`, `"flush"`,
    /// `"each_write"`, or `{ mode = "batched", max_records = 64, max_delay
    /// = "1s" }` (pr-core's policy, shared with the dead-letter queue).
    /// Default `"flush"`: an entry's data is synced before its rename, so a
    /// power loss leaves the old value, the new or a miss, but no insert
    /// waits for the directory; a lost entry costs a miss, not data (the
    /// dead-letter queue, which holds failed work, defaults to
    /// `"each_write"`).
    pub durability: Durability,
    /// The entries' total size bound (`"1GiB"`; a plain number is bytes);
    /// least recently used go first.
    pub max_size: ByteSize,
    /// Entries expire this long after they were written (`"1h"`; a plain
    /// number is seconds; `"0s"`: never).
    pub time_to_live: Duration,
}

impl Default for FileCacheConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("cache"),
            durability: Durability::Flush,
            max_size: ByteSize(1 << 30),
            time_to_live: Duration::default(),
        }
    }
}

/// Every problem at once, each at its key (`dir`, `max_size`).
impl Validate for FileCacheConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(!self.dir.as_os_str().is_empty(), "dir", "must not be empty");
        v.check(
            self.max_size.as_u64() > 0,
            "max_size",
            "must be greater than 0",
        );
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
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        let mut builder = Self::builder(&config.dir)
            .durability(config.durability)
            .max_bytes(config.max_size.as_u64());
        if let Some(d) = unless_zero(config.time_to_live) {
            builder = builder.time_to_live(d);
        }
        builder.build()
    }
}
