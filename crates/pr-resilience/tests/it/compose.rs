//! Fallback, hedging, failover and the keyed registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_resilience::breaker::{BreakerRegistry, CircuitBreaker, SlidingWindow, State};
use pr_resilience::failover::Failover;
use pr_resilience::fallback::Fallback;
use pr_resilience::hedge::{Hedge, HedgeMode};
use pr_resilience::retry::RetryBudget;
use pr_resilience::{CallError, Error};

fn transient(name: &str) -> Error {
    Error::Rejected {
        name: name.into(),
        retry_after: None,
    }
}

/// Counts futures dropped before they completed.
struct Cancelled(Arc<AtomicU32>, bool);

impl Drop for Cancelled {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn attempt(
    attempt: u32,
    wait_ms: u64,
    outcome: Result<u32, Error>,
    cancelled: Arc<AtomicU32>,
) -> Result<u32, Error> {
    let mut guard = Cancelled(cancelled, false);
    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    guard.1 = true;
    outcome.map(|_| attempt)
}

#[tokio::test(start_paused = true)]
async fn latency_hedging_returns_the_fastest_and_cancels_the_rest() {
    let cancelled = Arc::new(AtomicU32::new(0));
    let hedge = Hedge::new(HedgeMode::Latency(Duration::from_millis(100)), 3).unwrap();
    let start = tokio::time::Instant::now();
    let waits = [1_000, 500, 50, 10];
    let answer = hedge
        .run(|n| attempt(n, waits[n as usize], Ok(0), Arc::clone(&cancelled)))
        .await;
    // Primary at 0, hedge 1 at 100 ms, hedge 2 at 200 ms answering at 250 ms.
    assert_eq!(answer.unwrap(), 2);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        2,
        "primary and hedge 1 cancelled"
    );
}

#[test]
fn hedge_counts_are_bounded() {
    for bad in [0, 11, u32::MAX] {
        let error = Hedge::new(HedgeMode::Parallel, bad).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidConfig { ref problems } if problems[0].key == "hedge.max_hedges"
            ),
            "{error}"
        );
    }
    assert!(Hedge::new(HedgeMode::Sequential, 10).is_ok());
}

#[tokio::test(start_paused = true)]
async fn parallel_hedging_starts_everything_at_once() {
    let cancelled = Arc::new(AtomicU32::new(0));
    let started = AtomicU32::new(0);
    let hedge = Hedge::new(HedgeMode::Parallel, 2).unwrap();
    let waits = [300, 200, 100];
    let answer = hedge
        .run(|n| {
            started.fetch_add(1, Ordering::SeqCst);
            attempt(n, waits[n as usize], Ok(0), Arc::clone(&cancelled))
        })
        .await;
    assert_eq!(answer.unwrap(), 2);
    assert_eq!(started.load(Ordering::SeqCst), 3);
    assert_eq!(cancelled.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn sequential_hedging_moves_on_only_after_a_failure_and_returns_the_primary_error() {
    let cancelled = Arc::new(AtomicU32::new(0));
    let started = AtomicU32::new(0);
    let hedge = Hedge::new(HedgeMode::Sequential, 2).unwrap();
    let start = tokio::time::Instant::now();
    let answer = hedge
        .run(|n| {
            started.fetch_add(1, Ordering::SeqCst);
            attempt(
                n,
                100,
                Err(transient(&format!("attempt {n}"))),
                Arc::clone(&cancelled),
            )
        })
        .await;
    assert_eq!(
        answer.unwrap_err(),
        transient("attempt 0"),
        "the primary's error"
    );
    assert_eq!(started.load(Ordering::SeqCst), 3);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(300),
        "one after another"
    );
}

#[tokio::test(start_paused = true)]
async fn hedges_take_tokens_from_the_shared_budget() {
    let cancelled = Arc::new(AtomicU32::new(0));
    let budget = RetryBudget::new(1, 0.0).unwrap();
    let started = AtomicU32::new(0);
    let hedge = Hedge::new(HedgeMode::Parallel, 5)
        .unwrap()
        .budget(budget.clone());
    let _ = hedge
        .run(|n| {
            started.fetch_add(1, Ordering::SeqCst);
            attempt(n, 10, Ok(0), Arc::clone(&cancelled))
        })
        .await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        2,
        "the primary and one hedge"
    );
    assert!(budget.snapshot().available < 1.0);
}

#[tokio::test]
async fn failover_skips_open_providers_and_shares_a_budget() {
    let clock = ManualClock::new();
    let breaker = |name: &str| {
        CircuitBreaker::builder(name)
            .sliding_window(SlidingWindow::Count(1))
            .minimum_calls(1)
            .wait_in_open(Duration::from_secs(30))
            .clock(clock.clock())
            .build()
            .unwrap()
    };
    let (a, b, c) = (breaker("a"), breaker("b"), breaker("c"));
    let chain = Failover::new("chain")
        .provider("a", a.clone())
        .provider("b", b.clone())
        .provider("c", c.clone());
    let called = std::sync::Mutex::new(Vec::new());
    let answer = chain
        .run(|name: &str| {
            called.lock().unwrap().push(name.to_owned());
            let name = name.to_owned();
            async move { if name == "c" { Ok(name) } else { Err(name) } }
        })
        .await;
    assert_eq!(answer.unwrap(), "c");
    assert_eq!(a.state(), State::Open);
    assert_eq!(b.state(), State::Open);
    called.lock().unwrap().clear();
    let answer = chain
        .run(|name: &str| {
            called.lock().unwrap().push(name.to_owned());
            let name = name.to_owned();
            async move { Ok::<_, String>(name) }
        })
        .await;
    assert_eq!(answer.unwrap(), "c");
    assert_eq!(
        *called.lock().unwrap(),
        vec!["c".to_owned()],
        "open providers are skipped"
    );
    c.force_open();
    let refused = chain.run(|_: &str| async { Ok::<_, String>(()) }).await;
    let Err(CallError::Rejected(Error::NoProvider { retry_after, .. })) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(retry_after, Duration::from_secs(30));

    // A budget of one token: after the first failure, one move only.
    let budget = RetryBudget::new(1, 0.0).unwrap();
    let fresh = |name: &str| CircuitBreaker::builder(name).build().unwrap();
    let chain = Failover::new("budgeted")
        .provider("x", fresh("x"))
        .provider("y", fresh("y"))
        .provider("z", fresh("z"))
        .budget(budget);
    let calls = AtomicU32::new(0);
    let answer = chain
        .run(|name: &str| {
            calls.fetch_add(1, Ordering::SeqCst);
            let name = name.to_owned();
            async move { Err::<(), _>(name) }
        })
        .await;
    assert_eq!(answer.unwrap_err(), CallError::Inner("y".to_owned()));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn fallback_value_and_function() {
    let fallback = Fallback::value(0);
    assert_eq!(fallback.call(async { Err::<i32, _>("down") }).await, Ok(0));
    assert_eq!(fallback.call(async { Ok::<_, &str>(5) }).await, Ok(5));
    let by_error = Fallback::from_fn(|error: &Error| match error {
        Error::CircuitOpen { .. } => Some("stale"),
        _ => None,
    });
    let open = Error::CircuitOpen {
        name: "x".into(),
        retry_after: Duration::ZERO,
    };
    assert_eq!(by_error.apply(Err(open)), Ok("stale"));
    assert!(by_error.apply(Err(transient("y"))).is_err());
}

#[test]
fn registry_is_bounded_and_evicts_idle_then_closed_breakers() {
    let clock = ManualClock::new();
    let template = CircuitBreaker::builder("host")
        .sliding_window(SlidingWindow::Count(1))
        .minimum_calls(1)
        .clock(clock.clock());
    let registry =
        BreakerRegistry::with_clock(template, 2, Duration::from_secs(60), clock.clock()).unwrap();
    let a = registry.get(&"a");
    assert_eq!(a.name(), "host:a");
    a.force_open();
    clock.advance(Duration::from_secs(10));
    let b = registry.get(&"b");
    assert!(registry.get(&"b").name() == b.name());
    clock.advance(Duration::from_secs(10));
    // Full: no breaker idle yet, so the least recently used closed one goes (b), not open a.
    let _c = registry.get(&"c");
    assert_eq!(registry.len(), 2);
    assert!(registry.find(&"a").is_some());
    assert!(registry.find(&"b").is_none());
    // Same key, same shared breaker.
    assert_eq!(registry.get(&"a").state(), State::ForcedOpen);
    clock.advance(Duration::from_secs(61));
    let _d = registry.get(&"d");
    assert_eq!(registry.len(), 1, "idle breakers evicted");
    assert!(
        BreakerRegistry::<String>::new(CircuitBreaker::builder("x"), 0, Duration::ZERO).is_err()
    );
}
