//! Retry: backoff sequences on a manual clock and on tokio's paused time,
//! predicates, retry-after, the hook and the shared budget.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_resilience::retry::{Backoff, Jitter, Retry, RetryBudget, RetryEvent};
use pr_resilience::{Clock, Error};

fn transient() -> Error {
    Error::Rejected {
        name: "upstream".into(),
        retry_after: None,
    }
}

fn recorded(retry: pr_resilience::retry::RetryBuilder) -> (Retry, Arc<Mutex<Vec<Duration>>>) {
    let delays = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&delays);
    let retry = retry
        .on_retry(move |event: &RetryEvent<'_>| sink.lock().unwrap().push(event.delay))
        .build()
        .unwrap();
    (retry, delays)
}

#[test]
fn exponential_linear_constant_sequences_with_max_delay() {
    let ms = Duration::from_millis;
    for (backoff, expected) in [
        (Backoff::Constant(ms(100)), vec![ms(100); 4]),
        (
            Backoff::Linear(ms(100)),
            vec![ms(100), ms(200), ms(300), ms(400)],
        ),
        (
            Backoff::Exponential {
                base: ms(100),
                factor: 2.0,
            },
            vec![ms(100), ms(200), ms(400), ms(500)],
        ),
    ] {
        let clock = ManualClock::new();
        let (retry, delays) = recorded(
            Retry::builder()
                .backoff(backoff)
                .jitter(Jitter::None)
                .max_retries(4)
                .max_delay(Some(ms(500)))
                .clock(clock.clock()),
        );
        let mut calls = 0;
        let outcome: Result<(), Error> = retry.run_blocking(|| {
            calls += 1;
            Err(transient())
        });
        assert!(outcome.is_err());
        assert_eq!(calls, 5, "{backoff:?}");
        assert_eq!(*delays.lock().unwrap(), expected, "{backoff:?}");
        assert_eq!(clock.elapsed(), expected.iter().sum::<Duration>());
    }
}

#[test]
fn jitter_stays_in_its_range() {
    let base = Duration::from_millis(1000);
    for (jitter, low) in [(Jitter::Full, Duration::ZERO), (Jitter::Equal, base / 2)] {
        let retry = Retry::builder()
            .backoff(Backoff::Constant(base))
            .jitter(jitter)
            .max_retries(200)
            .build()
            .unwrap();
        let delays = retry.delays(200);
        assert!(delays.iter().all(|d| *d >= low && *d <= base), "{jitter:?}");
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 150, "{jitter:?} is not random");
    }
}

#[test]
fn decorrelated_jitter_grows_and_is_capped() {
    let retry = Retry::builder()
        .backoff(Backoff::DecorrelatedJitter(Duration::from_millis(100)))
        .max_retries(30)
        .max_delay(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    for _ in 0..50 {
        let delays = retry.delays(30);
        assert_eq!(delays.len(), 30);
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(10)));
        // Polly's V2 formula: the sum of the first n waits is about
        // median × 2^n / 1.4 (between the bounds of t ∈ [n-1, n]).
        let first_five: Duration = delays[..5].iter().sum();
        assert!(
            first_five >= Duration::from_millis(100 * 16 / 2)
                && first_five <= Duration::from_millis(100 * 32)
        );
        assert_eq!(delays[29], Duration::from_secs(10));
    }
}

#[tokio::test(start_paused = true)]
async fn async_closure_borrows_mutable_state_on_paused_time() {
    let retry = Retry::builder()
        .backoff(Backoff::Exponential {
            base: Duration::from_secs(1),
            factor: 2.0,
        })
        .jitter(Jitter::None)
        .max_retries(5)
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let mut log = Vec::new();
    let outcome = retry
        .run_mut(async || {
            log.push(start.elapsed());
            if log.len() < 4 {
                Err(transient())
            } else {
                Ok(log.len())
            }
        })
        .await;
    assert_eq!(outcome.unwrap(), 4);
    let s = Duration::from_secs;
    assert_eq!(log, vec![s(0), s(1), s(3), s(7)]);
}

#[tokio::test(start_paused = true)]
async fn server_retry_after_wins_and_permanent_errors_stop() {
    let retry = Retry::builder()
        .backoff(Backoff::Constant(Duration::from_millis(10)))
        .jitter(Jitter::None)
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let mut calls = 0;
    let outcome = retry
        .run_mut(async || {
            calls += 1;
            if calls == 1 {
                Err(Error::Rejected {
                    name: "server".into(),
                    retry_after: Some(Duration::from_secs(7)),
                })
            } else {
                Ok(())
            }
        })
        .await;
    assert!(outcome.is_ok());
    assert_eq!(start.elapsed(), Duration::from_secs(7));

    let mut calls = 0;
    let outcome: Result<(), Error> = retry
        .run_mut(async || {
            calls += 1;
            Err(Error::InvalidConfig {
                problems: vec![pr_core::validate::Violation::new("x", "bad")],
            })
        })
        .await;
    assert!(outcome.is_err());
    assert_eq!(calls, 1, "a permanent error is not retried");
}

#[test]
fn predicates_on_errors_and_results() {
    let clock = ManualClock::new();
    let retry = Retry::builder()
        .clock(clock.clock())
        .max_retries(3)
        .build()
        .unwrap()
        .retry_if(|error: &std::io::Error| error.kind() == std::io::ErrorKind::TimedOut)
        .retry_result_if(|status: &u16| *status == 503);
    let mut answers = vec![Ok(503), Err(std::io::ErrorKind::TimedOut.into()), Ok(200)].into_iter();
    assert_eq!(retry.run_blocking(|| answers.next().unwrap()).unwrap(), 200);
    let mut calls = 0;
    let outcome: Result<u16, std::io::Error> = retry.run_blocking(|| {
        calls += 1;
        Err(std::io::ErrorKind::NotFound.into())
    });
    assert!(outcome.is_err());
    assert_eq!(calls, 1);
    // Results still unacceptable after every retry: the last one comes back.
    let mut calls = 0;
    let outcome: Result<u16, std::io::Error> = retry.run_blocking(|| {
        calls += 1;
        Ok(503)
    });
    assert_eq!(outcome.unwrap(), 503);
    assert_eq!(calls, 4);
}

#[test]
fn max_elapsed_gives_up_before_the_wait_that_would_pass_it() {
    let clock = ManualClock::new();
    let retry = Retry::builder()
        .backoff(Backoff::Constant(Duration::from_secs(4)))
        .jitter(Jitter::None)
        .max_retries(100)
        .max_elapsed(Some(Duration::from_secs(10)))
        .clock(clock.clock())
        .build()
        .unwrap();
    let mut calls = 0;
    let _: Result<(), Error> = retry.run_blocking(|| {
        calls += 1;
        Err(transient())
    });
    assert_eq!(calls, 3, "waits at 4 s and 8 s; a third would end at 12 s");
    assert_eq!(clock.elapsed(), Duration::from_secs(8));
}

#[test]
fn a_shared_budget_stops_retries_across_policies() {
    let clock = ManualClock::new();
    let budget = RetryBudget::with_clock(3, 1.0, clock.clock()).unwrap();
    let policy = |name: &str| {
        Retry::builder()
            .name(name)
            .backoff(Backoff::Constant(Duration::ZERO))
            .max_retries(10)
            .budget(budget.clone())
            .clock(clock.clock())
            .build()
            .unwrap()
    };
    let (a, b) = (policy("a"), policy("b"));
    let mut calls = 0;
    let _: Result<(), Error> = a.run_blocking(|| {
        calls += 1;
        Err(transient())
    });
    assert_eq!(calls, 4, "three retries from the budget");
    let _: Result<(), Error> = b.run_blocking(|| {
        calls += 1;
        Err(transient())
    });
    assert_eq!(calls, 5, "the other policy finds the budget empty");
    clock.advance(Duration::from_secs(2));
    let _: Result<(), Error> = b.run_blocking(|| {
        calls += 1;
        Err(transient())
    });
    assert_eq!(calls, 8, "two tokens came back");
    assert_eq!(budget.snapshot().spent, 5);
}

#[tokio::test(start_paused = true)]
async fn budget_counts_waiting_retries_and_is_never_overdrawn() {
    let budget = RetryBudget::new(5, 0.0).unwrap();
    let retry = Retry::builder()
        .backoff(Backoff::Constant(Duration::from_secs(1)))
        .jitter(Jitter::None)
        .max_retries(3)
        .budget(budget.clone())
        .build()
        .unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let retry = retry.clone();
        let attempts = Arc::clone(&attempts);
        tasks.push(tokio::spawn(async move {
            let _: Result<(), Error> = retry
                .run(|| {
                    let attempts = Arc::clone(&attempts);
                    async move {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        Err(transient())
                    }
                })
                .await;
        }));
    }
    // Let every task make its first attempt and reach its wait.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let snapshot = budget.snapshot();
    assert_eq!(
        snapshot.waiting, 5,
        "five retries wait in backoff, each holding a token"
    );
    assert!(snapshot.available < 1.0);
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        attempts.load(Ordering::Relaxed),
        25,
        "20 first attempts + 5 retries"
    );
    assert_eq!(budget.snapshot().waiting, 0);
    assert_eq!(budget.snapshot().spent, 5);
}

#[test]
fn invalid_settings_are_coded_errors() {
    let error = Retry::builder()
        .backoff(Backoff::Exponential {
            base: Duration::from_secs(1),
            factor: 0.5,
        })
        .build()
        .unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidConfig { ref problems } if problems[0].key == "retry.backoff.factor"
    ));
    assert!(RetryBudget::with_clock(0, 1.0, Clock::default()).is_err());
    assert!(RetryBudget::new(1, f64::NAN).is_err());
}

#[test]
fn threads_never_overdraw_a_budget() {
    let clock = ManualClock::new();
    let budget = RetryBudget::with_clock(50, 10.0, clock.clock()).unwrap();
    let spent = AtomicU32::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for i in 0..1_000 {
                    if budget.try_spend() {
                        spent.fetch_add(1, Ordering::SeqCst);
                    }
                    if i % 100 == 0 {
                        clock.advance(Duration::from_millis(100));
                    }
                }
            });
        }
    });
    // 50 at the start, 10 a second over 8 s of advances (80 × 100 ms).
    let allowed = 50 + 80;
    assert!(
        spent.load(Ordering::SeqCst) <= allowed,
        "{} > {allowed}",
        spent.load(Ordering::SeqCst)
    );
    assert!(budget.snapshot().available >= 0.0);
    assert_eq!(
        u64::from(spent.load(Ordering::SeqCst)),
        budget.snapshot().spent
    );
}

/// Jitter applies within the maximum delay: once the exponential backoff
/// passes the cap, full jitter still spreads the waits over 0..=cap (and
/// equal jitter over cap/2..=cap) instead of every client waiting exactly
/// the cap.
#[test]
fn jitter_still_spreads_waits_that_reach_the_max_delay() {
    let cap = Duration::from_secs(10);
    for (jitter, low) in [(Jitter::Full, Duration::ZERO), (Jitter::Equal, cap / 2)] {
        let retry = Retry::builder()
            .backoff(Backoff::Exponential {
                base: Duration::from_secs(1),
                factor: 2.0,
            })
            .jitter(jitter)
            .max_delay(Some(cap))
            .max_retries(60)
            .build()
            .unwrap();
        let capped = &retry.delays(60)[10..]; // raw waits of 1,024 s and up
        assert!(capped.iter().all(|d| *d >= low && *d <= cap), "{jitter:?}");
        let distinct: std::collections::HashSet<_> = capped.iter().collect();
        assert!(distinct.len() > 40, "{jitter:?}: {distinct:?}");
    }
}

/// Past ~1,000 retries the decorrelated formula overflows (infinity minus
/// infinity is NaN): the wait is the cap, or the longest wait without one,
/// never zero (a hot retry loop).
#[test]
fn overflowing_backoffs_wait_the_cap_not_zero() {
    for max_delay in [Some(Duration::from_secs(30)), None] {
        for backoff in [
            Backoff::DecorrelatedJitter(Duration::from_millis(100)),
            Backoff::Exponential {
                base: Duration::from_millis(100),
                factor: 2.0,
            },
        ] {
            let retry = Retry::builder()
                .backoff(backoff)
                .jitter(Jitter::None)
                .max_delay(max_delay)
                .max_retries(1_500)
                .build()
                .unwrap();
            let delays = retry.delays(1_500);
            let late = &delays[1_100..];
            let expected = max_delay.unwrap_or(Duration::MAX);
            assert!(
                late.iter().all(|d| *d == expected),
                "{backoff:?} {max_delay:?}: {:?}",
                &late[..3]
            );
        }
    }
}

#[test]
fn a_manual_clock_saturates_instead_of_wrapping() {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(1));
    clock.advance(Duration::MAX);
    assert_eq!(clock.elapsed(), Duration::from_nanos(u64::MAX));
    clock.clock().sleep_blocking(Duration::from_secs(5));
    assert_eq!(clock.elapsed(), Duration::from_nanos(u64::MAX));
}

/// Collects the `reason` of each `retry.gave_up` event.
#[derive(Default)]
struct GaveUp(Mutex<Vec<String>>);

impl tracing::Subscriber for GaveUp {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(Option<String>, Option<String>);
        impl tracing::field::Visit for Fields {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                match field.name() {
                    "event" => self.0 = Some(value.to_owned()),
                    "reason" => self.1 = Some(value.to_owned()),
                    _ => {}
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut fields = Fields(None, None);
        event.record(&mut fields);
        if let Fields(Some(name), Some(reason)) = fields
            && name == "retry.gave_up"
        {
            self.0.lock().unwrap().push(reason);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A policy that gives up says why (attempts, elapsed time or budget) in a
/// `retry.gave_up` event, and answers the last outcome as Polly and
/// Resilience4j do.
#[test]
fn giving_up_is_an_event_naming_the_limit() {
    let subscriber = Arc::new(GaveUp::default());
    let clock = ManualClock::new();
    let budget = RetryBudget::with_clock(1, 0.0, clock.clock()).unwrap();
    let policies = [
        Retry::builder().max_retries(2),
        Retry::builder()
            .max_retries(10)
            .max_elapsed(Some(Duration::from_millis(500))),
        Retry::builder().max_retries(10).budget(budget),
    ];
    tracing::subscriber::with_default(Arc::clone(&subscriber), || {
        for builder in policies {
            let retry = builder
                .backoff(Backoff::Constant(Duration::from_millis(200)))
                .jitter(Jitter::None)
                .clock(clock.clock())
                .build()
                .unwrap();
            let answer = retry.run_blocking(|| Err::<(), _>(transient()));
            assert_eq!(answer.unwrap_err(), transient(), "the last outcome");
        }
    });
    assert_eq!(
        *subscriber.0.lock().unwrap(),
        ["max_retries", "max_elapsed", "budget"]
    );
}
