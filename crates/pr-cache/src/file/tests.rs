//! Unit tests of the file cache's handle: its snapshot's keys, and a
//! damaged entry's removal racing a writer.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use std::fs;

use super::*;

// The snapshot is what a status page serializes: its keys are the API.
#[test]
fn file_cache_snapshot_serializes_with_its_field_names_and_round_trips() {
    let snapshot = FileCacheSnapshot {
        hits: 4,
        corrupt: 1,
        ..FileCacheSnapshot::default()
    };
    let json = serde_json::to_value(snapshot).unwrap();
    for key in [
        "hits",
        "misses",
        "corrupt",
        "expired",
        "writes",
        "write_errors",
        "evictions",
        "evicted_bytes",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(
        (json["hits"].as_u64(), json["corrupt"].as_u64()),
        (Some(4), Some(1))
    );
    let back: FileCacheSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, snapshot);
}

#[test]
fn a_damaged_entry_replaced_meanwhile_is_not_removed() {
    let dir = std::env::temp_dir().join(format!("pr-cache-unit-race-{}", std::process::id()));
    let cache = FileCache::builder(&dir).build().expect("open");
    let path = cache.entry_path("k");
    fs::write(&path, b"damaged").expect("write");
    let seen = fs::metadata(&path).expect("stat");
    // A writer renames a whole new entry into place before the reader
    // that found the damage removes it.
    cache.insert("k", b"new").expect("insert");
    cache.remove_if_unchanged(&path, &seen);
    assert_eq!(cache.get("k").expect("get").as_deref(), Some(&b"new"[..]));
    // The damaged file itself is removed.
    fs::write(&path, b"damaged").expect("write");
    assert_eq!(cache.get("k").expect("get"), None);
    assert!(!path.exists());
    fs::remove_dir_all(&dir).ok();
}
