//! pr-cache: the memory cache's get hit, get miss, insert and a mixed 90/10
//! workload from 1 and 2 threads, on both engines (statistics off and on);
//! file cache get hit / insert; and the hit ratio on the ARC OLTP trace.
//!
//! Peers, in the same run: moka 0.12 sync (under the moka engine: the
//! wrapper's cost), `quick_cache` 0.7 (under the fast engine: its wrapper's
//! cost), and for the file cache a plain `std::fs::read` of the same 4 KiB
//! (the floor) and a plain write + rename.
//!
//! Before the criterion groups, the binary replays
//! `testdata/cache-trace/OLTP.lis.zst` at 256 / 512 / 1000 / 2000
//! entries and prints our hit ratio beside exact LRU and Belady OPT (the
//! whole trace under `cargo bench`, a 50,000-key prefix under `cargo test`).

use std::hint::black_box;

use criterion::Criterion;
use criterion::measurement::WallTime;
use pr_cache::{Durability, Engine, FileCache, MemoryCache, Policy};

#[path = "../../crates/pr-cache/tests/it/trace.rs"]
mod trace;

/// A 1,000-entry cache on `engine` (statistics on when `stats`), holding
/// keys 0..500.
fn engine_cache(engine: Engine, stats: bool) -> MemoryCache<u64, u64> {
    let builder = MemoryCache::builder().max_entries(1_000).engine(engine);
    let builder = if stats {
        builder.record_stats()
    } else {
        builder
    };
    let cache = builder.build().expect("a valid cache");
    for k in 0..500 {
        cache.insert(k, k);
    }
    cache
}

/// Raw moka and raw `quick_cache` of 1,000 entries, holding keys 0..500.
fn raw_caches() -> (
    moka::sync::Cache<u64, u64>,
    quick_cache::sync::Cache<u64, u64>,
) {
    let moka = moka::sync::Cache::new(1_000);
    let quick = quick_cache::sync::Cache::new(1_000);
    for k in 0..500 {
        moka.insert(k, k);
        quick.insert(k, k);
    }
    (moka, quick)
}

/// The groups of each engine: `ours` is the engine, its peer the raw crate
/// under it. The moka engine's groups keep their names from before the fast
/// engine; the fast engine's end in `_fast_engine`.
const ENGINES: [(Engine, &str); 2] = [(Engine::Moka, ""), (Engine::Fast, "_fast_engine")];

/// Gets of key 42 (present) and of key 5,000 (absent), statistics off and on.
fn memory_get(c: &mut Criterion) {
    let (moka, quick) = raw_caches();
    for (engine, suffix) in ENGINES {
        for (what, key) in [("hit", 42_u64), ("miss", 5_000)] {
            for stats in [false, true] {
                let ours = engine_cache(engine, stats);
                let stats_suffix = if stats { "_with_stats" } else { "" };
                let mut group =
                    c.benchmark_group(format!("cache/memory_get_{what}{suffix}{stats_suffix}"));
                group.bench_function("ours", |b| b.iter(|| ours.get(black_box(&key))));
                if engine == Engine::Moka {
                    group.bench_function("moka", |b| b.iter(|| moka.get(black_box(&key))));
                }
                if engine == Engine::Fast || (what, stats) == ("hit", false) {
                    group.bench_function("quick_cache", |b| {
                        b.iter(|| quick.get(black_box(&key)));
                    });
                }
                group.finish();
            }
        }
    }
}

/// Inserts of keys cycling over 0..4,000 into the 1,000-entry caches: mostly
/// new keys, so most inserts evict.
fn memory_insert(c: &mut Criterion) {
    let (moka, quick) = raw_caches();
    for (engine, suffix) in ENGINES {
        let ours = engine_cache(engine, true);
        let mut group = c.benchmark_group(format!("cache/memory_insert{suffix}_with_stats"));
        let mut k = 0_u64;
        group.bench_function("ours", |b| {
            b.iter(|| {
                k = (k + 1) % 4_000;
                ours.insert(black_box(k), k);
            });
        });
        let mut k = 0_u64;
        if engine == Engine::Moka {
            group.bench_function("moka", |b| {
                b.iter(|| {
                    k = (k + 1) % 4_000;
                    moka.insert(black_box(k), k);
                });
            });
        } else {
            group.bench_function("quick_cache", |b| {
                b.iter(|| {
                    k = (k + 1) % 4_000;
                    quick.insert(black_box(k), k);
                });
            });
        }
        group.finish();
    }
}

/// A small fast generator (xorshift) for the mixed workload's keys.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One operation of the mixed workload: 90 % gets, 10 % inserts, of keys
/// 0..2,000 (half of them fit), skewed to the low keys (the lesser of two
/// draws).
#[inline]
fn mixed_op(state: &mut u64, get: impl Fn(u64) -> bool, insert: impl Fn(u64)) {
    let r = next(state);
    let key = (r % 2_000).min((r >> 32) % 2_000);
    if (r >> 16).is_multiple_of(10) {
        insert(key);
    } else {
        black_box(get(key));
    }
}

/// The mixed workload from `threads` threads at once: the time per
/// operation of each thread.
fn mixed<G, I>(
    group: &mut criterion::BenchmarkGroup<'_, WallTime>,
    threads: usize,
    name: &str,
    get: G,
    insert: I,
) where
    G: Fn(u64) -> bool + Sync,
    I: Fn(u64) + Sync,
{
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|s| {
                for t in 0..threads {
                    let (get, insert) = (&get, &insert);
                    s.spawn(move || {
                        let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (t as u64 + 1);
                        for _ in 0..iters {
                            mixed_op(&mut state, get, insert);
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
}

/// The mixed 90/10 workload from 1 and 2 threads, statistics on.
fn memory_mixed(c: &mut Criterion) {
    let (moka, quick) = raw_caches();
    for threads in [1, 2] {
        for (engine, suffix) in ENGINES {
            let ours = engine_cache(engine, true);
            let mut group = c.benchmark_group(format!(
                "cache/memory_mixed_90_10_{threads}_threads{suffix}_with_stats"
            ));
            mixed(
                &mut group,
                threads,
                "ours",
                |k| ours.get(&k).is_some(),
                |k| ours.insert(k, k),
            );
            if engine == Engine::Moka {
                mixed(
                    &mut group,
                    threads,
                    "moka",
                    |k| moka.get(&k).is_some(),
                    |k| moka.insert(k, k),
                );
            } else {
                mixed(
                    &mut group,
                    threads,
                    "quick_cache",
                    |k| quick.get(&k).is_some(),
                    |k| quick.insert(k, k),
                );
            }
            group.finish();
        }
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pr-bench-cache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// A 4 KiB value read back from a warm page cache.
fn file_get_hit(c: &mut Criterion) {
    let dir = temp_dir("get");
    let cache = FileCache::builder(dir.join("cache"))
        .build()
        .expect("a cache dir");
    let value = vec![0x5a_u8; 4096];
    cache.insert("bench:key", &value).expect("written");
    let plain = dir.join("plain");
    std::fs::write(&plain, &value).expect("written");
    let mut group = c.benchmark_group("cache/file_get_hit_4k");
    group.bench_function("ours", |b| {
        b.iter(|| cache.get(black_box("bench:key")).expect("read"));
    });
    group.bench_function("std_fs_read", |b| {
        b.iter(|| std::fs::read(black_box(&plain)).expect("read"));
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 4 KiB insert with durability "none" (temp file + rename).
fn file_insert(c: &mut Criterion) {
    let dir = temp_dir("insert");
    let cache = FileCache::builder(dir.join("cache"))
        .durability(Durability::None)
        .build()
        .expect("a cache dir");
    let value = vec![0x5a_u8; 4096];
    let tmp = dir.join("plain.tmp");
    let dest = dir.join("plain");
    let mut group = c.benchmark_group("cache/file_insert_4k_durability_none");
    group.bench_function("ours", |b| {
        b.iter(|| {
            cache
                .insert(black_box("bench:key"), &value)
                .expect("written");
        });
    });
    group.bench_function("std_fs_write_rename", |b| {
        b.iter(|| {
            std::fs::write(&tmp, &value).expect("written");
            std::fs::rename(&tmp, &dest).expect("renamed");
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hits of raw `quick_cache` of `capacity` entries: its defaults, or one
/// shard tuned as the fast engine is.
fn quick_hits(trace: &[u64], capacity: u64, tuned: bool) -> u64 {
    let mut options = quick_cache::OptionsBuilder::new();
    options
        .estimated_items_capacity(usize::try_from(capacity).expect("small"))
        .weight_capacity(capacity);
    if tuned {
        options.shards(1).hot_allocation(0.8).ghost_allocation(1.0);
    }
    let cache: quick_cache::sync::Cache<u64, ()> = quick_cache::sync::Cache::with_options(
        options.build().expect("valid options"),
        quick_cache::UnitWeighter,
        quick_cache::DefaultHashBuilder::default(),
        quick_cache::sync::DefaultLifecycle::default(),
    );
    let mut hits = 0;
    for &key in trace {
        if cache.get(&key).is_some() {
            hits += 1;
        } else {
            cache.insert(key, ());
        }
    }
    hits
}

/// Hit ratios on the OLTP trace: both engines beside exact LRU, raw
/// `quick_cache` and Belady OPT.
#[expect(clippy::print_stdout, reason = "the bench's report")]
#[expect(clippy::cast_precision_loss, reason = "a percentage of counts")]
fn hit_ratios(full: bool) {
    let trace = trace::load(if full { usize::MAX } else { 50_000 });
    let pct = |hits: u64| 100.0 * hits as f64 / trace.len() as f64;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "cache/hit_ratio OLTP ({} keys{}, {cores} cores): capacity | moka engine | moka engine, bound held at every step | moka TinyLFU alone | fast engine | fast engine, 64 shards asked (quick_cache's default on 16 cores) | quick_cache defaults | quick_cache one shard, hot 0.8, ghost 1.0 | exact LRU | Belady OPT",
        trace.len(),
        if full { "" } else { ", prefix" }
    );
    for capacity in [256_usize, 512, 1000, 2000] {
        let cap = capacity as u64;
        let ours = pct(trace::ours_hits(&trace, cap, Policy::default(), false));
        let strict = pct(trace::ours_hits(&trace, cap, Policy::default(), true));
        let tiny_lfu = pct(trace::ours_hits(&trace, cap, Policy::TinyLfu, false));
        let fast = pct(trace::engine_hits(&trace, cap, Engine::Fast, None));
        let fast64 = pct(trace::engine_hits(&trace, cap, Engine::Fast, Some(64)));
        let quick = pct(quick_hits(&trace, cap, false));
        let tuned = pct(quick_hits(&trace, cap, true));
        let lru = pct(trace::lru_hits(&trace, capacity));
        let opt = pct(trace::opt_hits(&trace, capacity));
        println!(
            "cache/hit_ratio {capacity:>5} | {ours:6.2} % | {strict:6.2} % | {tiny_lfu:6.2} % | {fast:6.2} % | {fast64:6.2} % | {quick:6.2} % | {tuned:6.2} % | {lru:6.2} % | {opt:6.2} %"
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    hit_ratios(full);
    let mut c = Criterion::default().configure_from_args();
    memory_get(&mut c);
    memory_insert(&mut c);
    memory_mixed(&mut c);
    file_get_hit(&mut c);
    file_insert(&mut c);
    c.final_summary();
}
