//! The window of the default policy against moka behind it: races between
//! inserts, invalidations and spills, a listener that calls back into the
//! cache, and the builder's default being that policy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use pr_cache::{MemoryCache, RemovalCause};

use crate::trace::{self, Trace};

const THREADS: u64 = 4;
const ROUNDS: u64 = 20_000;

/// Each thread owns its keys; all threads churn one small bounded cache so
/// that entries keep spilling from the window into moka. After a thread's
/// insert its get sees that value or a miss (an eviction), never an older
/// one; after its invalidation, a miss.
#[test]
fn an_insert_or_invalidate_is_never_undone_by_a_spill() {
    let cache: MemoryCache<(u64, u64), u64> =
        MemoryCache::builder().max_entries(50).build().unwrap();
    let stale = AtomicU64::new(0);
    let resurrected = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (cache, stale, resurrected) = (&cache, &stale, &resurrected);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let key = (t, i % 8);
                    cache.insert(key, i);
                    if let Some(v) = cache.get(&key)
                        && v != i
                    {
                        stale.fetch_add(1, Ordering::Relaxed);
                    }
                    // Churn: one-off keys push the window over.
                    cache.insert((t + 100, i), i);
                    if i % 3 == 0 {
                        cache.invalidate(&key);
                        if cache.get(&key).is_some() {
                            resurrected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        stale.load(Ordering::Relaxed),
        0,
        "a get returned an older value"
    );
    assert_eq!(
        resurrected.load(Ordering::Relaxed),
        0,
        "an invalidated key came back"
    );
}

/// Size evictions and replacements are reported while the cache moves
/// entries between the window and moka; the listener may use the cache.
#[test]
fn a_listener_may_call_back_into_the_cache() {
    let slot: Arc<OnceLock<MemoryCache<u64, u64>>> = Arc::new(OnceLock::new());
    let seen = Arc::new(AtomicU64::new(0));
    let cache: MemoryCache<u64, u64> = {
        let slot = Arc::clone(&slot);
        let seen = Arc::clone(&seen);
        MemoryCache::builder()
            .max_entries(20)
            .eviction_listener(move |k: &u64, _: &u64, cause| {
                if let Some(cache) = slot.get() {
                    // A window lookup, an insert and a count: each takes the
                    // window's lock.
                    let _ = cache.get(&(k + 1_000_000));
                    if cause == RemovalCause::Replaced && *k < 1_000_000 {
                        cache.insert(k + 2_000_000, 0);
                    }
                    let _ = cache.entry_count();
                }
                seen.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap()
    };
    slot.set(cache.clone()).unwrap();
    for i in 0..2_000 {
        cache.insert(i, i);
        cache.insert(i, i + 1);
        let _ = cache.get(&i);
    }
    cache.run_pending_tasks();
    assert!(
        seen.load(Ordering::Relaxed) >= 2_000,
        "every replacement is reported"
    );
    assert!(cache.entry_count() <= 40);
}

/// `MemoryCache::builder()` without `.policy(..)` is the window policy: on
/// the trace it beats exact LRU where moka's `TinyLFU` alone does not.
#[test]
fn the_builders_default_is_the_window_policy() {
    let keys = trace::load_trace(Trace::Oltp, 120_000);
    for capacity in [256_u64, 2000] {
        let cache: MemoryCache<u64, ()> = MemoryCache::builder()
            .max_entries(capacity)
            .build()
            .unwrap();
        let mut hits = 0;
        for &key in &keys {
            if cache.get(&key).is_some() {
                hits += 1;
            } else {
                cache.insert(key, ());
            }
        }
        let lru = trace::lru_hits(&keys, usize::try_from(capacity).unwrap());
        assert!(
            hits >= lru,
            "capacity {capacity}: default {hits} < LRU {lru}"
        );
    }
}

/// A window entry read again moves to moka: its later reads cost a moka
/// get; the entry count stays exact.
#[test]
fn a_window_hit_moves_the_entry_to_moka_and_counts_stay_exact() {
    let cache: MemoryCache<u64, u64> = MemoryCache::builder().max_entries(100).build().unwrap();
    for i in 0..10 {
        cache.insert(i, i);
    }
    for i in 0..10 {
        assert_eq!(cache.get(&i), Some(i));
        assert_eq!(cache.get(&i), Some(i));
    }
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 10);
    assert_eq!(cache.invalidate_if(|k, _| k % 2 == 0), 5);
    cache.invalidate_all();
    cache.run_pending_tasks();
    assert!((0..10).all(|i| cache.get(&i).is_none()));
}

/// Sizing the window cannot overflow, whatever the bound; a manual clock
/// advanced past its range stays at its end instead of wrapping.
#[test]
fn extreme_bounds_and_clock_advances_are_safe() {
    for bound in [5, 99, 101, u64::MAX / 20, u64::MAX] {
        let cache: MemoryCache<u64, u64> =
            MemoryCache::builder().max_entries(bound).build().unwrap();
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), Some(1), "bound {bound}");
    }
    let clock = pr_core::time::ManualClock::new();
    let start = clock.clock().elapsed();
    clock.advance(std::time::Duration::MAX);
    let far = clock.clock().elapsed();
    clock.advance(std::time::Duration::MAX);
    assert!(far > start);
    assert_eq!(clock.clock().elapsed(), far, "saturated, not wrapped");
    // A cache on the saturated clock still stores and expires entries.
    let cache: MemoryCache<u64, u64> = MemoryCache::builder()
        .max_entries(10)
        .time_to_live(std::time::Duration::from_secs(1))
        .clock(clock.clock())
        .build()
        .unwrap();
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
}
