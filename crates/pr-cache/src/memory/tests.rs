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
