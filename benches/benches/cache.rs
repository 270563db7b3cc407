//! pr-cache: the memory cache's get hit, get miss, insert and a mixed 90/10
//! workload from 1 and 2 threads, on both engines (statistics off and on);
//! file cache get hit / insert; and the hit ratio on the ARC OLTP and P3
//! traces.
//!
//! Peers, in the same run: moka 0.12 sync (under the moka engine: the
//! wrapper's cost), `quick_cache` 0.7 (under the fast engine: its wrapper's
//! cost), and for the file cache a plain `std::fs::read` of the same 4 KiB
//! (the floor) and a plain write + rename.
//!
//! Before the criterion groups, the binary replays the ARC paper's OLTP
//! trace at 256 / 512 / 1000 / 2000 entries and its P3 trace at 1,000 to
//! 65,536 (`testdata/cache-trace/`) and prints our hit ratios beside raw
//! `quick_cache`, exact LRU, ARC and Belady OPT: the whole traces under
//! `cargo bench` (a few minutes; `cargo bench -p pr-benches --bench cache --
//! hit_ratio` runs only them), prefixes of 50,000 / 20,000 keys under `cargo
//! test`. A whole-trace run also writes the tables as Markdown for `cargo
//! xtask bench` (`hit_ratio_section`); a run filtered to other groups skips
//! them.

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

/// The fast engine's default shard count for `entries` on `cores` cores:
/// `fast_shards` of `crates/pr-cache/src/memory/engine.rs` (4 per core,
/// rounded up to a power of two, lowered to keep at least 1,024 entries per
/// shard), copied since it is private; the bench asks for it to show what a
/// 16-core machine would get.
fn default_shards(entries: u64, cores: usize) -> usize {
    let wanted = (cores.max(1) * 4).next_power_of_two();
    let most = usize::try_from(entries / 1_024).unwrap_or(usize::MAX);
    wanted.min(most.max(1))
}

/// The shards a fast-engine cache of `capacity` entries really has when
/// `asked` (`None`: its default on this machine).
fn fast_shards(capacity: u64, asked: Option<usize>) -> usize {
    let mut builder = MemoryCache::builder()
        .max_entries(capacity)
        .engine(Engine::Fast);
    if let Some(n) = asked {
        builder = builder.shards(n);
    }
    let cache: MemoryCache<u64, ()> = builder.build().expect("a valid cache");
    cache.shards().expect("the fast engine has shards")
}

/// The traces the bench replays, with their capacities and the prefix
/// replayed under `cargo test` (the whole trace under `cargo bench`).
const TRACES: [(trace::Trace, &[u64], usize); 2] = [
    (trace::Trace::Oltp, &[256, 512, 1000, 2000], 50_000),
    (
        trace::Trace::P3,
        &[1000, 4096, 8192, 16384, 32768, 65536],
        20_000,
    ),
];

/// What each figure of a row is, in order.
const COLUMNS: [&str; 11] = [
    "moka engine (default)",
    "moka engine, bound held at every step",
    "moka `TinyLFU` alone",
    "fast engine, default shards here",
    "fast engine, default shards on 16 cores",
    "fast engine, 64 shards asked (quick_cache's own default on 16 cores)",
    "quick_cache defaults",
    "quick_cache one shard, hot 0.8, ghost 1.0",
    "exact LRU",
    "ARC (computed)",
    "Belady OPT",
];

/// Hit ratios on each trace: both engines beside raw `quick_cache`, exact
/// LRU, ARC and Belady OPT, one table per trace. Returns the tables as a
/// Markdown section, policies down and capacities across (for
/// `docs/PERFORMANCE.md`, which `cargo xtask bench` writes).
#[expect(clippy::print_stdout, reason = "the bench's report")]
#[expect(clippy::cast_precision_loss, reason = "a percentage of counts")]
fn hit_ratios(full: bool) -> String {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut markdown = format!(
        "## Cache hit ratio\n\nPrinted by `cargo bench -p pr-benches --bench cache` ({cores} cores): \
         hit ratio in % over two of the ARC paper's traces (`testdata/cache-trace/`), ARC computed \
         by the simulator of `crates/pr-cache/tests/it/trace.rs`.\n"
    );
    for (which, capacities, prefix) in TRACES {
        let started = std::time::Instant::now();
        let trace = trace::load_trace(which, if full { usize::MAX } else { prefix });
        let pct = |hits: u64| 100.0 * hits as f64 / trace.len() as f64;
        let name = which.name();
        println!(
            "cache/hit_ratio {name} ({} keys{}, {cores} cores): capacity | {} | shards (here / on 16 cores / 64 asked)",
            trace.len(),
            if full { "" } else { ", prefix" },
            COLUMNS.join(" | ")
        );
        // rows[column][capacity], and the shard counts per capacity.
        let mut rows = vec![Vec::new(); COLUMNS.len()];
        let mut shards = Vec::new();
        for &cap in capacities {
            let capacity = usize::try_from(cap).expect("small");
            let sixteen = fast_shards(cap, Some(default_shards(cap, 16)));
            let counts = [fast_shards(cap, None), sixteen, fast_shards(cap, Some(64))];
            let figures = [
                pct(trace::ours_hits(&trace, cap, Policy::default(), false)),
                pct(trace::ours_hits(&trace, cap, Policy::default(), true)),
                pct(trace::ours_hits(&trace, cap, Policy::TinyLfu, false)),
                pct(trace::engine_hits(&trace, cap, Engine::Fast, None)),
                pct(trace::engine_hits(&trace, cap, Engine::Fast, Some(sixteen))),
                pct(trace::engine_hits(&trace, cap, Engine::Fast, Some(64))),
                pct(quick_hits(&trace, cap, false)),
                pct(quick_hits(&trace, cap, true)),
                pct(trace::lru_hits(&trace, capacity)),
                pct(trace::arc_hits(&trace, capacity)),
                pct(trace::opt_hits(&trace, capacity)),
            ];
            let cells: Vec<String> = figures.iter().map(|f| format!("{f:6.2} %")).collect();
            println!(
                "cache/hit_ratio {name} {cap:>5} | {} | {} / {} / {}",
                cells.join(" | "),
                counts[0],
                counts[1],
                counts[2]
            );
            for (row, figure) in rows.iter_mut().zip(figures) {
                row.push(format!("{figure:.2}"));
            }
            shards.push(format!("{} / {} / {}", counts[0], counts[1], counts[2]));
        }
        let seconds = started.elapsed().as_secs_f64();
        println!("cache/hit_ratio {name}: {seconds:.1} s");
        let caps: Vec<String> = capacities.iter().map(u64::to_string).collect();
        markdown.push_str(&format!(
            "\n{name} ({} requests):\n\n| capacity (entries) | {} |\n|---|{}\n",
            trace.len(),
            caps.join(" | "),
            "---:|".repeat(caps.len())
        ));
        for (column, row) in COLUMNS.iter().zip(&rows) {
            markdown.push_str(&format!("| {column} | {} |\n", row.join(" | ")));
        }
        markdown.push_str(&format!(
            "| fast engine shards: here / on 16 cores / 64 asked | {} |\n",
            shards.join(" | ")
        ));
    }
    markdown
}

/// Whether the command line asks for the hit ratios: no filter, or a filter
/// that `cache/hit_ratio` contains (criterion's filters are the arguments
/// that are not flags). A bench run filtered to other groups skips the
/// replays, which take minutes on the whole traces.
fn hit_ratio_wanted() -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| "cache/hit_ratio".contains(f.as_str()))
}

/// Where a whole-trace run leaves its Markdown section for `cargo xtask
/// bench`: `pr-benches/hit-ratio.md` under the target directory (the bench
/// runs as `<target>/release/deps/cache-<hash>`).
fn hit_ratio_section() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(
        exe.ancestors()
            .nth(3)?
            .join("pr-benches")
            .join("hit-ratio.md"),
    )
}

#[expect(clippy::print_stderr, reason = "the bench's report")]
fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if hit_ratio_wanted() {
        let markdown = hit_ratios(full);
        if full && let Some(path) = hit_ratio_section() {
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, markdown));
            if let Err(e) = written {
                eprintln!("cache/hit_ratio: could not write {}: {e}", path.display());
            }
        }
    }
    let mut c = Criterion::default().configure_from_args();
    memory_get(&mut c);
    memory_insert(&mut c);
    memory_mixed(&mut c);
    file_get_hit(&mut c);
    file_insert(&mut c);
    c.final_summary();
}
