//! pr-cache: memory get hit, file cache get hit / insert, and the hit ratio
//! on the ARC OLTP trace.
//!
//! Peers, in the same run: moka 0.12 sync `get` (the engine underneath: the
//! wrapper's cost), `quick_cache` 0.7 (shown for honesty: a lighter design
//! without moka's features), and for the file cache a plain `std::fs::read`
//! of the same 4 KiB (the floor) and a plain write + rename.
//!
//! Before the criterion groups, the binary replays
//! `testdata/cache-trace/OLTP.lis.zst` at 256 / 512 / 1000 / 2000
//! entries and prints our hit ratio beside exact LRU and Belady OPT (the
//! whole trace under `cargo bench`, a 50,000-key prefix under `cargo test`).

use std::hint::black_box;

use criterion::Criterion;
use pr_cache::{Durability, FileCache, MemoryCache, Policy};

#[path = "../../crates/pr-cache/tests/it/trace.rs"]
mod trace;

/// A 1,000-entry cache holding key 42; gets of key 42.
fn memory_get_hit(c: &mut Criterion) {
    let ours: MemoryCache<u64, u64> = MemoryCache::builder()
        .max_entries(1_000)
        .build()
        .expect("a valid cache");
    let moka = moka::sync::Cache::<u64, u64>::new(1_000);
    let quick = quick_cache::sync::Cache::<u64, u64>::new(1_000);
    for k in 0..500 {
        ours.insert(k, k);
        moka.insert(k, k);
        quick.insert(k, k);
    }
    let mut group = c.benchmark_group("cache/memory_get_hit");
    group.bench_function("ours", |b| b.iter(|| ours.get(black_box(&42))));
    group.bench_function("moka", |b| b.iter(|| moka.get(black_box(&42))));
    group.bench_function("quick_cache", |b| b.iter(|| quick.get(black_box(&42))));
    group.finish();

    let stats: MemoryCache<u64, u64> = MemoryCache::builder()
        .max_entries(1_000)
        .record_stats()
        .build()
        .expect("a valid cache");
    for k in 0..500 {
        stats.insert(k, k);
    }
    let mut group = c.benchmark_group("cache/memory_get_hit_with_stats");
    group.bench_function("ours", |b| b.iter(|| stats.get(black_box(&42))));
    group.bench_function("moka", |b| b.iter(|| moka.get(black_box(&42))));
    group.finish();
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

/// Hit ratios on the OLTP trace, ours beside exact LRU and Belady OPT.
#[expect(clippy::print_stdout, reason = "the bench's report")]
#[expect(clippy::cast_precision_loss, reason = "a percentage of counts")]
fn hit_ratios(full: bool) {
    let trace = trace::load(if full { usize::MAX } else { 50_000 });
    let pct = |hits: u64| 100.0 * hits as f64 / trace.len() as f64;
    println!(
        "cache/hit_ratio OLTP ({} keys{}): capacity | ours | ours, bound held at every step | moka TinyLFU alone | exact LRU | Belady OPT",
        trace.len(),
        if full { "" } else { ", prefix" }
    );
    for capacity in [256_usize, 512, 1000, 2000] {
        let cap = capacity as u64;
        let ours = pct(trace::ours_hits(&trace, cap, Policy::default(), false));
        let strict = pct(trace::ours_hits(&trace, cap, Policy::default(), true));
        let tiny_lfu = pct(trace::ours_hits(&trace, cap, Policy::TinyLfu, false));
        let lru = pct(trace::lru_hits(&trace, capacity));
        let opt = pct(trace::opt_hits(&trace, capacity));
        println!(
            "cache/hit_ratio {capacity:>5} | {ours:6.2} % | {strict:6.2} % | {tiny_lfu:6.2} % | {lru:6.2} % | {opt:6.2} %"
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    hit_ratios(full);
    let mut c = Criterion::default().configure_from_args();
    memory_get_hit(&mut c);
    file_get_hit(&mut c);
    file_insert(&mut c);
    c.final_summary();
}
