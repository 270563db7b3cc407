//! [`FileCache`]: a directory of entry files that survives restarts and
//! crashes, shared safely by threads and processes.
//!
//! # Layout
//!
//! ```text
//! <dir>/entries/<hash>   one file per key: header, key, value
//! <dir>/tmp/             new entries are written here, then renamed
//! <dir>/index.log        the key index: one checksummed frame per insert / removal
//! <dir>/index.lock       file lock: shared by writers, exclusive for
//!                        invalidation, eviction and index rebuilds
//! ```
//!
//! Checksums, index frames, the lock, the index's atomic rewrite and the
//! durability policy are pr-core's durable-file kit ([`pr_core::fs`]),
//! shared with pr-resilience's dead-letter queue.
//!
//! The entry file name is a 64-bit FNV-1a hash of the key (hex); the header
//! holds the key, so a hash collision is a miss, never another key's value.
//!
//! # Entry format (version 2, little endian)
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `PRCF` |
//! | 4..6 | format version (2; 1 had a CRC-32 where 2 has a CRC-32C) |
//! | 6..8 | reserved (0) |
//! | 8..12 | key length |
//! | 12..20 | value length |
//! | 20..28 | created, ms since the Unix epoch |
//! | 28..36 | expires, ms since the Unix epoch (0: never) |
//! | 36..40 | CRC-32C of bytes 0..36, the key and the value |
//!
//! A file that is short, long, of another version, or whose checksum does
//! not match is a miss, and is removed.
//!
//! # Index format
//!
//! `index.log` is a run of pr-core's frames (length, CRC-32C, payload):
//! `+`, the key's hash (`u64`) and the key for an insert; `-` and the hash
//! for a removal.
//!
//! # Crash safety
//!
//! An entry is written whole to a temp file and renamed over the old one, so
//! a reader sees the old file or the new one, never a mix; a process killed
//! mid-write leaves only a temp file (removed at the next open once older
//! than a minute). [`Durability`] says how much survives a power loss.
//!
//! The index line of an insert is appended *before* the entry is renamed into
//! place, and the line of a removal *after* the file is gone, so the index
//! names at least every entry on disk whatever the moment of a crash: a
//! prefix or glob invalidation never leaves a matching entry behind. A
//! missing or damaged index (a frame that is torn or fails its checksum) is
//! rebuilt from the entries' headers: unlike a log whose tail may go, the
//! index must name every entry, so no prefix of it will do.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pr_core::fs::{FileLock, SyncSchedule, sync_dir};
use pr_core::sync::lock;
use pr_core::time::Clock;
use pr_core::validate::Violation;

use crate::error::Error;

mod entry;
mod index;

use entry::{HEADER, HeaderCheck, check_header, decode, encode, hash_key, unix_millis};
use index::index_record;

/// The longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 4096;
/// Temp files older than this at open belong to a dead writer.
const STALE_TEMP: Duration = Duration::from_secs(60);
/// How many index lines a handle appends between two looks at the index's
/// size (a cache that only overwrites keys would grow it without bound).
const COMPACT_EVERY: u64 = 1024;
/// A get moves an entry's access time (its LRU position) at most this often.
const TOUCH_GRANULARITY: Duration = Duration::from_secs(1);

/// How much of an insert survives a crash of the machine (a crash of the
/// process never loses a completed insert, whatever the setting):
/// pr-core's policy, shared with the dead-letter queue.
///
/// In the file cache: [`None`](Durability::None) syncs nothing (after a
/// power loss an entry may be missing or, on some file systems, empty: then
/// it fails its checksum and is a miss); [`Flush`](Durability::Flush) syncs
/// an entry's data before it is renamed into place (after a power loss the
/// entry is the old or the new value, or a miss);
/// [`Batched`](Durability::Batched) does as `Flush`, and syncs the entries'
/// directory and the index every `max_records` inserts or `max_delay` (and
/// when the last handle goes); [`EachWrite`](Durability::EachWrite) syncs
/// the entry, the index on each append and then the directory: a completed
/// insert survives a power loss.
pub use pr_core::fs::Durability;

/// What a [`FileCache`] has done since it was opened (this process only),
/// from [`FileCache::snapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FileCacheSnapshot {
    /// Gets that returned a value.
    pub hits: u64,
    /// Gets that found nothing, an expired entry or a damaged one.
    pub misses: u64,
    /// Entries found damaged (short, bad checksum, other version) and removed.
    pub corrupt: u64,
    /// Entries found expired and removed.
    pub expired: u64,
    /// Inserts that completed.
    pub writes: u64,
    /// Inserts that failed.
    pub write_errors: u64,
    /// Entries removed to keep within the size bound.
    pub evictions: u64,
    /// Bytes of entries removed to keep within the size bound.
    pub evicted_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    expired: AtomicU64,
    writes: AtomicU64,
    write_errors: AtomicU64,
    evictions: AtomicU64,
    evicted_bytes: AtomicU64,
}

/// Builds a [`FileCache`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct FileCacheBuilder {
    dir: PathBuf,
    durability: Durability,
    max_bytes: Option<u64>,
    ttl: Option<Duration>,
    clock: Clock,
}

impl FileCacheBuilder {
    /// How much of a write survives a machine crash (default
    /// [`Durability::None`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Bounds the entries' total size on disk (headers included); the least
    /// recently used go first, down to 90 % of the bound.
    pub fn max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = Some(max);
        self
    }

    /// Entries expire this long after they were written.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The clock whose wall time stamps creation, expiry and access times
    /// (default [`Clock::system`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Opens the cache: creates the directory, removes dead writers' temp
    /// files, checks the index (rebuilding it when missing or damaged) and
    /// measures the entries' size.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero bound or TTL; [`Error::Io`] when
    /// the directory cannot be created or read.
    pub fn build(self) -> Result<FileCache, Error> {
        let mut problems = Vec::new();
        if self.max_bytes == Some(0) {
            problems.push(Violation::new("max_bytes", "must be more than zero"));
        }
        if self.ttl == Some(Duration::ZERO) {
            problems.push(Violation::new("time_to_live", "must be more than zero"));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig { problems });
        }
        let entries = self.dir.join("entries");
        let tmp = self.dir.join("tmp");
        for d in [&self.dir, &entries, &tmp] {
            fs::create_dir_all(d).map_err(|e| Error::io("create directory", d, e))?;
        }
        remove_stale_temps(&tmp);
        let cache = FileCache {
            inner: Arc::new(FileInner {
                entries,
                tmp,
                index: self.dir.join("index.log"),
                lock: self.dir.join("index.lock"),
                dir: self.dir,
                durability: self.durability,
                max_bytes: self.max_bytes,
                ttl: self.ttl,
                clock: self.clock.clone(),
                bytes: AtomicU64::new(0),
                seq: AtomicU64::new(0),
                appended: AtomicU64::new(0),
                counters: Counters::default(),
                schedule: Mutex::new(SyncSchedule::new(self.durability, self.clock.clone())),
            }),
        };
        {
            let _lock = cache.lock(true)?;
            if cache.read_index().is_none() {
                cache.rebuild_index_locked()?;
            }
        }
        let total: u64 = cache.scan()?.iter().map(|e| e.size).sum();
        cache.inner.bytes.store(total, Relaxed);
        Ok(cache)
    }
}

/// A persistent cache of byte values in a directory. Clones share the
/// same handle; several processes may open the same directory.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), pr_cache::Error> {
/// # let dir = std::env::temp_dir().join(format!("pr-cache-doc-{}", std::process::id()));
/// use pr_cache::{Durability, FileCache};
///
/// let cache = FileCache::builder(&dir).durability(Durability::Flush).build()?;
/// cache.insert("thumb:42", b"...png bytes...")?;
/// assert_eq!(cache.get("thumb:42")?.as_deref(), Some(&b"...png bytes..."[..]));
///
/// // Another handle (or process) on the same directory sees it.
/// let again = FileCache::builder(&dir).build()?;
/// assert!(again.get("thumb:42")?.is_some());
/// assert_eq!(again.invalidate_glob("thumb:*")?, 1);
/// assert_eq!(cache.get("thumb:42")?, None);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct FileCache {
    inner: Arc<FileInner>,
}

#[derive(Debug)]
struct FileInner {
    dir: PathBuf,
    entries: PathBuf,
    tmp: PathBuf,
    index: PathBuf,
    lock: PathBuf,
    durability: Durability,
    max_bytes: Option<u64>,
    ttl: Option<Duration>,
    clock: Clock,
    /// Approximate bytes of entries (exact after each eviction scan).
    bytes: AtomicU64,
    seq: AtomicU64,
    /// Index lines this handle appended; every [`COMPACT_EVERY`] the index
    /// is compacted if it has grown past twice its live keys.
    appended: AtomicU64,
    counters: Counters,
    /// Inserts since the last sync, for [`Durability::Batched`].
    schedule: Mutex<SyncSchedule>,
}

impl FileInner {
    /// Syncs what a batch of inserts wrote: the index, and the entries'
    /// directory, which holds their renames (each entry's data was synced
    /// before its rename).
    fn sync_batch(&self) -> Result<(), Error> {
        match File::open(&self.index).and_then(|f| f.sync_data()) {
            Ok(()) => {}
            // No index yet: nothing was appended to sync.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("sync index", &self.index, e)),
        }
        sync_dir(&self.entries).map_err(|e| Error::io("sync directory", &self.entries, e))?;
        lock(&self.schedule).synced();
        Ok(())
    }
}

/// A batched cache syncs its last inserts when its last handle (or health
/// check) goes.
impl Drop for FileInner {
    fn drop(&mut self) {
        let owed = matches!(self.durability, Durability::Batched { .. })
            && lock(&self.schedule).owes_sync();
        if owed && let Err(e) = self.sync_batch() {
            tracing::warn!(target: "pr_cache", event = "cache.file.sync_failed", error = %e, "file cache could not sync its last writes");
        }
    }
}

/// An entry file seen by a scan.
struct Scanned {
    hash: u64,
    path: PathBuf,
    size: u64,
    accessed: SystemTime,
}

fn remove_stale_temps(tmp: &Path) {
    let Ok(dir) = fs::read_dir(tmp) else { return };
    let now = SystemTime::now();
    for entry in dir.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_TEMP));
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

impl FileCache {
    /// A builder for a cache in `dir` (created when missing).
    pub fn builder(dir: impl Into<PathBuf>) -> FileCacheBuilder {
        FileCacheBuilder {
            dir: dir.into(),
            // The fastest: a cache entry lost to a power loss costs a miss,
            // not data (FileCacheConfig's default, `flush`, also keeps a
            // power loss from turning an old value into a miss).
            durability: Durability::None,
            max_bytes: None,
            ttl: None,
            clock: Clock::system(),
        }
    }

    /// The cache's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The path of `key`'s entry file.
    #[must_use]
    pub fn entry_path(&self, key: &str) -> PathBuf {
        self.inner.entries.join(format!("{:016x}", hash_key(key)))
    }

    fn check_key(key: &str) -> Result<(), Error> {
        if key.len() > MAX_KEY_LEN {
            return Err(Error::InvalidKey {
                len: key.len(),
                reason: "longer than 4096 bytes",
            });
        }
        Ok(())
    }

    fn lock(&self, exclusive: bool) -> Result<FileLock, Error> {
        let path = &self.inner.lock;
        let held = if exclusive {
            FileLock::exclusive(path)
        } else {
            FileLock::shared(path)
        };
        held.map_err(|e| Error::io("lock", path, e))
    }

    /// A snapshot of this handle's counters.
    #[must_use]
    pub fn snapshot(&self) -> FileCacheSnapshot {
        let c = &self.inner.counters;
        FileCacheSnapshot {
            hits: c.hits.load(Relaxed),
            misses: c.misses.load(Relaxed),
            corrupt: c.corrupt.load(Relaxed),
            expired: c.expired.load(Relaxed),
            writes: c.writes.load(Relaxed),
            write_errors: c.write_errors.load(Relaxed),
            evictions: c.evictions.load(Relaxed),
            evicted_bytes: c.evicted_bytes.load(Relaxed),
        }
    }

    /// The entries' total size in bytes as this handle knows it (exact after
    /// open and after each eviction; other processes' writes since are not
    /// counted).
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        self.inner.bytes.load(Relaxed)
    }

    /// The value stored under `key`: `None` when there is none, when it has
    /// expired, or when its file is damaged (then the file is removed).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file exists but cannot be read;
    /// [`Error::InvalidKey`] for a key over [`MAX_KEY_LEN`].
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Self::check_key(key)?;
        let hash = hash_key(key);
        let path = self.inner.entries.join(format!("{hash:016x}"));
        let found = self.read_entry(key, &path);
        let c = &self.inner.counters;
        match &found {
            Ok(Some(_)) => c.hits.fetch_add(1, Relaxed),
            _ => c.misses.fetch_add(1, Relaxed),
        };
        found
    }

    fn read_entry(&self, key: &str, path: &Path) -> Result<Option<Vec<u8>>, Error> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open", path, e)),
        };
        let meta = file.metadata().map_err(|e| Error::io("stat", path, e))?;
        // The header first: a file whose lengths do not add up to its size
        // is damaged without reading (or allocating) the rest, and another
        // key's entry is a miss without reading its value.
        let mut header = [0_u8; HEADER];
        let fits = match file.read_exact(&mut header) {
            Ok(()) => check_header(&header, meta.len(), key.len()),
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => HeaderCheck::Damaged,
            Err(e) => return Err(Error::io("read", path, e)),
        };
        let mut buf = Vec::new();
        match fits {
            HeaderCheck::OtherKey => return Ok(None),
            HeaderCheck::Damaged => {}
            HeaderCheck::Fits(len) => {
                // Exactly the size the header and the file agree on (a file
                // is replaced by rename, never rewritten in place): no
                // probe for the end.
                buf.resize(len, 0);
                buf[..HEADER].copy_from_slice(&header);
                match file.read_exact(&mut buf[HEADER..]) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => buf.clear(),
                    Err(e) => return Err(Error::io("read", path, e)),
                }
            }
        }
        let Some(entry) = decode(&buf) else {
            self.inner.counters.corrupt.fetch_add(1, Relaxed);
            tracing::warn!(target: "pr_cache", event = "cache.file.corrupt_entry_removed", path = %path.display(), "corrupt file cache entry removed");
            self.remove_if_unchanged(path, &meta);
            return Ok(None);
        };
        if entry.key != key.as_bytes() {
            // Another key with the same hash: a miss.
            return Ok(None);
        }
        let now = self.inner.clock.wall();
        if entry.expires != 0 && unix_millis(now) >= entry.expires {
            self.inner.counters.expired.fetch_add(1, Relaxed);
            self.remove_if_unchanged(path, &meta);
            return Ok(None);
        }
        if self.inner.max_bytes.is_some()
            && meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age >= TOUCH_GRANULARITY)
        {
            // The LRU position; a failure only makes it older.
            let _ = file.set_modified(now);
        }
        let start = buf.len() - entry.value.len();
        buf.drain(..start);
        Ok(Some(buf))
    }

    /// Removes the entry file a get found damaged or expired, unless a
    /// writer has renamed a new file into its place since it was opened
    /// (`seen` is the opened file's metadata): that new entry is left alone.
    /// Done under the exclusive lock, which writers' renames exclude. Its
    /// index line stays (an index line without a file is harmless).
    fn remove_if_unchanged(&self, path: &Path, seen: &fs::Metadata) {
        use std::os::unix::fs::MetadataExt as _;
        let Ok(_lock) = self.lock(true) else { return };
        let same = fs::symlink_metadata(path)
            .is_ok_and(|now| now.ino() == seen.ino() && now.dev() == seen.dev());
        if same && fs::remove_file(path).is_ok() {
            let b = &self.inner.bytes;
            b.fetch_sub(seen.len().min(b.load(Relaxed)), Relaxed);
        }
    }

    /// Stores `value` under `key`, with the cache's TTL if any.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the entry cannot be written (a full disk, say):
    /// the old value, if any, stays readable.
    pub fn insert(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        self.insert_inner(key, value, self.inner.ttl)
    }

    /// Stores `value` under `key`, expiring after `ttl`.
    ///
    /// # Errors
    ///
    /// As [`Self::insert`].
    pub fn insert_with_ttl(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), Error> {
        self.insert_inner(key, value, Some(ttl))
    }

    fn insert_inner(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), Error> {
        Self::check_key(key)?;
        let result = self.write_entry(key, value, ttl);
        let c = &self.inner.counters;
        match &result {
            Ok(()) => c.writes.fetch_add(1, Relaxed),
            Err(e) => {
                tracing::warn!(target: "pr_cache", event = "cache.file.write_failed", error = %e, "file cache write failed");
                c.write_errors.fetch_add(1, Relaxed)
            }
        };
        result?;
        // The entry is written: upkeep that fails now is logged, not
        // reported as a failed insert (the next insert tries it again).
        if self.inner.appended.fetch_add(1, Relaxed) % COMPACT_EVERY == COMPACT_EVERY - 1
            && let Err(e) = self.compact_index()
        {
            tracing::warn!(target: "pr_cache", event = "cache.file.compaction_failed", error = %e, "file cache index compaction failed");
        }
        if let Some(max) = self.inner.max_bytes
            && self.inner.bytes.load(Relaxed) > max
            && let Err(e) = self.evict()
        {
            tracing::warn!(target: "pr_cache", event = "cache.file.eviction_failed", error = %e, "file cache eviction failed");
        }
        Ok(())
    }

    fn write_entry(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), Error> {
        let hash = hash_key(key);
        let now = self.inner.clock.wall();
        let created = unix_millis(now);
        let expires = ttl.map_or(0, |t| {
            created
                .saturating_add(u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
                .max(1)
        });
        let bytes = encode(key, value, created, expires);
        let seq = self.inner.seq.fetch_add(1, Relaxed);
        let tmp = self
            .inner
            .tmp
            .join(format!("{hash:016x}.{}.{seq}", std::process::id()));
        let dest = self.inner.entries.join(format!("{hash:016x}"));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| Error::io("create", &tmp, e))?;
            file.write_all(&bytes)
                .map_err(|e| Error::io("write", &tmp, e))?;
            match self.inner.durability {
                Durability::None => {}
                Durability::EachWrite => file.sync_all().map_err(|e| Error::io("sync", &tmp, e))?,
                _ => file.sync_data().map_err(|e| Error::io("sync", &tmp, e))?,
            }
            if self.inner.max_bytes.is_some() {
                let _ = file.set_modified(now);
            }
            Ok(())
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        // Shared lock: invalidations wait until this entry is both in the
        // index and in place.
        let mut line = Vec::new();
        index_record(&mut line, hash, Some(key));
        let placed = self.lock(false).and_then(|_lock| {
            self.append_index(&line)?;
            let old = fs::metadata(&dest).map_or(0, |m| m.len());
            fs::rename(&tmp, &dest).map_err(|e| Error::io("rename", &dest, e))?;
            let b = &self.inner.bytes;
            b.fetch_sub(old.min(b.load(Relaxed)), Relaxed);
            b.fetch_add(bytes.len() as u64, Relaxed);
            Ok(())
        });
        if let Err(e) = placed {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        match self.inner.durability {
            Durability::EachWrite => sync_dir(&self.inner.entries)
                .map_err(|e| Error::io("sync directory", &self.inner.entries, e))?,
            Durability::Batched { .. } => {
                let due = lock(&self.inner.schedule).wrote(1);
                if due {
                    self.inner.sync_batch()?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn scan(&self) -> Result<Vec<Scanned>, Error> {
        let dir = &self.inner.entries;
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(hash) = name.to_str().and_then(|n| u64::from_str_radix(n, 16).ok()) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            out.push(Scanned {
                hash,
                path: entry.path(),
                size: meta.len(),
                accessed: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
        Ok(out)
    }

    /// Writes, syncs and removes a probe file in the cache's temp directory
    /// (the health check's test of the directory).
    #[cfg(feature = "health")]
    pub(crate) fn probe_write(&self) -> Result<(), Error> {
        let path = self.inner.tmp.join(format!(
            "probe.{}.{}",
            std::process::id(),
            self.inner.seq.fetch_add(1, Relaxed)
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            file.write_all(b"probe")?;
            file.sync_data()
        })();
        let _ = fs::remove_file(&path);
        written.map_err(|e| Error::io("probe write", &path, e))
    }

    /// Removes `key`; returns whether it had an entry.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be removed.
    pub fn remove(&self, key: &str) -> Result<bool, Error> {
        Self::check_key(key)?;
        let hash = hash_key(key);
        let path = self.inner.entries.join(format!("{hash:016x}"));
        let size = fs::metadata(&path).map_or(0, |m| m.len());
        match fs::remove_file(&path) {
            Ok(()) => {
                let b = &self.inner.bytes;
                b.fetch_sub(size.min(b.load(Relaxed)), Relaxed);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove", &path, e)),
        }
    }

    /// Removes the least recently used entries until the total is at most
    /// 90 % of the bound (a no-op without a bound). Runs by itself after an
    /// insert that takes the total past the bound.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory cannot be read.
    pub fn evict(&self) -> Result<usize, Error> {
        let Some(max) = self.inner.max_bytes else {
            return Ok(0);
        };
        let _lock = self.lock(true)?;
        let mut entries = self.scan()?;
        let mut total: u64 = entries.iter().map(|e| e.size).sum();
        let target = max / 10 * 9;
        let mut evicted = 0;
        if total > max {
            entries.sort_by_key(|e| e.accessed);
            for e in &entries {
                if total <= target {
                    break;
                }
                if fs::remove_file(&e.path).is_ok() {
                    total -= e.size;
                    evicted += 1;
                    let c = &self.inner.counters;
                    c.evictions.fetch_add(1, Relaxed);
                    c.evicted_bytes.fetch_add(e.size, Relaxed);
                    let mut line = Vec::new();
                    index_record(&mut line, e.hash, None);
                    let _ = self.append_index(&line);
                }
            }
        }
        self.inner.bytes.store(total, Relaxed);
        if let Some((mut map, lines)) = self.read_index() {
            self.compact_locked(&mut map, lines, false)?;
        }
        Ok(evicted)
    }
}

#[cfg(test)]
mod tests;
