//! The ARC paper's OLTP block trace (`testdata/cache-trace/` at the
//! workspace root, with its source and reference figures), with exact LRU
//! and Belady's OPT to compare a cache's hit ratio against.
//! `benches/benches/cache.rs` includes this file too.
//!
//! Trace: N. Megiddo, D. S. Modha, "ARC: A Self-Tuning, Low Overhead
//! Replacement Cache", FAST '03.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::Read as _;
use std::path::PathBuf;

use pr_cache::{Engine, MemoryCache, Policy};

/// The trace file, under the workspace's `testdata/`.
fn corpus() -> PathBuf {
    let path = pr_test_support::testdata_path("cache-trace/OLTP.lis.zst");
    assert!(
        path.is_file(),
        "test data file testdata/cache-trace/OLTP.lis.zst is missing: looked for {}",
        path.display()
    );
    path
}

/// The trace's keys in order (each line `start n _ _` is the keys
/// `start .. start + n`), at most `limit` of them.
pub(crate) fn load(limit: usize) -> Vec<u64> {
    let file = std::fs::File::open(corpus()).expect("the trace opens");
    let mut text = String::new();
    ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(file))
        .expect("a zstd frame")
        .read_to_string(&mut text)
        .expect("the trace decodes");
    let mut keys = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(start), Some(n)) = (fields.next(), fields.next()) else {
            continue;
        };
        let start: u64 = start.parse().expect("a block number");
        let n: u64 = n.parse().expect("a block count");
        for key in start..start + n {
            if keys.len() == limit {
                return keys;
            }
            keys.push(key);
        }
    }
    keys
}

/// Hits of an exact least-recently-used cache of `capacity` entries.
pub(crate) fn lru_hits(trace: &[u64], capacity: usize) -> u64 {
    let mut last_use: HashMap<u64, usize> = HashMap::with_capacity(capacity * 2);
    let mut by_age: BTreeMap<usize, u64> = BTreeMap::new();
    let mut hits = 0;
    for (t, &key) in trace.iter().enumerate() {
        if let Some(old) = last_use.insert(key, t) {
            by_age.remove(&old);
            hits += 1;
        } else if last_use.len() > capacity
            && let Some((_, oldest)) = by_age.pop_first()
        {
            last_use.remove(&oldest);
        }
        by_age.insert(t, key);
    }
    hits
}

/// Hits of Belady's OPT (evict the entry used farthest in the future): the
/// upper bound of any cache of `capacity` entries.
pub(crate) fn opt_hits(trace: &[u64], capacity: usize) -> u64 {
    let mut next = vec![usize::MAX; trace.len()];
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (t, &key) in trace.iter().enumerate().rev() {
        if let Some(n) = seen.insert(key, t) {
            next[t] = n;
        }
    }
    // key -> its next use; a max-heap of (next use, key) with stale items.
    let mut resident: HashMap<u64, usize> = HashMap::with_capacity(capacity * 2);
    let mut heap: BinaryHeap<(usize, u64)> = BinaryHeap::new();
    let mut hits = 0;
    for (t, &key) in trace.iter().enumerate() {
        if resident.contains_key(&key) {
            hits += 1;
        } else if resident.len() == capacity {
            while let Some((when, victim)) = heap.pop() {
                if resident.get(&victim) == Some(&when) {
                    resident.remove(&victim);
                    break;
                }
            }
        }
        resident.insert(key, next[t]);
        heap.push((next[t], key));
    }
    hits
}

/// Hits of a [`MemoryCache`] of `capacity` entries (get, insert on a miss).
/// `strict` runs moka's maintenance after every insert, so the bound holds
/// at every step (as used, moka applies evictions in batches).
pub(crate) fn ours_hits(trace: &[u64], capacity: u64, policy: Policy, strict: bool) -> u64 {
    let cache: MemoryCache<u64, ()> = MemoryCache::builder()
        .max_entries(capacity)
        .policy(policy)
        .build()
        .expect("a valid cache");
    replay(&cache, trace, strict)
}

/// Hits of `cache` on `trace` (get, insert on a miss); `strict` applies
/// each eviction at once.
fn replay(cache: &MemoryCache<u64, ()>, trace: &[u64], strict: bool) -> u64 {
    let mut hits = 0;
    for &key in trace {
        if cache.get(&key).is_some() {
            hits += 1;
        } else {
            cache.insert(key, ());
            if strict {
                cache.run_pending_tasks();
            }
        }
    }
    hits
}

/// Hits of a [`MemoryCache`] on `engine` of `capacity` entries (get, insert
/// on a miss) with its default policy; `shards` sets the fast engine's
/// shard count (`None`: its default, which depends on the cores).
pub(crate) fn engine_hits(
    trace: &[u64],
    capacity: u64,
    engine: Engine,
    shards: Option<usize>,
) -> u64 {
    let mut builder = MemoryCache::builder().max_entries(capacity).engine(engine);
    if let Some(n) = shards {
        builder = builder.shards(n);
    }
    let cache: MemoryCache<u64, ()> = builder.build().expect("a valid cache");
    replay(&cache, trace, false)
}
