//! A real child process writing entries is killed with SIGKILL at random
//! moments, 50 times, while this process reads, writes and invalidates in
//! the same directory: every
//! get returns a completely written value or a miss, never a torn one, and
//! the key index still reaches every entry.

use pr_cache::{Durability, FileCache};

use pr_test_support::{CrashChild, temp_dir};

use crate::support::{is_whole_value, jitter, value_for};

const CHILD_DIR: &str = "PR_CACHE_CRASH_CHILD_DIR";
const KEYS: u64 = 64;

fn open(dir: &std::path::Path, round: u64) -> FileCache {
    let durability = match round % 4 {
        0 => Durability::None,
        1 => Durability::Flush,
        2 => Durability::Batched {
            max_records: 8,
            max_delay: pr_core::units::Duration::from_millis(5),
        },
        _ => Durability::EachWrite,
    };
    FileCache::builder(dir)
        .durability(durability)
        .max_bytes(256 * 1024)
        .build()
        .unwrap()
}

/// Writes entries: forever in the child (until killed), or a bounded number
/// when run as an ordinary test.
#[test]
fn child_entry() {
    let child_dir = std::env::var_os(CHILD_DIR);
    // A killed child never drops a temp dir, so it makes none.
    let temp = child_dir.is_none().then(|| temp_dir("crash-inline"));
    let dir = child_dir
        .as_deref()
        .map_or_else(|| temp.as_ref().unwrap().path(), std::path::Path::new)
        .to_owned();
    let round = std::env::var("PR_CACHE_CRASH_ROUND").map_or(0, |r| r.parse().unwrap());
    let cache = open(&dir, round);
    let limit = if child_dir.is_some() { u64::MAX } else { 300 };
    // The parent kills the child within seconds; the deadline stops an
    // orphan whose parent died first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for i in 0..limit {
        if i % 256 == 0 && std::time::Instant::now() > deadline {
            return;
        }
        let key = format!("k{}", (i * 13 + round) % KEYS);
        cache
            .insert(&key, &value_for(&key, i + round * 1_000_000))
            .unwrap();
        if i % 40 == 39 {
            cache.invalidate_prefix("k3").unwrap();
        }
        if i == 20 && child_dir.is_some() {
            println!("ready");
        }
    }
    for k in 0..KEYS {
        let key = format!("k{k}");
        if let Some(v) = cache.get(&key).unwrap() {
            assert!(is_whole_value(&key, &v));
        }
    }
}

#[cfg(unix)]
#[test]
fn sigkill_mid_write_leaves_whole_values_or_misses() {
    let dir = temp_dir("crash");
    let mut seen = 0_u64;
    for round in 0..50_u64 {
        let round_text = round.to_string();
        let mut child = CrashChild::spawn(
            "crash::child_entry",
            &[
                (CHILD_DIR, dir.path().as_os_str()),
                ("PR_CACHE_CRASH_ROUND", round_text.as_ref()),
            ],
        );
        child.wait_for("ready");
        // Read, write and invalidate beside the writer (two processes on one
        // directory) for a random while, then kill it.
        let reader = open(dir.path(), round);
        for i in 0..jitter(round) % 150 {
            let key = format!("k{}", i % KEYS);
            if let Some(v) = reader.get(&key).unwrap() {
                assert!(
                    is_whole_value(&key, &v),
                    "round {round}: {key} torn while writing"
                );
                seen += 1;
            }
            if i % 10 == 0 {
                let key = format!("k{}", (i * 7) % KEYS);
                let value = value_for(&key, 10_000_000 + round * 1_000 + i);
                reader.insert(&key, &value).unwrap();
            }
            if i % 50 == 25 {
                reader.invalidate_prefix("k2").unwrap();
            }
        }
        child.kill(); // SIGKILL, and reaped

        let after = open(dir.path(), round);
        for k in 0..KEYS {
            let key = format!("k{k}");
            if let Some(v) = after.get(&key).unwrap() {
                assert!(is_whole_value(&key, &v), "round {round}: {key} torn");
                seen += 1;
            }
        }
        assert_eq!(after.snapshot().corrupt, 0, "round {round}");
    }
    assert!(seen > 50, "the rounds wrote entries: {seen}");
    // The index reaches every entry left behind.
    let cache = open(dir.path(), 0);
    cache.invalidate_prefix("k").unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path().join("entries"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
