//! Two of the ARC paper's block traces (`testdata/cache-trace/` at the
//! workspace root, with their source and reference figures): OLTP (a
//! database) and P3 (a workstation disk: scans mixed with reuse), with
//! exact LRU, ARC and Belady's OPT to compare a cache's hit ratio against.
//! `benches/benches/cache.rs` includes this file too.
//!
//! Traces and ARC: N. Megiddo, D. S. Modha, "ARC: A Self-Tuning, Low
//! Overhead Replacement Cache", FAST '03.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::Read as _;
use std::path::PathBuf;

use pr_cache::{Engine, MemoryCache, Policy};

/// One of the traces under `testdata/cache-trace/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trace {
    /// OLTP: a CODASYL database over one hour, 914,145 requests.
    Oltp,
    /// P3: a Windows NT workstation's disk, 3,912,296 requests (scans mixed
    /// with reuse, where recency alone does poorly).
    P3,
}

impl Trace {
    /// The name the bench prints.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Oltp => "OLTP",
            Self::P3 => "P3",
        }
    }

    /// The trace file, under the workspace's `testdata/`.
    fn corpus(self) -> PathBuf {
        let file = format!("cache-trace/{}.lis.zst", self.name());
        let path = pr_test_support::testdata_path(&file);
        assert!(
            path.is_file(),
            "test data file testdata/{file} is missing: looked for {}",
            path.display()
        );
        path
    }
}

/// The keys of `trace` in order (each line `start n _ _` is the keys
/// `start .. start + n`), at most `limit` of them.
pub(crate) fn load_trace(trace: Trace, limit: usize) -> Vec<u64> {
    let file = std::fs::File::open(trace.corpus()).expect("the trace opens");
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

/// The four lists of ARC, in the order of `ArcState::lists`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum List {
    /// Resident, seen once recently.
    T1,
    /// Resident, seen at least twice recently.
    T2,
    /// Ghosts evicted from T1.
    B1,
    /// Ghosts evicted from T2.
    B2,
}

/// ARC's state: each list ordered by a stamp (the smallest at its LRU end;
/// O(log n) a step), and where each key is.
struct ArcState {
    lists: [BTreeMap<u64, u64>; 4],
    at: HashMap<u64, (List, u64)>,
    stamp: u64,
}

impl ArcState {
    fn len(&self, list: List) -> usize {
        self.lists[list as usize].len()
    }

    /// Puts `key` at the MRU end of `list` (taking it out of its old one).
    fn push(&mut self, key: u64, list: List) {
        if let Some((old, stamp)) = self.at.get(&key).copied() {
            self.lists[old as usize].remove(&stamp);
        }
        self.stamp += 1;
        self.lists[list as usize].insert(self.stamp, key);
        self.at.insert(key, (list, self.stamp));
    }

    /// Takes the LRU key of `list` out of every list.
    fn pop_lru(&mut self, list: List) -> Option<u64> {
        let (_, key) = self.lists[list as usize].pop_first()?;
        self.at.remove(&key);
        Some(key)
    }

    /// REPLACE(x, p) of the paper: evict T1's LRU to B1 when T1 is over its
    /// target `p` (or at it and `x` came from B2), else T2's LRU to B2.
    #[expect(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
    #[expect(clippy::float_cmp, reason = "the paper's |T1| = p, exact")]
    fn replace(&mut self, from_b2: bool, p: f64) {
        let t1 = self.len(List::T1) as f64;
        let (from, to) = if t1 >= 1.0 && ((from_b2 && t1 == p) || t1 > p) {
            (List::T1, List::B1)
        } else {
            (List::T2, List::B2)
        };
        if let Some(key) = self.pop_lru(from) {
            self.push(key, to);
        }
    }
}

/// Hits of ARC (Megiddo & Modha, FAST '03, figure 4's pseudo-code) of
/// `capacity` entries: T1/T2 resident, B1/B2 ghosts, and the target size `p`
/// of T1 adapted on each ghost hit. `p` is a real number, as in the paper
/// (its steps `|B2|/|B1|` are ratios): with integer steps OLTP gives 39.06 /
/// 46.17 % at 1,000 / 2,000 entries instead of the paper's 38.93 / 46.08.
#[expect(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
pub(crate) fn arc_hits(trace: &[u64], capacity: usize) -> u64 {
    let c = capacity;
    let mut s = ArcState {
        lists: Default::default(),
        at: HashMap::with_capacity(capacity * 3),
        stamp: 0,
    };
    let mut p = 0.0_f64;
    let mut hits = 0;
    for &x in trace {
        match s.at.get(&x).map(|&(list, _)| list) {
            // Case I: a hit, x moves to T2's MRU end.
            Some(List::T1 | List::T2) => {
                hits += 1;
                s.push(x, List::T2);
            }
            // Case II: a ghost of T1: T1 deserved more room.
            Some(List::B1) => {
                let (b1, b2) = (s.len(List::B1), s.len(List::B2));
                let delta = if b1 >= b2 { 1.0 } else { b2 as f64 / b1 as f64 };
                p = (p + delta).min(c as f64);
                s.replace(false, p);
                s.push(x, List::T2);
            }
            // Case III: a ghost of T2: T2 deserved more room.
            Some(List::B2) => {
                let (b1, b2) = (s.len(List::B1), s.len(List::B2));
                let delta = if b2 >= b1 { 1.0 } else { b1 as f64 / b2 as f64 };
                p = (p - delta).max(0.0);
                s.replace(true, p);
                s.push(x, List::T2);
            }
            // Case IV: a miss everywhere.
            None => {
                let l1 = s.len(List::T1) + s.len(List::B1);
                let total = l1 + s.len(List::T2) + s.len(List::B2);
                if l1 == c {
                    if s.len(List::T1) < c {
                        s.pop_lru(List::B1);
                        s.replace(false, p);
                    } else {
                        s.pop_lru(List::T1);
                    }
                } else if total >= c {
                    if total == 2 * c {
                        s.pop_lru(List::B2);
                    }
                    s.replace(false, p);
                }
                s.push(x, List::T1);
            }
        }
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
