//! Unit tests of the limiters' arithmetic on a manual clock.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use std::time::Duration;

use super::*;
use pr_core::time::ManualClock;

#[test]
fn quota_reads_as_written() {
    let q = Quota::per_second(100);
    assert_eq!((q.permits(), q.burst()), (100, 100));
    assert_eq!(q.interval(), Duration::from_millis(10));
    assert_eq!(Quota::per_minute(60).interval(), Duration::from_secs(1));
    assert_eq!(Quota::per_hour(1).interval(), Duration::from_secs(3600));
}

#[test]
fn invalid_quotas_are_coded_errors() {
    for quota in [
        Quota::per_second(0),
        Quota::per_second(5).with_burst(0),
        Quota::new(10, Duration::from_nanos(5)),
        Quota::new(1, Duration::from_secs(u64::MAX)),
    ] {
        let error = Gcra::new(quota).unwrap_err();
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error}");
    }
}

#[test]
fn gcra_burst_then_steady_rate() {
    let clock = ManualClock::new();
    let gcra = Gcra::with_clock(Quota::per_second(10).with_burst(3), clock.clock()).unwrap();
    for _ in 0..3 {
        gcra.check().unwrap();
    }
    assert_eq!(
        gcra.check(),
        Err(Denied::RetryAfter(Duration::from_millis(100)))
    );
    clock.advance(Duration::from_millis(99));
    assert_eq!(
        gcra.peek(),
        Err(Denied::RetryAfter(Duration::from_millis(1)))
    );
    clock.advance(Duration::from_millis(1));
    gcra.check().unwrap();
    assert_eq!(
        gcra.check_n(4),
        Err(Denied::ExceedsBurst {
            requested: 4,
            burst: 3
        })
    );
    assert_eq!(gcra.check_n(0), Ok(()));
}

#[test]
fn clones_share_state() {
    let gcra = Gcra::with_clock(Quota::per_second(1), ManualClock::new().clock()).unwrap();
    let other = gcra.clone();
    gcra.check().unwrap();
    assert!(other.check().is_err());
}

#[test]
fn token_bucket_refills_and_caps() {
    let clock = ManualClock::new();
    let bucket = TokenBucket::with_clock(Quota::per_second(4), clock.clock()).unwrap();
    assert_eq!(bucket.available(), 4);
    bucket.check_n(4).unwrap();
    assert_eq!(
        bucket.check(),
        Err(Denied::RetryAfter(Duration::from_millis(250)))
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(bucket.available(), 4);
}

#[test]
fn leaky_bucket_spaces_output() {
    let clock = ManualClock::new();
    let bucket =
        LeakyBucket::with_clock(Quota::per_second(10).with_burst(2), clock.clock()).unwrap();
    bucket.check().unwrap();
    assert_eq!(
        bucket.check(),
        Err(Denied::RetryAfter(Duration::from_millis(100)))
    );
    assert_eq!(bucket.reserve_n(1), Ok(Duration::from_millis(100)));
    assert_eq!(
        bucket.reserve_n(1),
        Err(Denied::RetryAfter(Duration::from_millis(100)))
    );
}

#[test]
fn sliding_window_counter_weights_the_previous_window() {
    let clock = ManualClock::new();
    let window = SlidingWindowCounter::with_clock(Quota::per_second(10), clock.clock()).unwrap();
    window.check_n(10).unwrap();
    let Err(Denied::RetryAfter(wait)) = window.check() else {
        panic!("denied")
    };
    // In the next window at 0.1 s, 9 of the 10 still count: 9 + 1 <= 10.
    assert_eq!(wait, Duration::from_millis(1100));
    clock.advance(wait);
    window.check().unwrap();
}

#[test]
fn sliding_log_frees_oldest_first() {
    let clock = ManualClock::new();
    let log = SlidingWindowLog::with_clock(Quota::per_second(3), clock.clock()).unwrap();
    log.check().unwrap();
    clock.advance(Duration::from_millis(100));
    log.check_n(2).unwrap();
    assert_eq!(
        log.check(),
        Err(Denied::RetryAfter(Duration::from_millis(900)))
    );
    assert_eq!(
        log.check_n(3),
        Err(Denied::RetryAfter(Duration::from_millis(1000)))
    );
}

#[test]
fn keyed_sweeps_replenished_keys() {
    let clock = ManualClock::new();
    let keyed = KeyedLimiter::<u64>::builder(Quota::per_second(1))
        .clock(clock.clock())
        .max_keys(100)
        .build()
        .unwrap();
    for key in 0..50 {
        keyed.check_key(&key).unwrap();
        assert!(keyed.check_key(&key).is_err());
    }
    assert_eq!(keyed.sweep(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(keyed.sweep(), 50);
    assert!(keyed.is_empty());
    assert!(keyed.peek_key(&7).is_ok());
    assert!(keyed.is_empty(), "peek adds no key");
}

#[test]
fn window_counter_survives_a_reading_older_than_its_window() {
    // Thread A reads 999_999_999, thread B reads 1_000_000_000 and moves
    // the window on first; then A decides with its older reading.
    let window =
        SlidingWindowCounter::with_clock(Quota::per_second(2), ManualClock::new().clock()).unwrap();
    window.decide_at(1, true, 1_000_000_000).unwrap();
    window.decide_at(1, true, 999_999_999).unwrap();
    assert!(matches!(
        window.decide_at(1, true, 1_000_000_001),
        Err(Denied::RetryAfter(_))
    ));
}

#[test]
fn a_keyed_limiter_s_snapshot_counts_keys_and_refusals() {
    let manual = ManualClock::new();
    let limiter = KeyedLimiter::<String>::builder(Quota::per_second(1))
        .name("clients")
        .max_keys(64)
        .weigher(|key: &String| key.len())
        .clock(manual.clock())
        .build()
        .unwrap();
    assert_eq!(limiter.name(), "clients");
    assert!(limiter.check_key("alice").is_ok());
    assert!(limiter.check_key("alice").is_err());
    assert!(limiter.peek_key("alice").is_err(), "a peek refuses nothing");
    assert!(limiter.check_key("bob").is_ok());
    let snapshot = limiter.snapshot();
    assert_eq!(
        (
            snapshot.permits,
            snapshot.burst,
            snapshot.keys,
            snapshot.refused
        ),
        (1, 1, 2, 1)
    );
    assert_eq!(snapshot.bytes, limiter.bytes());
    assert_eq!(snapshot.max_keys, 64);
    let shown = serde_json::to_value(snapshot).unwrap();
    assert_eq!(shown["period"], "1s");
    assert_eq!(
        KeyedLimiter::<u32>::builder(Quota::per_second(1))
            .build()
            .unwrap()
            .name(),
        "keyed"
    );
}
