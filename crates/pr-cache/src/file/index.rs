//! The file cache's key index, `index.log`: a log of pr-core's frames, one
//! per insert or removal, read back into a map of hash to key, compacted,
//! rebuilt from the entries' headers when missing or damaged, and the
//! invalidations by prefix or glob that go through it.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::sync::atomic::Ordering::Relaxed;

use pr_core::fs::frame;

use super::entry::{HEADER, MAGIC};
use super::{Durability, FileCache, MAX_KEY_LEN};
use crate::error::Error;

/// Appends the index frame of an insert of `key` (`Some`) or a removal
/// (`None`) under `hash` to `out`.
pub(super) fn index_record(out: &mut Vec<u8>, hash: u64, key: Option<&str>) {
    let mut payload = Vec::with_capacity(9 + key.map_or(0, str::len));
    payload.push(if key.is_some() { b'+' } else { b'-' });
    payload.extend_from_slice(&hash.to_le_bytes());
    payload.extend_from_slice(key.unwrap_or_default().as_bytes());
    // A key is at most MAX_KEY_LEN bytes: far under a frame's bound.
    let _ = frame::append(out, &payload);
}

/// Parses one index frame's payload: `(hash, Some(key))` for an insert,
/// `(hash, None)` for a removal; `None` when it is neither.
fn parse_index_record(payload: &[u8]) -> Option<(u64, Option<String>)> {
    let hash = frame::u64_at(payload, 1)?;
    let rest = payload.get(9..)?;
    match payload.first()? {
        b'+' => Some((hash, Some(String::from_utf8(rest.to_vec()).ok()?))),
        b'-' if rest.is_empty() => Some((hash, None)),
        _ => None,
    }
}

/// Whether `text` matches the glob `pattern`: `*` any run, `?` one character.
#[must_use]
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl FileCache {
    pub(super) fn append_index(&self, line: &[u8]) -> Result<(), Error> {
        let path = &self.inner.index;
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| Error::io("open index", path, e))?;
        file.write_all(line)
            .map_err(|e| Error::io("append index", path, e))?;
        if self.inner.durability == Durability::EachWrite {
            file.sync_data()
                .map_err(|e| Error::io("sync index", path, e))?;
        }
        Ok(())
    }

    /// Reads the index: hash → key of live keys, and the number of
    /// records; `None` when missing or damaged anywhere.
    pub(super) fn read_index(&self) -> Option<(HashMap<u64, String>, usize)> {
        let bytes = fs::read(&self.inner.index).ok()?;
        let mut map = HashMap::new();
        let mut records = 0;
        let mut frames = frame::Frames::new(&bytes);
        for record in frames.by_ref() {
            records += 1;
            match parse_index_record(record.payload)? {
                (hash, Some(key)) => map.insert(hash, key),
                (hash, None) => map.remove(&hash),
            };
        }
        frames.damage().is_none().then_some((map, records))
    }

    /// Writes `map` as a fresh index, replacing the old one atomically
    /// (pr-core's `write_atomic`: its data is synced before the rename
    /// whatever the durability, since an index that a power loss left
    /// empty would read as valid and hide entries from invalidation; the
    /// directory is synced unless the durability is `none`). Rewrites are
    /// rare (compaction, invalidation, rebuild). Under the exclusive lock.
    fn write_index(&self, map: &HashMap<u64, String>) -> Result<(), Error> {
        let mut bytes = Vec::new();
        for (hash, key) in map {
            index_record(&mut bytes, *hash, Some(key));
        }
        let path = &self.inner.index;
        pr_core::fs::write_atomic(path, &bytes, self.inner.durability)
            .map_err(|e| Error::io("write index", path, e))
    }

    /// Rewrites the index without removal lines and without keys whose file
    /// is gone, when it has grown past twice the live keys. Under the
    /// exclusive lock.
    pub(super) fn compact_locked(
        &self,
        map: &mut HashMap<u64, String>,
        lines: usize,
        force: bool,
    ) -> Result<(), Error> {
        if force || lines > 2 * map.len() + 64 {
            let entries = &self.inner.entries;
            map.retain(|hash, _| entries.join(format!("{hash:016x}")).exists());
            self.write_index(map)?;
        }
        Ok(())
    }

    pub(super) fn rebuild_index_locked(&self) -> Result<usize, Error> {
        let mut map = HashMap::new();
        for e in self.scan()? {
            let Ok(mut f) = File::open(&e.path) else {
                continue;
            };
            let mut header = [0_u8; HEADER];
            if f.read_exact(&mut header).is_err() {
                // A torn header: a miss for ever; removed like any damage.
                let _ = fs::remove_file(&e.path);
                continue;
            }
            let key_len = frame::u32_at(&header, 8)
                .and_then(|l| usize::try_from(l).ok())
                .filter(|l| *l <= MAX_KEY_LEN);
            let mut key = vec![0; key_len.unwrap_or(0)];
            if key_len.is_none() || header[..4] != *MAGIC || f.read_exact(&mut key).is_err() {
                // Damaged: it will be a miss; keep no index line for it but
                // remove it now so that no invalidation can miss it.
                let _ = fs::remove_file(&e.path);
                continue;
            }
            if let Ok(key) = String::from_utf8(key) {
                map.insert(e.hash, key);
            } else {
                let _ = fs::remove_file(&e.path);
            }
        }
        self.write_index(&map)?;
        tracing::info!(target: "pr_cache", event = "cache.file.index_rebuilt", dir = %self.inner.dir.display(), keys = map.len(), "file cache index rebuilt from its entries");
        Ok(map.len())
    }

    /// Compacts the index if it has grown past twice its live keys (rebuilds
    /// it when damaged).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the index cannot be rewritten.
    pub fn compact_index(&self) -> Result<(), Error> {
        let _lock = self.lock(true)?;
        match self.read_index() {
            Some((mut map, lines)) => self.compact_locked(&mut map, lines, false),
            None => self.rebuild_index_locked().map(|_| ()),
        }
    }

    /// Rebuilds the key index from the entries' headers; returns the number
    /// of keys. Done by itself when the index is missing or damaged.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory cannot be read or the index written.
    pub fn rebuild_index(&self) -> Result<usize, Error> {
        let _lock = self.lock(true)?;
        self.rebuild_index_locked()
    }

    /// Removes every entry whose key `matches`, through the index; returns
    /// how many files were removed.
    fn invalidate_matching(&self, matches: impl Fn(&str) -> bool) -> Result<usize, Error> {
        let _lock = self.lock(true)?;
        let (mut map, lines) = match self.read_index() {
            Some(index) => index,
            None => {
                self.rebuild_index_locked()?;
                self.read_index().unwrap_or_default()
            }
        };
        let doomed: Vec<u64> = map
            .iter()
            .filter(|(_, k)| matches(k))
            .map(|(h, _)| *h)
            .collect();
        let mut removed = 0;
        for hash in &doomed {
            let path = self.inner.entries.join(format!("{hash:016x}"));
            let size = fs::metadata(&path).map_or(0, |m| m.len());
            match fs::remove_file(&path) {
                Ok(()) => {
                    removed += 1;
                    let b = &self.inner.bytes;
                    b.fetch_sub(size.min(b.load(Relaxed)), Relaxed);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
            map.remove(hash);
        }
        // The removals as one compacted index.
        self.compact_locked(&mut map, lines, !doomed.is_empty())?;
        Ok(removed)
    }

    /// Removes every entry whose key starts with `prefix`; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the index or an entry cannot be read or removed.
    pub fn invalidate_prefix(&self, prefix: &str) -> Result<usize, Error> {
        self.invalidate_matching(|k| k.starts_with(prefix))
    }

    /// Removes every entry whose key matches the glob `pattern` (`*` any
    /// run of characters, `?` one); returns how many.
    ///
    /// # Errors
    ///
    /// As [`Self::invalidate_prefix`].
    pub fn invalidate_glob(&self, pattern: &str) -> Result<usize, Error> {
        self.invalidate_matching(|k| glob_match(pattern, k))
    }

    /// Removes every entry.
    ///
    /// # Errors
    ///
    /// As [`Self::invalidate_prefix`].
    pub fn clear(&self) -> Result<usize, Error> {
        let _lock = self.lock(true)?;
        let mut removed = 0;
        for e in self.scan()? {
            if fs::remove_file(&e.path).is_ok() {
                removed += 1;
            }
        }
        self.write_index(&HashMap::new())?;
        self.inner.bytes.store(0, Relaxed);
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::encode;
    use super::*;

    #[test]
    fn index_records_round_trip_and_reject_damage() {
        let mut bytes = Vec::new();
        index_record(&mut bytes, 42, Some("a key\nwith newline"));
        index_record(&mut bytes, 7, None);
        let parsed: Vec<_> = frame::Frames::new(&bytes)
            .map(|f| parse_index_record(f.payload))
            .collect();
        assert_eq!(
            parsed,
            [
                Some((42, Some("a key\nwith newline".to_owned()))),
                Some((7, None))
            ]
        );
        // A frame whose payload is neither an insert nor a removal.
        for bad in [
            &b"*12345678"[..],
            b"+1234567",
            b"-12345678x",
            b"",
            b"+12345678\xff",
        ] {
            assert_eq!(parse_index_record(bad), None, "{bad:?}");
        }
        let mut damaged = bytes;
        damaged[12] ^= 1;
        let mut frames = frame::Frames::new(&damaged);
        assert_eq!(frames.by_ref().count(), 0);
        assert!(frames.damage().is_some());
    }

    #[test]
    fn a_rebuild_removes_torn_headers_and_overlong_keys() {
        let dir = std::env::temp_dir().join(format!("pr-cache-unit-torn-{}", std::process::id()));
        let cache = FileCache::builder(&dir).build().expect("open");
        cache.insert("kept", b"v").expect("insert");
        let torn = cache.entry_path("torn");
        fs::write(&torn, &encode("torn", b"v", 1, 0)[..HEADER - 3]).expect("write");
        let long = cache.entry_path("long");
        let mut bytes = encode("long", b"v", 1, 0);
        bytes[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        fs::write(&long, bytes).expect("write");
        assert_eq!(cache.rebuild_index().expect("rebuild"), 1);
        assert!(!torn.exists() && !long.exists());
        assert_eq!(cache.get("kept").expect("get").as_deref(), Some(&b"v"[..]));
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn globs() {
        assert!(glob_match("user:*", "user:1"));
        assert!(glob_match("*:1", "order:1"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("user:*", "users"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
    }

    proptest::proptest! {
        #[test]
        fn glob_star_suffix_is_a_prefix_match(prefix in "[a-z:]{0,8}", text in "[a-z:]{0,12}") {
            proptest::prop_assert_eq!(
                glob_match(&format!("{prefix}*"), &text),
                text.starts_with(&prefix)
            );
        }
    }
}
