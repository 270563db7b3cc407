//! The file cache: persistence, expiry, damage, LRU bound, invalidation
//! through the index, threads, and write errors.

use std::sync::Arc;
use std::time::Duration;

use pr_cache::{Durability, Error, FileCache};
use pr_core::time::ManualClock;

use pr_test_support::{CrashChild, temp_dir};

use crate::support::{is_whole_value, value_for};

#[test]
fn round_trip_overwrite_remove_and_persistence_across_reopen() {
    let dir = temp_dir("basic");
    let batched = Durability::Batched {
        max_records: 2,
        max_delay: pr_core::units::Duration::from_secs(60),
    };
    for durability in [
        Durability::None,
        Durability::Flush,
        batched,
        Durability::EachWrite,
    ] {
        let cache = FileCache::builder(dir.path())
            .durability(durability)
            .build()
            .unwrap();
        cache.insert("a", b"one").unwrap();
        cache.insert("a", b"two").unwrap();
        cache.insert("empty", b"").unwrap();
        assert_eq!(cache.get("a").unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(cache.get("empty").unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(cache.get("b").unwrap(), None);
        drop(cache);
        let reopened = FileCache::builder(dir.path()).build().unwrap();
        assert_eq!(reopened.get("a").unwrap().as_deref(), Some(&b"two"[..]));
        assert!(reopened.remove("a").unwrap());
        assert!(!reopened.remove("a").unwrap());
        assert_eq!(reopened.get("a").unwrap(), None);
        let stats = reopened.snapshot();
        assert_eq!((stats.hits, stats.misses), (1, 1));
    }
    let err = FileCache::builder(dir.path())
        .build()
        .unwrap()
        .insert(&"k".repeat(5000), b"v")
        .unwrap_err();
    assert_eq!(
        pr_errors::CodedError::code(&err).as_str(),
        "cache.invalid_key"
    );
    assert!(!err.to_string().contains("kkkk"), "the key is not echoed");
}

#[test]
fn ttl_on_the_injected_wall_clock_survives_reopen() {
    let dir = temp_dir("ttl");
    let clock = ManualClock::new();
    let cache = FileCache::builder(dir.path())
        .time_to_live(Duration::from_secs(60))
        .clock(clock.clock())
        .build()
        .unwrap();
    cache.insert("default", b"1").unwrap();
    cache
        .insert_with_ttl("short", b"2", Duration::from_secs(5))
        .unwrap();
    clock.advance(Duration::from_secs(5));
    assert_eq!(cache.get("short").unwrap(), None);
    assert!(!cache.entry_path("short").exists(), "expired file removed");
    let reopened = FileCache::builder(dir.path())
        .clock(clock.clock())
        .build()
        .unwrap();
    clock.advance(Duration::from_secs(54));
    assert!(reopened.get("default").unwrap().is_some());
    clock.advance(Duration::from_secs(1));
    assert_eq!(reopened.get("default").unwrap(), None);
    assert_eq!(reopened.snapshot().expired, 1);
}

#[test]
fn flipped_bytes_and_torn_files_are_misses_and_removed() {
    let dir = temp_dir("damage");
    let cache = FileCache::builder(dir.path()).build().unwrap();
    let value = value_for("k", 1);
    cache.insert("k", &value).unwrap();
    let path = cache.entry_path("k");
    let whole = std::fs::read(&path).unwrap();
    for at in [0, 5, 13, 30, 38, 41, whole.len() / 2, whole.len() - 1] {
        let mut bad = whole.clone();
        bad[at] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(cache.get("k").unwrap(), None, "flip at {at}");
        assert!(!path.exists(), "damaged file removed");
    }
    for cut in [0, 10, 40, whole.len() - 1] {
        std::fs::write(&path, &whole[..cut]).unwrap();
        assert_eq!(cache.get("k").unwrap(), None, "cut at {cut}");
    }
    std::fs::write(&path, &whole).unwrap();
    assert!(is_whole_value("k", &cache.get("k").unwrap().unwrap()));
    assert_eq!(cache.snapshot().corrupt, 12);
}

#[test]
fn size_bound_evicts_the_least_recently_used() {
    let dir = temp_dir("lru");
    let clock = ManualClock::new();
    // Each entry is 40 + 2 + 1000 bytes; room for 9.
    let cache = FileCache::builder(dir.path())
        .max_bytes(9_500)
        .clock(clock.clock())
        .build()
        .unwrap();
    for i in 0..9 {
        cache.insert(&format!("k{i}"), &[b'x'; 1000]).unwrap();
        clock.advance(Duration::from_secs(2));
    }
    // k0 and k1 read: now the most recent.
    assert!(cache.get("k0").unwrap().is_some());
    assert!(cache.get("k1").unwrap().is_some());
    clock.advance(Duration::from_secs(2));
    cache.insert("k9", &[b'x'; 1000]).unwrap();
    // Over the bound: down to 90 % (8,550 bytes: 8 entries): k2 and k3 go.
    let stats = cache.snapshot();
    assert_eq!(stats.evictions, 2);
    assert_eq!(stats.evicted_bytes, 2 * 1042);
    for (key, present) in [
        ("k0", true),
        ("k1", true),
        ("k2", false),
        ("k3", false),
        ("k4", true),
        ("k9", true),
    ] {
        assert_eq!(cache.get(key).unwrap().is_some(), present, "{key}");
    }
    assert_eq!(cache.size_bytes(), 8 * 1042);
}

#[test]
fn prefix_and_glob_invalidation_through_the_index_and_its_rebuild() {
    let dir = temp_dir("index");
    let cache = FileCache::builder(dir.path()).build().unwrap();
    for key in [
        "user:1",
        "user:2",
        "user:10",
        "order:1",
        "order:2",
        "misc\nkey",
    ] {
        cache.insert(key, key.as_bytes()).unwrap();
    }
    let other = FileCache::builder(dir.path()).build().unwrap();
    assert_eq!(other.invalidate_prefix("user:1").unwrap(), 2);
    assert_eq!(cache.get("user:1").unwrap(), None);
    assert!(cache.get("user:2").unwrap().is_some());
    assert_eq!(cache.invalidate_glob("*:2").unwrap(), 2);
    assert!(cache.get("order:1").unwrap().is_some());

    // A missing index is rebuilt from the headers.
    std::fs::remove_file(dir.path().join("index.log")).unwrap();
    assert_eq!(cache.invalidate_glob("order:?").unwrap(), 1);
    // A damaged one too.
    cache.insert("order:3", b"3").unwrap();
    let mut index = std::fs::read(dir.path().join("index.log")).unwrap();
    index.extend_from_slice(b"+garbage line\n");
    std::fs::write(dir.path().join("index.log"), index).unwrap();
    cache.insert("order:4", b"4").unwrap();
    assert_eq!(cache.invalidate_prefix("order:").unwrap(), 2);
    assert!(cache.get("misc\nkey").unwrap().is_some());
    assert_eq!(cache.rebuild_index().unwrap(), 1);
    assert_eq!(cache.clear().unwrap(), 1);
    assert_eq!(cache.get("misc\nkey").unwrap(), None);
}

#[test]
fn threads_share_one_directory_without_torn_values() {
    let dir = temp_dir("threads");
    let cache = Arc::new(
        FileCache::builder(dir.path())
            .max_bytes(200_000)
            .build()
            .unwrap(),
    );
    std::thread::scope(|s| {
        for t in 0..4_u64 {
            let cache = Arc::clone(&cache);
            s.spawn(move || {
                for i in 0..200_u64 {
                    let key = format!("k{}", (i * 7 + t) % 20);
                    if (i + t) % 3 == 0 {
                        cache.insert(&key, &value_for(&key, i * 4 + t)).unwrap();
                    } else if let Some(v) = cache.get(&key).unwrap() {
                        assert!(is_whole_value(&key, &v), "{key}");
                    }
                    if i % 50 == 49 {
                        cache.invalidate_prefix("k1").unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(cache.snapshot().corrupt, 0);
    cache.invalidate_prefix("k").unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join("entries"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_failing_write_returns_an_error_and_reads_keep_working() {
    // A real write error that root cannot bypass: the temp directory is
    // replaced by a plain file, so creating the temp entry fails (ENOTDIR).
    let dir = temp_dir("write-error");
    let cache = FileCache::builder(dir.path()).build().unwrap();
    cache.insert("kept", b"old").unwrap();
    std::fs::remove_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp"), b"not a directory").unwrap();
    let err = cache.insert("kept", b"new").unwrap_err();
    assert!(matches!(err, Error::Io { op: "create", .. }), "{err}");
    assert_eq!(pr_errors::CodedError::code(&err).as_str(), "cache.io");
    assert_eq!(cache.get("kept").unwrap().as_deref(), Some(&b"old"[..]));
    assert_eq!(cache.snapshot().write_errors, 1);
}

const FSIZE_CHILD_DIR: &str = "PR_CACHE_FSIZE_CHILD_DIR";
const FSIZE_CHECKED: &str = "pr-cache: write past the file size limit failed as it should";

/// A write that fails part-way through its data. In a child process whose
/// file size limit (`ulimit -f`, with `SIGXFSZ` ignored) is far below the
/// value, the kernel refuses the write with `EFBIG` after writing what fits:
/// the insert returns that error, leaves no temp file, and the entries
/// written before still read back. Run as an ordinary test (no limit), the
/// same insert succeeds.
#[test]
fn size_limited_child() {
    let child_dir = std::env::var_os(FSIZE_CHILD_DIR);
    let temp = temp_dir("fsize-inline");
    let dir = child_dir
        .as_ref()
        .map_or(temp.path(), std::path::Path::new)
        .to_owned();
    let cache = FileCache::builder(&dir).build().unwrap();
    cache.insert("small", b"fits").unwrap();
    let big = vec![7_u8; 1 << 20];
    let result = cache.insert("big", &big);
    if child_dir.is_none() {
        result.unwrap();
        assert_eq!(cache.get("big").unwrap().map(|v| v.len()), Some(1 << 20));
        return;
    }
    let err = result.expect_err("a 1 MiB write under a 32 KiB file size limit");
    let Error::Io { source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(source.raw_os_error(), Some(27), "EFBIG: {err}");
    assert_eq!(cache.get("small").unwrap().as_deref(), Some(&b"fits"[..]));
    assert_eq!(cache.get("big").unwrap(), None);
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    assert_eq!(cache.snapshot().write_errors, 1);
    println!("{FSIZE_CHECKED}");
}

/// A full disk. Everywhere: a write failing part-way (a child process under
/// a file size limit, above). Where this test may mount a 64 KiB tmpfs (root
/// on Linux, as in this workspace's CI container), a real `ENOSPC` too.
#[test]
fn a_full_disk_returns_an_error_and_reads_keep_working() {
    let limited = temp_dir("fsize");
    // 32 KiB: far below the value the child writes.
    let out = CrashChild::file_size_limited(
        "file::size_limited_child",
        32 * 1024,
        &[(FSIZE_CHILD_DIR, limited.path())],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(FSIZE_CHECKED),
        "the size-limited child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = temp_dir("full-disk");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("tmpfs could not be mounted here: ENOSPC itself is not exercised");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let cache = FileCache::builder(dir.path()).build().unwrap();
        cache.insert("small", b"fits").unwrap();
        let mut failed = None;
        for i in 0..64 {
            if let Err(e) = cache.insert(&format!("big{i}"), &[7; 8192]) {
                failed = Some(e);
                break;
            }
        }
        let err = failed.expect("a 64 KiB disk fills up");
        let Error::Io { source, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(source.raw_os_error(), Some(28), "ENOSPC: {err}");
        assert_eq!(cache.get("small").unwrap().as_deref(), Some(&b"fits"[..]));
        assert!(cache.get("big0").unwrap().is_some());
        // No temp file is left taking the space.
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    });
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn configuration_opens_a_file_cache_and_reports_every_problem() {
    let dir = temp_dir("config");
    let config: pr_cache::FileCacheConfig = serde_json::from_value(serde_json::json!({
        "dir": dir.path(),
        "durability": "each_write",
        "max_size": "1MB",
        "time_to_live": "1m",
    }))
    .unwrap();
    assert_eq!(config.durability, Durability::EachWrite);
    assert_eq!(config.max_size.as_u64(), 1_000_000);
    assert_eq!(config.time_to_live.as_std(), Duration::from_secs(60));
    let cache = FileCache::from_config(&config).unwrap();
    cache.insert("k", b"v").unwrap();
    assert_eq!(cache.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    assert!(pr_core::validate::check(&pr_cache::FileCacheConfig::default()).is_ok());
    let mut bad = pr_cache::FileCacheConfig::default();
    bad.dir = std::path::PathBuf::new();
    bad.max_size = pr_core::units::ByteSize(0);
    let Err(Error::InvalidConfig { problems }) = FileCache::from_config(&bad) else {
        panic!("invalid")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["dir", "max_size"], "{problems:?}");
    // A batched policy is a table, as in the dead-letter queue's config.
    let config: pr_cache::FileCacheConfig = serde_json::from_str(
        r#"{"durability": {"mode": "batched", "max_records": 64, "max_delay": "1s"}}"#,
    )
    .unwrap();
    assert!(matches!(
        config.durability,
        Durability::Batched {
            max_records: 64,
            ..
        }
    ));
    // The `_bytes` and `_ms` keys went before 0.1, and `fsync` became
    // pr-core's `each_write`: unknown now.
    for old in [
        r#"{"max_bytes": 1}"#,
        r#"{"time_to_live_ms": 1}"#,
        r#"{"durability": "fsync"}"#,
    ] {
        assert!(
            serde_json::from_str::<pr_cache::FileCacheConfig>(old).is_err(),
            "{old}"
        );
    }
}

#[test]
fn overwriting_one_key_keeps_the_index_small() {
    let dir = temp_dir("index-growth");
    let cache = FileCache::builder(dir.path()).build().unwrap();
    for i in 0..3_000_u64 {
        cache.insert("same", &i.to_le_bytes()).unwrap();
    }
    let index = std::fs::read(dir.path().join("index.log")).unwrap();
    let records = pr_core::fs::frame::Frames::new(&index).count();
    assert!(records <= 1_024 + 66, "{records} index records for one key");
    assert_eq!(cache.invalidate_prefix("same").unwrap(), 1);
}
