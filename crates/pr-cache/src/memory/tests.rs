//! Unit tests of the memory cache's internals: the single-flight slots'
//! maps, and what the window's own loading keeps that moka's would not.

use super::*;

fn flights<K, V>(cache: &MemoryCache<K, V>) -> (usize, usize) {
    (
        lock(&cache.inner.flights).len(),
        lock(&cache.inner.sync_flights).len(),
    )
}

#[test]
fn single_flight_slots_leave_their_maps_on_return_panic_and_cancel() {
    let cache: MemoryCache<u32, u32> = MemoryCache::builder()
        .max_entries(100)
        .build()
        .expect("a cache");
    // Returned, sync through the window.
    assert_eq!(cache.get_or_insert_with_blocking(1, || 1), 1);
    assert_eq!(flights(&cache), (0, 0));
    // Panicked.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.get_or_insert_with_blocking(2, || panic!("loader bug"))
    }));
    assert!(panicked.is_err());
    assert_eq!(flights(&cache), (0, 0));
    // An async load cancelled after its first poll.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    {
        let mut load = std::pin::pin!(cache.get_or_insert_with(3, std::future::pending::<u32>));
        assert!(load.as_mut().poll(&mut cx).is_pending());
        assert_eq!(flights(&cache), (1, 0), "in progress");
    }
    assert_eq!(flights(&cache), (0, 0), "cancelled");
    // An async error: not kept.
    let mut failed =
        std::pin::pin!(cache.try_get_or_insert_with(4, || async { Err::<u32, &str>("down") }));
    assert!(matches!(
        failed.as_mut().poll(&mut cx),
        std::task::Poll::Ready(Err(_))
    ));
    assert_eq!(flights(&cache), (0, 0));
}

// The two tests below fail when the blocking loader of a windowed cache is
// moka's `entry().or_try_insert_with` (tried: 0 of the 10 keys kept; an
// `entry_count` of 2, and `Some(10)` after the spill), which is why
// `flight.rs` keeps its own slots there.

/// A loaded key waits in the window like an inserted one: a full cache of
/// keys read often does not reject it at the next maintenance. moka's
/// loader would insert it into moka, whose `TinyLFU` compares the new key
/// (asked for once) with a victim read eight times and rejects it.
#[test]
fn a_loaded_key_waits_in_the_window_instead_of_facing_admission() {
    let cache: MemoryCache<u32, u32> = MemoryCache::builder()
        .max_entries(1_000)
        .build()
        .expect("a cache");
    // 800 keys, moka's share of the bound, each read eight times: a window
    // hit moves a key on to moka, later reads raise its frequency there.
    for k in 0..800 {
        cache.insert(k, k);
    }
    for _ in 0..8 {
        for k in 0..800 {
            let _ = cache.get(&k);
        }
    }
    cache.run_pending_tasks();
    for k in 10_000..10_010 {
        assert_eq!(cache.get_or_insert_with_blocking(k, || k), k);
    }
    cache.run_pending_tasks();
    let kept = (10_000..10_010).filter(|k| cache.get(k).is_some()).count();
    assert_eq!(kept, 10, "loaded keys kept");
}

/// An insert of a key while it loads (made here by the loader itself, as
/// another thread could) and the load's store meet under the window's lock:
/// the loaded value replaces the insert, the key is held once, and a spill
/// out of the window never brings the replaced value back. moka's loader
/// would put its value in moka beside the insert in the window.
#[test]
fn a_load_racing_an_insert_leaves_one_entry() {
    let cache: MemoryCache<u32, u32> = MemoryCache::builder()
        .max_entries(100)
        .build()
        .expect("a cache");
    let loaded = cache.get_or_insert_with_blocking(1, || {
        cache.insert(1, 10);
        20
    });
    assert_eq!(loaded, 20);
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 1, "the key is held once");
    assert_eq!(cache.get(&1), Some(20));
    // Twenty new keys push the window (20 entries) over, spilling into moka
    // whatever it holds of key 1.
    for k in 100..120 {
        cache.insert(k, k);
    }
    assert_ne!(cache.get(&1), Some(10), "the replaced value came back");
}
