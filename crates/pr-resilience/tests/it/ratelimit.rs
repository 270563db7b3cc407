//! The limiters on a manual clock: never more than the quota plus the
//! burst over any window, a correct retry-after on every refusal, threads
//! sharing one limiter, keyed memory bounds, waiting on tokio's paused time.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_errors::CodedError;
use pr_resilience::Clock;
use pr_resilience::admission::Admission;
use pr_resilience::rate::{
    Denied, Gcra, KeyedLimiter, LeakyBucket, Quota, RateLimiter, SlidingWindowCounter,
    SlidingWindowLog, TokenBucket,
};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Gcra,
    Token,
    Leaky,
    Log,
    Window,
}

const KINDS: [Kind; 5] = [
    Kind::Gcra,
    Kind::Token,
    Kind::Leaky,
    Kind::Log,
    Kind::Window,
];

fn limiter(kind: Kind, quota: Quota, clock: &ManualClock) -> Box<dyn RateLimiter> {
    match kind {
        Kind::Gcra => Box::new(Gcra::with_clock(quota, clock.clock()).unwrap()),
        Kind::Token => Box::new(TokenBucket::with_clock(quota, clock.clock()).unwrap()),
        Kind::Leaky => Box::new(LeakyBucket::with_clock(quota, clock.clock()).unwrap()),
        Kind::Log => Box::new(SlidingWindowLog::with_clock(quota, clock.clock()).unwrap()),
        Kind::Window => Box::new(SlidingWindowCounter::with_clock(quota, clock.clock()).unwrap()),
    }
}

/// Whether `admitted` (time, permits) ever exceeds the limiter's bound
/// over a window of `period`.
fn check_bound(kind: Kind, quota: Quota, admitted: &[(u64, u32)]) -> Result<(), String> {
    let period = u64::try_from(quota.period().as_nanos()).unwrap();
    let interval = u64::try_from(quota.interval().as_nanos()).unwrap();
    for (i, &(start, _)) in admitted.iter().enumerate() {
        let in_window: u64 = admitted[i..]
            .iter()
            .take_while(|(t, _)| *t < start + period)
            .map(|(_, n)| u64::from(*n))
            .sum();
        let ok = match kind {
            // k * interval <= span + burst * interval, span < period.
            Kind::Gcra | Kind::Token | Kind::Leaky => {
                in_window * interval < period + u64::from(quota.burst()) * interval
                    || in_window <= u64::from(quota.burst())
            }
            Kind::Log => in_window <= u64::from(quota.permits()),
            Kind::Window => in_window <= 2 * u64::from(quota.permits()),
        };
        if !ok {
            return Err(format!(
                "{kind:?} admitted {in_window} in the window from {start} ns"
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_limiter_admits_more_than_its_quota_and_retry_after_is_exact(
        permits in 1_u32..20,
        burst in 1_u32..10,
        period_ms in 1_u64..2_000,
        ops in prop::collection::vec((0_u64..400, 1_u32..4, any::<bool>()), 1..300),
    ) {
        let quota = Quota::new(permits, Duration::from_millis(period_ms)).with_burst(burst);
        for kind in KINDS {
            let clock = ManualClock::new();
            let limiter = limiter(kind, quota, &clock);
            let mut admitted = Vec::new();
            for &(advance_ms, n, probe) in &ops {
                clock.advance(Duration::from_micros(advance_ms * 37));
                match limiter.check_n(n) {
                    Ok(()) => admitted.push((clock.clock().now_nanos(), n)),
                    Err(Denied::RetryAfter(wait)) => {
                        let wait = u64::try_from(wait.as_nanos()).unwrap();
                        prop_assert!(wait > 0, "{kind:?}: a refusal with no wait");
                        if probe {
                            // Not a nanosecond earlier, and exactly then.
                            clock.advance(Duration::from_nanos(wait - 1));
                            prop_assert!(limiter.peek_n(n).is_err(), "{kind:?}: passes before its retry-after");
                            clock.advance(Duration::from_nanos(1));
                            prop_assert_eq!(limiter.peek_n(n), Ok(()), "{:?}: refused at its retry-after", kind);
                            prop_assert_eq!(limiter.check_n(n), Ok(()));
                            admitted.push((clock.clock().now_nanos(), n));
                        }
                    }
                    Err(Denied::ExceedsBurst { requested, burst: b }) => {
                        prop_assert!(requested > b);
                    }
                    Err(other) => prop_assert!(false, "{other:?}"),
                }
            }
            if let Err(message) = check_bound(kind, quota, &admitted) {
                prop_assert!(false, "{}", message);
            }
        }
    }
}

#[test]
fn two_threads_on_one_limiter_admit_what_one_would() {
    let quota = Quota::per_second(1_000).with_burst(100);
    for kind in KINDS {
        let alone = {
            let clock = ManualClock::new();
            let limiter = limiter(kind, quota, &clock);
            let mut total = 0;
            for _ in 0..20 {
                total += (0..2_000).filter(|_| limiter.check().is_ok()).count();
                clock.advance(Duration::from_millis(37));
            }
            total
        };
        let clock = ManualClock::new();
        let shared: Arc<dyn RateLimiter> = Arc::from(limiter(kind, quota, &clock));
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = (0..2)
            .map(|id| {
                let (shared, barrier, clock) = (shared.clone(), barrier.clone(), clock.clone());
                std::thread::spawn(move || {
                    let mut admitted = 0;
                    for _ in 0..20 {
                        admitted += (0..1_000).filter(|_| shared.check().is_ok()).count();
                        barrier.wait();
                        if id == 0 {
                            clock.advance(Duration::from_millis(37));
                        }
                        barrier.wait();
                    }
                    admitted
                })
            })
            .collect();
        let together: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(together, alone, "{kind:?}");
    }
}

#[test]
fn a_million_keys_stay_within_the_maximum() {
    let clock = ManualClock::new();
    let keyed = KeyedLimiter::<u64>::builder(Quota::per_hour(10))
        .clock(clock.clock())
        .max_keys(10_000)
        .build()
        .unwrap();
    for key in 0..1_000_000_u64 {
        keyed.check_key(&key).unwrap();
        if key % 100_000 == 0 {
            clock.advance(Duration::from_millis(1));
            assert!(keyed.len() <= 10_000);
        }
    }
    assert!(keyed.len() <= keyed.max_keys(), "{}", keyed.len());
    assert!(
        keyed.len() >= 8_000,
        "evicts only what it must: {}",
        keyed.len()
    );
    assert!(
        keyed.capacity() <= 2 * keyed.max_keys(),
        "{}",
        keyed.capacity()
    );
    // The most recent keys are still limited.
    assert!(keyed.check_key_n(&999_999, 10).is_err());
}

#[test]
fn long_distinct_keys_stay_within_the_byte_bound() {
    // 10,000 distinct 4 KB keys (40 MB) against a 1 MiB bound.
    let keyed = KeyedLimiter::<String>::builder(Quota::per_hour(1))
        .clock(ManualClock::new().clock())
        .max_keys(100_000)
        .max_bytes(1 << 20)
        .weigher(|key: &String| key.len())
        .build()
        .unwrap();
    for n in 0..10_000 {
        let key = format!("{n:08}{}", "k".repeat(4_000));
        keyed.check_key(&key).unwrap();
        assert!(keyed.bytes() <= keyed.max_bytes(), "{}", keyed.bytes());
        // The key just seen is still limited.
        assert!(matches!(keyed.check_key(&key), Err(Denied::RetryAfter(_))));
    }
    // Each key owns 4,008 bytes: at most 261 of them fit in 1 MiB.
    assert!(
        keyed.len() <= (1 << 20) / 4_008,
        "{} keys held",
        keyed.len()
    );
    assert!(
        keyed.bytes() > (1 << 20) / 2,
        "evicts only what it must: {}",
        keyed.bytes()
    );
}

#[test]
fn a_key_heavier_than_a_shard_may_hold_is_refused_not_tracked() {
    let keyed = KeyedLimiter::<String>::builder(Quota::per_minute(100))
        .clock(ManualClock::new().clock())
        .max_bytes(64 * 1024)
        .shards(1)
        .weigher(|key: &String| key.len())
        .build()
        .unwrap();
    let huge = "x".repeat(100 * 1024);
    let denied = keyed.check_key(&huge).unwrap_err();
    assert!(
        matches!(denied, Denied::KeyTooLarge { max: 65_536, .. }),
        "{denied:?}"
    );
    assert_eq!(denied.retry_after(), None);
    assert!(keyed.is_empty());
    let error = pr_resilience::Error::from(denied);
    assert_eq!(
        CodedError::code(&error).as_str(),
        "resilience.rate_key_too_large"
    );
    assert!(!error.to_string().contains("xxxx"), "{error}");
    // A bound that cannot hold one entry per shard is a configuration error.
    let bad = KeyedLimiter::<String>::builder(Quota::per_minute(1))
        .max_bytes(8)
        .build()
        .unwrap_err();
    assert!(bad.to_string().contains("keyed.max_bytes"), "{bad}");
}

#[test]
fn keyed_bytes_match_the_keys_held_through_evictions_and_sweeps() {
    let clock = ManualClock::new();
    let entry = 100;
    let keyed = KeyedLimiter::<u64>::builder(Quota::per_second(1))
        .clock(clock.clock())
        .max_keys(1_000)
        .max_bytes(64 * 1024)
        .shards(4)
        .weigher(move |_| entry)
        .build()
        .unwrap();
    // Every key weighs the same: its entry plus the weigher's 100.
    keyed.check_key(&u64::MAX).unwrap();
    let per_key = keyed.bytes();
    assert!(per_key > entry, "{per_key}");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..20_000_u64 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let _ = keyed.check_key(&(seed % 5_000));
        if round % 997 == 0 {
            clock.advance(Duration::from_millis(700));
        }
        if round % 4_999 == 0 {
            let _ = keyed.sweep();
        }
        assert_eq!(keyed.bytes(), keyed.len() * per_key, "round {round}");
        assert!(keyed.bytes() <= keyed.max_bytes());
    }
}

#[test]
fn keyed_limits_each_key_apart() {
    let keyed = KeyedLimiter::<String>::builder(Quota::per_minute(2))
        .clock(ManualClock::new().clock())
        .build()
        .unwrap();
    keyed.check_key("a").unwrap();
    keyed.check_key("a").unwrap();
    assert_eq!(
        keyed.check_key("a"),
        Err(Denied::RetryAfter(Duration::from_secs(30)))
    );
    keyed.check_key("b").unwrap();
}

#[tokio::test(start_paused = true)]
async fn until_ready_waits_on_tokio_time() {
    let limiter = Gcra::with_clock(Quota::per_second(10).with_burst(1), Clock::tokio()).unwrap();
    let start = tokio::time::Instant::now();
    for _ in 0..5 {
        limiter.until_ready().await;
    }
    assert_eq!(start.elapsed(), Duration::from_millis(400));
    assert!(matches!(
        limiter.until_n_ready(2).await,
        Err(Denied::ExceedsBurst { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn leaky_bucket_releases_waiters_evenly_spaced() {
    let bucket =
        LeakyBucket::with_clock(Quota::per_second(20).with_burst(10), Clock::tokio()).unwrap();
    let start = tokio::time::Instant::now();
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let bucket = bucket.clone();
            tokio::spawn(async move {
                bucket.until_ready().await;
                start.elapsed()
            })
        })
        .collect();
    let mut released = Vec::new();
    for waiter in waiters {
        released.push(waiter.await.unwrap());
    }
    released.sort();
    let expected: Vec<_> = (0..5).map(|i| Duration::from_millis(50 * i)).collect();
    assert_eq!(released, expected);
}

#[test]
fn limiters_are_admission_stages_with_a_retry_after() {
    let gcra = Gcra::with_clock(Quota::per_second(1), ManualClock::new().clock()).unwrap();
    gcra.try_acquire().unwrap();
    let refused = gcra.try_acquire().unwrap_err();
    assert_eq!(refused.info().code.as_str(), "resilience.rate_limited");
    assert_eq!(refused.info().status.as_u16(), 429);
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_with_a_limiter_refuses_past_the_quota() {
    let clock = ManualClock::new();
    let limiter = Gcra::with_clock(Quota::per_second(2), clock.clock()).unwrap();
    let pipeline = pr_resilience::pipeline::Pipeline::standard("api")
        .admission(limiter.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        let answer: Result<u32, pr_resilience::CallError<pr_resilience::Error>> =
            pipeline.run(|| async { Ok(7) }).await;
        assert_eq!(answer.unwrap(), 7);
    }
    let refused = pipeline
        .run(|| async { Ok::<u32, pr_resilience::Error>(7) })
        .await
        .unwrap_err();
    let error = refused.rejection().unwrap();
    assert_eq!(error.info().code.as_str(), "resilience.rate_limited");
    assert_eq!(error.retry_after(), Some(Duration::from_millis(500)));
    clock.advance(Duration::from_millis(500));
    assert!(
        pipeline
            .run(|| async { Ok::<u32, pr_resilience::Error>(7) })
            .await
            .is_ok()
    );
}
