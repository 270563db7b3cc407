//! What only the fast engine has: its checks in `build`, its bounded sweep
//! of expired entries, its shard count, and the engine's configuration key.
//! (Everything both engines share runs on both in `moka_engine` and
//! `fast_engine`: see `main.rs`.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_cache::{Engine, Error, MemoryCache, Policy, RemovalCause};
use pr_core::time::ManualClock;

fn fast<K, V>() -> pr_cache::MemoryCacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    MemoryCache::builder().engine(Engine::Fast)
}

#[test]
fn the_fast_engine_rejects_a_moka_policy_and_a_shard_count_out_of_range() {
    let Err(Error::InvalidConfig { problems }) =
        fast::<u8, u8>().policy(Policy::Lru).shards(0).build()
    else {
        panic!("a policy and zero shards are invalid with the fast engine")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["policy", "shards"], "{problems:?}");
    assert!(
        problems[0].message.contains("`moka` engine only"),
        "{problems:?}"
    );
    let Err(Error::InvalidConfig { problems }) = fast::<u8, u8>().shards(usize::MAX).build() else {
        panic!("more shards than quick_cache can round up are invalid")
    };
    assert_eq!(problems[0].key, "shards", "{problems:?}");
    assert_eq!(
        fast::<u8, u8>()
            .max_entries(100)
            .shards(65_536)
            .build()
            .unwrap()
            .shards(),
        Some(2),
        "quick_cache keeps 32 entries per shard at least"
    );
    // moka takes both (shards are the fast engine's and ignored).
    let moka: MemoryCache<u8, u8> = MemoryCache::builder()
        .policy(Policy::Lru)
        .shards(0)
        .build()
        .unwrap();
    assert_eq!((moka.engine(), moka.shards()), (Engine::Moka, None));
}

/// Each write looks at most at 16 due deadlines, so that no write pays for a
/// whole cache expiring at once; the rest go on later writes, on a read of
/// them, or all at once in `run_pending_tasks`. An entry replaced with a
/// later deadline is not swept by its old one (which still counts among the
/// 16 it looked at).
#[test]
fn expired_entries_are_swept_a_few_per_write() {
    let clock = ManualClock::new();
    let removed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&removed);
    let cache: MemoryCache<u32, u32> = fast()
        .max_entries(10_000)
        .time_to_live(Duration::from_secs(10))
        .clock(clock.clock())
        .eviction_listener(move |k: &u32, _: &u32, cause| sink.lock().unwrap().push((*k, cause)))
        .record_stats()
        .build()
        .unwrap();
    for k in 0..100 {
        cache.insert(k, k);
    }
    // Key 0 again, later: its first deadline must not sweep it.
    clock.advance(Duration::from_secs(5));
    cache.insert(0, 1);
    clock.advance(Duration::from_secs(6));
    assert_eq!(cache.entry_count(), 100, "nothing swept before a write");
    cache.insert(1_000, 0);
    // Key 0's old deadline comes first: looked at, not swept.
    assert_eq!(cache.entry_count(), 101 - 15, "one write sweeps 15 + key 0");
    cache.insert(1_001, 0);
    assert_eq!(cache.entry_count(), 102 - 31, "and the next 16");
    {
        let removed = removed.lock().unwrap();
        assert_eq!(removed.len(), 1 + 31, "{removed:?}");
        assert_eq!(removed[0], (0, RemovalCause::Replaced));
        assert!(removed[1..].iter().all(|r| r.1 == RemovalCause::Expired));
        assert!(!removed[1..].contains(&(0, RemovalCause::Expired)));
    }
    // Never returned, swept or not.
    assert!((1..100).all(|k| cache.get(&k).is_none()));
    assert_eq!(cache.get(&0), Some(1));
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 3, "key 0 and the two new keys");
    let stats = cache.snapshot().unwrap();
    assert_eq!(stats.removals.get(RemovalCause::Expired), 99);
    clock.advance(Duration::from_secs(5));
    assert_eq!(cache.get(&0), None, "its own deadline");
}

#[test]
fn the_default_shard_count_keeps_a_thousand_entries_per_shard() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let most = (cores * 4).next_power_of_two();
    for (entries, want) in [(256, 1), (2_000, 1), (4_096, 4.min(most)), (1 << 20, most)] {
        let cache: MemoryCache<u64, u64> = fast().max_entries(entries).build().unwrap();
        assert_eq!(cache.shards(), Some(want), "{entries} entries");
    }
    let cache: MemoryCache<u64, u64> = fast().max_entries(1 << 20).shards(2).build().unwrap();
    assert_eq!(cache.shards(), Some(2));
}

#[test]
fn the_engine_is_a_configuration_key() {
    let config: pr_cache::MemoryCacheConfig =
        serde_json::from_str(r#"{"engine": "fast", "max_entries": 100}"#).unwrap();
    assert_eq!(config.engine, Engine::Fast);
    let cache: MemoryCache<u64, u64> = MemoryCache::from_config(&config).unwrap();
    assert_eq!(cache.engine(), Engine::Fast);
    assert_eq!(
        pr_cache::MemoryCacheConfig::default().engine,
        Engine::Moka,
        "the default engine"
    );
    let err = serde_json::from_str::<pr_cache::MemoryCacheConfig>(r#"{"engine": "quick"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `quick`"), "{err}");
    assert_eq!(Engine::Fast.as_str(), "fast");
}

/// The fast engine reports removals after releasing its shard locks: a
/// listener that reads and writes the cache (on the same shard: there is one
/// at this size) does not deadlock, and every cause is reported, for a size
/// eviction, a replacement, an invalidation, a sweep and `invalidate_all`.
#[test]
fn a_listener_may_call_back_into_the_fast_engine() {
    let clock = ManualClock::new();
    let slot: Arc<Mutex<Option<MemoryCache<u32, u32>>>> = Arc::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (me, sink) = (Arc::clone(&slot), Arc::clone(&seen));
    let cache: MemoryCache<u32, u32> = fast()
        .max_entries(64)
        .clock(clock.clock())
        .eviction_listener(move |k: &u32, _: &u32, cause| {
            sink.lock().unwrap().push(cause);
            let cache = me.lock().unwrap().clone();
            if let Some(cache) = cache {
                // A read and a write (of an absent key: no notification,
                // so no recursion) on the shard the removal came from.
                let _ = cache.get(k);
                cache.invalidate(&(1_000_000 + k));
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(cache.clone());
    for k in 0..200 {
        cache.insert(k, k);
    }
    cache.insert(199, 0);
    cache.invalidate(&198);
    cache.insert_with_ttl(500, 0, Duration::from_secs(1));
    clock.advance(Duration::from_secs(2));
    cache.insert(501, 0);
    cache.invalidate_all();
    *slot.lock().unwrap() = None;
    let seen = seen.lock().unwrap();
    for cause in [
        RemovalCause::Size,
        RemovalCause::Replaced,
        RemovalCause::Explicit,
        RemovalCause::Expired,
    ] {
        assert!(seen.contains(&cause), "{cause:?} not reported: {seen:?}");
    }
    assert_eq!(cache.entry_count(), 0);
}

/// Each removal the fast engine reports on an insert has its cause: the
/// old value of a key written again `Replaced`, entries pushed out `Size`,
/// and a value too heavy for the cache written over a key `Size` while the
/// old value it displaced is `Replaced` (`quick_cache` reports all of them
/// through one hook; `Removals` tells them apart).
#[test]
fn each_removal_on_an_insert_has_its_cause() {
    let removed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&removed);
    let cache: MemoryCache<u32, u32> = fast()
        .max_weight(100, |_: &u32, v: &u32| *v)
        .eviction_listener(move |k: &u32, v: &u32, cause| {
            sink.lock().unwrap().push((*k, *v, cause));
        })
        .record_stats()
        .build()
        .unwrap();
    cache.insert(1, 10);
    cache.insert(1, 11);
    assert_eq!(
        std::mem::take(&mut *removed.lock().unwrap()),
        [(1, 10, RemovalCause::Replaced)]
    );
    for k in 2..30 {
        cache.insert(k, 10);
    }
    {
        let mut removed = removed.lock().unwrap();
        assert!(removed.len() >= 19, "{removed:?}");
        assert!(
            removed.iter().all(|r| r.2 == RemovalCause::Size),
            "{removed:?}"
        );
        removed.clear();
    }
    assert_eq!(cache.get(&29), Some(10));
    cache.insert(29, 1_000);
    assert_eq!(
        std::mem::take(&mut *removed.lock().unwrap()),
        [
            (29, 10, RemovalCause::Replaced),
            (29, 1_000, RemovalCause::Size)
        ]
    );
    assert_eq!(cache.get(&29), None);
    // One insert that pushes out several entries at once (past the two a
    // request holds without allocating), over a key it replaces.
    let before = cache.entry_count();
    cache.insert(28, 60);
    let removed = std::mem::take(&mut *removed.lock().unwrap());
    assert!(removed.len() >= 4, "{removed:?}");
    assert_eq!(removed[0], (28, 10, RemovalCause::Replaced), "{removed:?}");
    assert!(removed[1..].iter().all(|r| r.2 == RemovalCause::Size));
    assert_eq!(cache.entry_count(), before + 1 - removed.len() as u64);
    assert!(cache.weighted_size() <= 100, "{}", cache.weighted_size());
    let stats = cache.snapshot().unwrap();
    assert_eq!(stats.removals.get(RemovalCause::Replaced), 3);
}
