//! The distributed limiters against a real `redis-server` on a free
//! loopback port: two clients share one limit; with Redis stopped, fail
//! open and fail closed do what they say; the breaker recovers.

use std::time::Duration;

use pr_core::time::ManualClock;
use pr_errors::CodedError;
use pr_resilience::Error;
use pr_resilience::rate::{FailurePolicy, Quota, RedisAlgorithm, RedisLimiter};
use pr_test_support::RedisServer;

/// Two limiters (two connections) hammer one key together.
async fn shared_total(algorithm: RedisAlgorithm, url: &str, prefix: &str) -> u64 {
    let quota = Quota::per_hour(1_000);
    let build = || {
        RedisLimiter::builder(url, quota)
            .algorithm(algorithm)
            .prefix(prefix)
            .on_failure(FailurePolicy::FailClosed)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    let clients = [build(), build()];
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|limiter| {
            tokio::spawn(async move {
                let mut admitted = 0_u64;
                for _ in 0..800 {
                    match limiter.check_key("shared").await {
                        Ok(()) => admitted += 1,
                        Err(Error::RateLimited { retry_after }) => {
                            assert!(retry_after > Duration::ZERO);
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
                admitted
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_share_one_limit_within_two_percent() {
    let server = RedisServer::start();
    for (algorithm, prefix) in [
        (RedisAlgorithm::Gcra, "gcra:"),
        (RedisAlgorithm::SlidingWindow, "window:"),
    ] {
        let total = shared_total(algorithm, &server.url(), prefix).await;
        assert!(
            (1_000..=1_020).contains(&total),
            "{algorithm:?}: {total} admitted for a quota of 1,000"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_and_peek_and_burst() {
    let server = RedisServer::start();
    let limiter = RedisLimiter::builder(server.url(), Quota::per_minute(2))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    limiter.peek_key("k").await.unwrap();
    limiter.check_key_n("k", 2).await.unwrap();
    let refused = limiter.check_key("k").await.unwrap_err();
    assert_eq!(refused.info().code.as_str(), "resilience.rate_limited");
    let wait = refused.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    assert!(limiter.peek_key("k").await.is_err());
    assert!(matches!(
        limiter.check_key_n("k", 3).await,
        Err(Error::ExceedsBurst {
            requested: 3,
            burst: 2
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_fail_open_admits_and_fail_closed_refuses() {
    let mut server = RedisServer::start();
    let clock = ManualClock::new();
    let build = |policy| {
        RedisLimiter::builder(server.url(), Quota::per_hour(1))
            .on_failure(policy)
            .breaker(2, Duration::from_secs(10))
            .clock(clock.clock())
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let open = build(FailurePolicy::FailOpen);
    let closed = build(FailurePolicy::FailClosed);
    open.check_key("a").await.unwrap();
    assert!(
        open.check_key("a").await.is_err(),
        "Redis enforces the limit"
    );
    closed.check_key("b").await.unwrap();
    server.kill();

    for _ in 0..5 {
        assert!(open.check_key("a").await.is_ok(), "fails open");
        let refused = closed.check_key("b").await.unwrap_err();
        assert_eq!(
            refused.info().code.as_str(),
            "resilience.limiter_unavailable"
        );
        assert_eq!(refused.info().status.as_u16(), 503);
        assert!(refused.retry_after().is_some());
    }
    assert!(open.breaker_open() && closed.breaker_open());

    // Redis back on the same port; after the cooldown a probe closes the
    // breaker and the limit (kept nowhere: a fresh server) applies again.
    server.restart();
    assert!(closed.check_key("b").await.is_err(), "breaker still open");
    clock.advance(Duration::from_secs(10));
    closed.check_key("b").await.unwrap();
    assert!(!closed.breaker_open());
    assert!(matches!(
        closed.check_key("b").await,
        Err(Error::RateLimited { .. })
    ));
}

#[cfg(feature = "tower")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_layer_limits_through_redis_and_answers_503_when_it_fails_closed() {
    use crate::layer::{get, serve_with};
    use pr_resilience::rate::OnLimit;

    let mut redis = RedisServer::start();
    let limiter = RedisLimiter::builder(redis.url(), Quota::per_hour(1))
        .on_failure(FailurePolicy::FailClosed)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (base, server) = serve_with(limiter, OnLimit::Reject).await;
    assert_eq!(get(base.clone(), "alice").await.0, 200);
    let (status, retry_after, _) = get(base.clone(), "alice").await;
    assert_eq!(status, 429);
    let seconds: u64 = retry_after.unwrap().parse().unwrap();
    assert!((3_590..=3_600).contains(&seconds), "{seconds}");
    redis.kill();
    let (status, retry_after, _) = get(base, "bob").await;
    assert_eq!(status, 503);
    assert_eq!(retry_after.as_deref(), Some("1"));
    server.abort();
}

/// A password in the URL never shows in a `Debug` output or an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_stays_out_of_debug_and_errors() {
    let url = "redis://user:hunter2-secret@127.0.0.1:1/";
    let builder = RedisLimiter::builder(url, Quota::per_second(10))
        .on_failure(FailurePolicy::FailClosed)
        .timeout(Duration::from_millis(200));
    assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
    let limiter = builder.build().unwrap();
    assert!(!format!("{limiter:?}").contains("hunter2"), "{limiter:?}");
    // Nothing listens on port 1: fail closed, with the reason.
    let e = limiter.check_key("k").await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
}

/// Redis killed and restarted on the same port: while it is down the
/// limiter fails closed (and its health check is Degraded); once it is back
/// the same limiter, without a restart, reaches the new server within the
/// reconnection back-off (a generous deadline, not a timing claim), and
/// the check is Up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_reconnects_after_redis_restarts() {
    let mut server = RedisServer::start();
    let clock = ManualClock::new();
    let limiter = RedisLimiter::builder(server.url(), Quota::per_hour(1))
        .on_failure(FailurePolicy::FailClosed)
        .breaker(3, Duration::from_secs(1))
        .clock(clock.clock())
        .timeout(Duration::from_secs(2))
        .reconnect_max_delay(Duration::from_millis(200))
        .build()
        .unwrap();
    #[cfg(feature = "health")]
    let check = limiter.health_check();
    #[cfg(feature = "health")]
    assert_eq!(
        pr_health::Check::check(&check).await.status(),
        pr_health::Status::Up
    );
    limiter.check_key("a").await.unwrap();
    server.kill();

    let refused = limiter.check_key("b").await.unwrap_err();
    assert_eq!(
        refused.info().code.as_str(),
        "resilience.limiter_unavailable"
    );
    #[cfg(feature = "health")]
    {
        let outcome = pr_health::Check::check(&check).await;
        assert_eq!(outcome.status(), pr_health::Status::Degraded, "{outcome:?}");
        assert!(
            outcome.message().unwrap().contains("unreachable"),
            "{outcome:?}"
        );
    }

    server.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut refusals = 0;
    loop {
        // Past any breaker cooldown: each round may probe.
        clock.advance(Duration::from_secs(1));
        match limiter.check_key("a").await {
            Ok(()) => break,
            Err(Error::LimiterUnavailable { .. }) => {
                refusals += 1;
                assert!(
                    std::time::Instant::now() < deadline,
                    "not reconnected after {refusals} tries"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("{other}"),
        }
    }
    // The new server (empty) holds the limit again.
    assert!(matches!(
        limiter.check_key("a").await,
        Err(Error::RateLimited { .. })
    ));
    #[cfg(feature = "health")]
    assert_eq!(
        pr_health::Check::check(&check).await.status(),
        pr_health::Status::Up
    );
}

#[test]
fn a_reconnect_delay_under_the_first_back_off_is_invalid() {
    let error = RedisLimiter::builder("redis://127.0.0.1:1/", Quota::per_second(1))
        .reconnect_max_delay(Duration::from_millis(10))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("reconnect_max_delay"), "{error}");
}
