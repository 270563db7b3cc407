//! One `pr_core::time::ManualClock` drives a cache, a circuit breaker and a
//! rate limiter together: the toolkit has one clock, so a test that spans
//! crates moves time once.

use std::time::Duration;

use pr_cache::MemoryCache;
use pr_core::time::ManualClock;
use pr_resilience::breaker::{CallOutcome, CircuitBreaker, SlidingWindow, State};
use pr_resilience::rate::{Denied, Gcra, Quota, RateLimiter};

#[test]
fn one_manual_clock_moves_a_cache_a_breaker_and_a_limiter() {
    let manual = ManualClock::new();
    let cache: MemoryCache<&str, u32> = MemoryCache::builder()
        .max_entries(10)
        .time_to_live(Duration::from_secs(30))
        .clock(manual.clock())
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder("db")
        .sliding_window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .failure_rate_threshold(50.0)
        .wait_in_open(Duration::from_secs(10))
        .clock(manual.clock())
        .build()
        .unwrap();
    let limiter = Gcra::with_clock(Quota::per_minute(1), manual.clock()).unwrap();

    cache.insert("answer", 42);
    for _ in 0..2 {
        breaker.try_acquire().unwrap().record(CallOutcome::Failure);
    }
    limiter.check().unwrap();
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        limiter.check(),
        Err(Denied::RetryAfter(Duration::from_secs(60)))
    );

    manual.advance(Duration::from_secs(10));
    assert_eq!(cache.get(&"answer"), Some(42), "10 s of a 30 s TTL");
    assert!(breaker.peek().is_ok(), "the open wait is over");
    assert_eq!(
        limiter.check(),
        Err(Denied::RetryAfter(Duration::from_secs(50)))
    );

    manual.advance(Duration::from_secs(50));
    assert_eq!(cache.get(&"answer"), None, "expired on the same clock");
    limiter.check().unwrap();
    assert_eq!(manual.elapsed(), Duration::from_secs(60));
}
