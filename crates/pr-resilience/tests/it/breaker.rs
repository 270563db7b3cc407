//! The circuit breaker: transitions at exact thresholds on a manual clock,
//! half-open leases, manual states, concurrency, and a property test
//! against a reference model.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_errors::Classified;
use pr_resilience::breaker::{BreakerBuilder, CallOutcome, CircuitBreaker, SlidingWindow, State};
use pr_resilience::{CallError, Error};

pr_errors::codes! {
    /// The codes of a weather service these tests call.
    #[allow(dead_code, reason = "the tests use the codes, not the catalogue")]
    static CODES;
    /// The weather service did not answer.
    UNAVAILABLE = "weather.unavailable", SERVICE_UNAVAILABLE, transient;
    /// No such city: the caller asked for one that does not exist.
    CITY_NOT_FOUND = "weather.city_not_found", NOT_FOUND, permanent;
}

/// A transient error: the service did not answer.
fn unavailable() -> Classified<io::Error> {
    Classified::new(&UNAVAILABLE, io::Error::other("no answer"))
}

/// A permanent error: a 404 "city not found".
fn city_not_found() -> Classified<io::Error> {
    Classified::new(&CITY_NOT_FOUND, io::Error::other("city not found"))
}

fn count_breaker(clock: &ManualClock) -> BreakerBuilder {
    CircuitBreaker::builder("db")
        .sliding_window(SlidingWindow::Count(10))
        .minimum_calls(10)
        .failure_rate_threshold(50.0)
        .wait_in_open(Duration::from_secs(10))
        .permitted_calls_in_half_open(2)
        .clock(clock.clock())
}

fn record(breaker: &CircuitBreaker, outcome: CallOutcome) {
    breaker.try_acquire().unwrap().record(outcome);
}

#[test]
fn opens_at_exactly_the_failure_threshold_then_half_opens_and_closes() {
    let clock = ManualClock::new();
    let transitions = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&transitions);
    let breaker = count_breaker(&clock)
        .on_transition(move |t| sink.lock().unwrap().push((t.from, t.to)))
        .build()
        .unwrap();
    for _ in 0..5 {
        record(&breaker, CallOutcome::Success);
    }
    for _ in 0..4 {
        record(&breaker, CallOutcome::Failure);
    }
    assert_eq!(breaker.state(), State::Closed, "9 calls: below the minimum");
    record(&breaker, CallOutcome::Failure);
    assert_eq!(breaker.state(), State::Open, "5 of 10 = 50 %");
    let error = breaker.try_acquire().unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(10)));
    clock.advance(Duration::from_secs(4));
    assert_eq!(
        breaker.peek().unwrap_err().retry_after(),
        Some(Duration::from_secs(6))
    );
    clock.advance(Duration::from_secs(6));
    assert!(breaker.peek().is_ok());
    let first = breaker.try_acquire().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);
    let second = breaker.try_acquire().unwrap();
    assert!(breaker.try_acquire().is_err(), "two probes only");
    first.record(CallOutcome::Success);
    assert_eq!(breaker.state(), State::HalfOpen);
    second.record(CallOutcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls, 0, "a fresh window");
    assert_eq!(
        *transitions.lock().unwrap(),
        vec![
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed)
        ]
    );
}

#[test]
fn slow_calls_open_it_too() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("slow")
        .sliding_window(SlidingWindow::Count(4))
        .minimum_calls(4)
        .slow_call_rate_threshold(75.0)
        .slow_call_duration(Some(Duration::from_secs(1)))
        .clock(clock.clock())
        .build()
        .unwrap();
    for slow in [true, false, true, true] {
        let permit = breaker.try_acquire().unwrap();
        clock.advance(if slow {
            Duration::from_secs(1)
        } else {
            Duration::from_millis(999)
        });
        permit.record(CallOutcome::Success);
    }
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().slow_calls, 3);
}

#[test]
fn a_failed_probe_reopens_with_a_longer_wait() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock)
        .permitted_calls_in_half_open(1)
        .open_backoff(2.0, Duration::from_secs(25))
        .build()
        .unwrap();
    for _ in 0..10 {
        record(&breaker, CallOutcome::Failure);
    }
    for (reopens, expected) in [(1, 20), (2, 25), (3, 25)] {
        clock.advance(Duration::from_secs(30));
        record(&breaker, CallOutcome::Failure);
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(breaker.snapshot().reopens, reopens);
        assert_eq!(
            breaker.peek().unwrap_err().retry_after(),
            Some(Duration::from_secs(expected))
        );
    }
    clock.advance(Duration::from_secs(30));
    record(&breaker, CallOutcome::Success);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().reopens, 0);
}

#[test]
fn half_open_leases_expire_and_cancelled_probes_free_their_slot() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock)
        .permitted_calls_in_half_open(1)
        .probe_lease(Duration::from_secs(5))
        .build()
        .unwrap();
    for _ in 0..10 {
        record(&breaker, CallOutcome::Failure);
    }
    clock.advance(Duration::from_secs(10));
    let stuck = breaker.acquire_raw().unwrap();
    let refused = breaker.try_acquire().unwrap_err();
    assert_eq!(
        refused.retry_after(),
        Some(Duration::from_secs(5)),
        "until the lease expires"
    );
    clock.advance(Duration::from_secs(5));
    let probe = breaker.try_acquire().expect("the lease expired");
    // The stuck call finally completes: too late, it does not count.
    breaker.record(stuck, CallOutcome::Failure);
    assert_eq!(breaker.state(), State::HalfOpen);
    drop(probe);
    let probe = breaker
        .try_acquire()
        .expect("a dropped probe frees its slot");
    probe.record(CallOutcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn ignored_outcomes_do_not_count() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock).build().unwrap();
    for _ in 0..20 {
        record(&breaker, CallOutcome::Ignored);
    }
    assert_eq!(breaker.snapshot().calls, 0);
}

#[test]
fn time_window_slides() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("time")
        .sliding_window(SlidingWindow::Time {
            size: Duration::from_secs(10),
            buckets: 10,
        })
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .clock(clock.clock())
        .build()
        .unwrap();
    record(&breaker, CallOutcome::Failure);
    record(&breaker, CallOutcome::Failure);
    record(&breaker, CallOutcome::Failure);
    clock.advance(Duration::from_secs(10));
    // The three failures left the window.
    record(&breaker, CallOutcome::Failure);
    assert_eq!(breaker.snapshot().calls, 1);
    for _ in 0..3 {
        record(&breaker, CallOutcome::Success);
    }
    assert_eq!(breaker.state(), State::Closed, "1 of 4 failed");
    clock.advance(Duration::from_secs(5));
    record(&breaker, CallOutcome::Failure);
    record(&breaker, CallOutcome::Failure);
    assert_eq!(breaker.state(), State::Open, "3 of 6 failed");
}

#[test]
fn manual_states() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock).build().unwrap();
    breaker.force_open();
    assert!(matches!(
        breaker.try_acquire(),
        Err(Error::CircuitOpen { .. })
    ));
    breaker.disable();
    for _ in 0..20 {
        record(&breaker, CallOutcome::Failure);
    }
    assert_eq!(breaker.state(), State::Disabled);
    assert_eq!(breaker.snapshot().calls, 0, "disabled records nothing");
    breaker.metrics_only();
    for _ in 0..20 {
        record(&breaker, CallOutcome::Failure);
    }
    assert_eq!(breaker.state(), State::MetricsOnly);
    assert_eq!(breaker.snapshot().failures, 10);
    breaker.force_closed();
    for _ in 0..20 {
        record(&breaker, CallOutcome::Failure);
    }
    assert_eq!(breaker.state(), State::ForcedClosed);
    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls, 0);
}

/// A permanent error (a 404 "city not found") says the caller was wrong, not
/// that the dependency is unwell: repeated far past the threshold it leaves
/// the breaker closed, counted neither as a success nor as a failure, and is
/// handed back as it is; a transient error opens it.
#[test]
fn permanent_errors_leave_it_closed_and_transient_ones_open_it() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock).build().unwrap();
    for _ in 0..50 {
        let outcome = breaker.call_blocking(|| Err::<(), _>(city_not_found()));
        let Err(CallError::Inner(error)) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(error.to_string(), "city not found");
    }
    assert_eq!(breaker.state(), State::Closed);
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.calls, snapshot.failures), (0, 0), "not counted");
    for _ in 0..9 {
        let _ = breaker.call_blocking(|| Err::<(), _>(unavailable()));
    }
    assert_eq!(breaker.state(), State::Closed, "9 calls: below the minimum");
    let _ = breaker.call_blocking(|| Err::<(), _>(unavailable()));
    assert_eq!(breaker.state(), State::Open);
}

/// The async `call` counts as `call_blocking` does.
#[tokio::test(start_paused = true)]
async fn the_async_call_counts_permanent_errors_nowhere_too() {
    let breaker = CircuitBreaker::builder("weather")
        .clock(pr_resilience::Clock::tokio())
        .sliding_window(SlidingWindow::Count(4))
        .minimum_calls(4)
        .build()
        .unwrap();
    for _ in 0..20 {
        let _ = breaker.call(async { Err::<(), _>(city_not_found()) }).await;
    }
    assert_eq!(breaker.state(), State::Closed);
    for _ in 0..4 {
        let _ = breaker.call(async { Err::<(), _>(unavailable()) }).await;
    }
    assert_eq!(breaker.state(), State::Open);
}

/// `record_all_errors` counts a permanent error as a failure, as
/// Resilience4j does by default.
#[test]
fn record_all_errors_counts_permanent_errors_as_failures() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock).record_all_errors().build().unwrap();
    for _ in 0..10 {
        let _ = breaker.call_blocking(|| Err::<(), _>(city_not_found()));
    }
    assert_eq!(breaker.state(), State::Open);
}

/// The default classification, by pr-errors' retry class.
#[test]
fn call_outcomes_follow_the_retry_class() {
    assert_eq!(CallOutcome::of(&Ok::<_, Error>(())), CallOutcome::Success);
    assert_eq!(
        CallOutcome::of(&Err::<(), _>(unavailable())),
        CallOutcome::Failure
    );
    assert_eq!(
        CallOutcome::of(&Err::<(), _>(city_not_found())),
        CallOutcome::PermanentError
    );
    // Wrapped, an error keeps its class.
    let wrapped: CallError<_> = CallError::Inner(city_not_found());
    assert_eq!(CallOutcome::of_error(&wrapped), CallOutcome::PermanentError);
}

/// In half-open, a probe that ends in a permanent error decides nothing:
/// its slot goes to another probe.
#[test]
fn a_probe_ending_in_a_permanent_error_frees_its_slot() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock).build().unwrap();
    for _ in 0..10 {
        record(&breaker, CallOutcome::Failure);
    }
    clock.advance(Duration::from_secs(10));
    let first = breaker.try_acquire().unwrap();
    let second = breaker.try_acquire().unwrap();
    assert!(breaker.try_acquire().is_err(), "two probes only");
    first.record(CallOutcome::PermanentError);
    assert_eq!(breaker.state(), State::HalfOpen);
    let third = breaker.try_acquire().unwrap();
    second.record(CallOutcome::Success);
    third.record(CallOutcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn async_call_and_rejection_as_call_error() {
    let breaker = CircuitBreaker::builder("api")
        .clock(pr_resilience::Clock::tokio())
        .sliding_window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .build()
        .unwrap();
    for _ in 0..2 {
        let outcome = breaker.call(async { Err::<(), _>(unavailable()) }).await;
        let Err(CallError::Inner(error)) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(
            pr_errors::CodedError::code(&error).as_str(),
            "weather.unavailable"
        );
    }
    let outcome = breaker.call(async { Ok::<_, Error>(()) }).await;
    assert!(matches!(
        outcome,
        Err(CallError::Rejected(Error::CircuitOpen { .. }))
    ));
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(
        breaker.peek().is_ok(),
        "tokio's paused clock drives the default clock"
    );
}

#[test]
fn threads_hammering_half_open_never_exceed_the_permitted_probes() {
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock)
        .permitted_calls_in_half_open(3)
        .build()
        .unwrap();
    for _ in 0..10 {
        record(&breaker, CallOutcome::Failure);
    }
    clock.advance(Duration::from_secs(10));
    let granted = Arc::new(AtomicUsize::new(0));
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (breaker, granted, barrier) =
                (breaker.clone(), Arc::clone(&granted), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut held = Vec::new();
                for _ in 0..2_000 {
                    if let Ok(permit) = breaker.acquire_raw() {
                        granted.fetch_add(1, Ordering::SeqCst);
                        held.push(permit);
                    }
                }
                held
            })
        })
        .collect();
    let held: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(granted.load(Ordering::SeqCst), 3);
    for permit in held {
        breaker.record(permit, CallOutcome::Success);
    }
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn concurrent_closed_calls_count_exactly() {
    let breaker = CircuitBreaker::builder("busy")
        .sliding_window(SlidingWindow::Count(1_000))
        .minimum_calls(1_000)
        .failure_rate_threshold(100.0)
        .build()
        .unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let breaker = &breaker;
            scope.spawn(move || {
                for i in 0..250 {
                    let outcome = if (t + i) % 5 == 0 {
                        CallOutcome::Failure
                    } else {
                        CallOutcome::Success
                    };
                    breaker.try_acquire().unwrap().record(outcome);
                }
            });
        }
    });
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.calls, 1_000);
    assert_eq!(snapshot.failures, 200);
}

#[test]
fn invalid_settings_name_the_field() {
    let error = CircuitBreaker::builder("x")
        .failure_rate_threshold(0.0)
        .build()
        .unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidConfig { ref problems } if problems[0].key == "breaker.failure_rate_threshold"
    ));
    let error = CircuitBreaker::builder("x")
        .sliding_window(SlidingWindow::Count(0))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("breaker.sliding_window"));
}

mod model {
    //! A straightforward model of the state machine, compared step by step.

    use std::collections::VecDeque;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const WINDOW: usize = 5;
    const MIN_CALLS: usize = 3;
    const PERMITTED: u32 = 2;
    const WAIT: u64 = 10;
    const SLOW: u64 = 3;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum ModelState {
        Closed,
        Open {
            until: u64,
            reopens: u32,
        },
        HalfOpen {
            done: u32,
            failed: u32,
            slow: u32,
            reopens: u32,
        },
    }

    /// How a call of the model ends.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Ends {
        Success,
        Failure,
        /// A permanent error: a failure when the breaker records all
        /// errors, else not counted.
        Permanent,
    }

    impl Ends {
        fn outcome(self) -> CallOutcome {
            match self {
                Self::Success => CallOutcome::Success,
                Self::Failure => CallOutcome::Failure,
                Self::Permanent => CallOutcome::PermanentError,
            }
        }
    }

    fn ends() -> impl Strategy<Value = Ends> {
        prop_oneof![
            Just(Ends::Success),
            Just(Ends::Failure),
            Just(Ends::Permanent)
        ]
    }

    struct Model {
        state: ModelState,
        window: VecDeque<(bool, bool)>,
        now: u64,
        record_all_errors: bool,
    }

    impl Model {
        fn open(&mut self, reopens: u32) {
            let wait = (WAIT << reopens).min(40);
            self.state = ModelState::Open {
                until: self.now + wait,
                reopens,
            };
        }

        /// One call started now and lasting `duration` seconds; answers
        /// whether it was admitted.
        fn call(&mut self, ends: Ends, duration: u64) -> bool {
            if let ModelState::Open { until, reopens } = self.state
                && self.now >= until
            {
                self.state = ModelState::HalfOpen {
                    done: 0,
                    failed: 0,
                    slow: 0,
                    reopens,
                };
            }
            let failed = match ends {
                Ends::Success => false,
                Ends::Failure => true,
                Ends::Permanent if self.record_all_errors => true,
                Ends::Permanent => {
                    // Not counted: a probe's slot is free again.
                    if matches!(self.state, ModelState::Open { .. }) {
                        return false;
                    }
                    self.now += duration;
                    return true;
                }
            };
            match self.state {
                ModelState::Open { .. } => false,
                ModelState::Closed => {
                    self.now += duration;
                    let slow = duration >= SLOW;
                    self.window.push_back((failed, slow));
                    if self.window.len() > WINDOW {
                        self.window.pop_front();
                    }
                    let calls = self.window.len();
                    let failures = self.window.iter().filter(|(f, _)| *f).count();
                    let slows = self.window.iter().filter(|(_, s)| *s).count();
                    if calls >= MIN_CALLS
                        && (failures * 100 >= 60 * calls || slows * 100 >= 80 * calls)
                    {
                        self.window.clear();
                        self.open(0);
                    }
                    true
                }
                ModelState::HalfOpen {
                    done,
                    failed: failures,
                    slow,
                    reopens,
                } => {
                    self.now += duration;
                    let failures = failures + u32::from(failed);
                    let slow = slow + u32::from(duration >= SLOW);
                    let done = done + 1;
                    if done < PERMITTED {
                        self.state = ModelState::HalfOpen {
                            done,
                            failed: failures,
                            slow,
                            reopens,
                        };
                    } else if failures * 100 >= 60 * PERMITTED || slow * 100 >= 80 * PERMITTED {
                        self.open(reopens + 1);
                    } else {
                        self.window.clear();
                        self.state = ModelState::Closed;
                    }
                    true
                }
            }
        }
    }

    proptest! {
        /// A time window opens at exactly the call where the failures of
        /// the calls in the buckets of the last window reach the threshold.
        #[test]
        fn time_window_matches_the_model(steps in proptest::collection::vec((any::<bool>(), 0u64..3_000), 1..300)) {
            let clock = ManualClock::new();
            let breaker = CircuitBreaker::builder("time-model")
                .sliding_window(SlidingWindow::Time { size: Duration::from_secs(10), buckets: 10 })
                .minimum_calls(5)
                .failure_rate_threshold(50.0)
                .slow_call_duration(None)
                .clock(clock.clock())
                .build()
                .unwrap();
            let mut calls: Vec<(u64, bool)> = Vec::new();
            let mut now_ms = 0u64;
            for (failed, gap) in steps {
                now_ms += gap;
                clock.advance(Duration::from_millis(gap));
                breaker
                    .try_acquire()
                    .unwrap()
                    .record(if failed { CallOutcome::Failure } else { CallOutcome::Success });
                let second = now_ms / 1_000;
                calls.push((second, failed));
                let in_window: Vec<_> = calls.iter().filter(|(s, _)| s + 10 > second).collect();
                let failures = in_window.iter().filter(|(_, f)| *f).count();
                let open = in_window.len() >= 5 && failures * 2 >= in_window.len();
                prop_assert_eq!(breaker.state() == State::Open, open, "at {} ms", now_ms);
                if open {
                    break;
                }
            }
        }
    }

    proptest! {
        #[test]
        fn breaker_matches_the_model(
            steps in proptest::collection::vec((ends(), 0u64..5, 0u64..8), 1..200),
            record_all_errors in any::<bool>(),
        ) {
            let clock = ManualClock::new();
            let builder = CircuitBreaker::builder("model")
                .sliding_window(SlidingWindow::Count(WINDOW as u32))
                .minimum_calls(MIN_CALLS as u32)
                .failure_rate_threshold(60.0)
                .slow_call_rate_threshold(80.0)
                .slow_call_duration(Some(Duration::from_secs(SLOW)))
                .permitted_calls_in_half_open(PERMITTED)
                .wait_in_open(Duration::from_secs(WAIT))
                .open_backoff(2.0, Duration::from_secs(40))
                .clock(clock.clock());
            let builder = if record_all_errors { builder.record_all_errors() } else { builder };
            let breaker = builder.build().unwrap();
            let mut model = Model {
                state: ModelState::Closed,
                window: VecDeque::new(),
                now: 0,
                record_all_errors,
            };
            for (ends, duration, gap) in steps {
                let admitted = match breaker.try_acquire() {
                    Ok(permit) => {
                        clock.advance(Duration::from_secs(duration));
                        permit.record(ends.outcome());
                        true
                    }
                    Err(error) => {
                        let ModelState::Open { until, .. } = model.state else {
                            panic!("refused outside open: {error}");
                        };
                        prop_assert_eq!(error.retry_after(), Some(Duration::from_secs(until - model.now)));
                        false
                    }
                };
                prop_assert_eq!(admitted, model.call(ends, duration));
                let expected = match model.state {
                    ModelState::Closed => State::Closed,
                    ModelState::Open { .. } => State::Open,
                    ModelState::HalfOpen { .. } => State::HalfOpen,
                };
                prop_assert_eq!(breaker.state(), expected);
                clock.advance(Duration::from_secs(gap));
                model.now += gap;
            }
        }
    }
}

/// On the default (coarse, on Linux) system clock, a 1 ms slow-call
/// duration is still measured: every call that spins 1.5 ms counts slow.
/// Timed on `CLOCK_MONOTONIC_COARSE` (a 4 ms tick here), most such calls
/// read 0 ms and passed as fast.
#[test]
fn a_slow_call_duration_below_the_coarse_clock_tick_is_measured() {
    let breaker = CircuitBreaker::builder("fast-db")
        .sliding_window(SlidingWindow::Count(20))
        .minimum_calls(1_000)
        .slow_call_duration(Some(Duration::from_millis(1)))
        .build()
        .unwrap();
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let answer = breaker.call_blocking(|| {
            // A busy wait, not a sleep: the call itself takes 1.5 ms.
            while started.elapsed() < Duration::from_micros(1_500) {
                std::hint::spin_loop();
            }
            Ok::<_, Error>(())
        });
        assert!(answer.is_ok());
    }
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.calls, snapshot.slow_calls), (20, 20));
}

#[test]
fn the_system_clock_reports_its_resolution() {
    let coarse = pr_resilience::Clock::system().resolution();
    assert!(coarse > Duration::ZERO && coarse <= Duration::from_millis(100));
    assert_eq!(
        pr_resilience::Clock::precise().resolution(),
        Duration::from_nanos(1)
    );
    assert_eq!(
        ManualClock::new().clock().resolution(),
        Duration::from_nanos(1)
    );
}

/// A probe left over from an earlier half-open period does not decide the
/// current one, even when its lease token equals the current probe's (same
/// clock reading, same lease).
#[test]
fn a_probe_from_an_earlier_half_open_period_does_not_count() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("cache")
        .sliding_window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .failure_rate_threshold(50.0)
        .wait_in_open(Duration::ZERO)
        .permitted_calls_in_half_open(1)
        .clock(clock.clock())
        .build()
        .unwrap();
    let trip = || {
        record(&breaker, CallOutcome::Failure);
        record(&breaker, CallOutcome::Failure);
        assert_eq!(breaker.state(), State::Open);
    };
    trip();
    let stale = breaker.acquire_raw().unwrap(); // half-open, first period
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker.force_open();
    breaker.reset();
    trip();
    let current = breaker.acquire_raw().unwrap(); // half-open again
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker.record(stale, CallOutcome::Failure);
    assert_eq!(breaker.state(), State::HalfOpen, "a stale probe decided");
    breaker.record(current, CallOutcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

/// Threads that trip a closed breaker at the same moment make exactly one
/// closed → open transition (one event), whatever the interleaving.
#[test]
fn threads_tripping_at_once_make_one_transition() {
    for _ in 0..50 {
        let clock = ManualClock::new();
        let events = Arc::new(AtomicUsize::new(0));
        let sink = Arc::clone(&events);
        let breaker = CircuitBreaker::builder("db")
            .sliding_window(SlidingWindow::Count(8))
            .minimum_calls(8)
            .failure_rate_threshold(50.0)
            .clock(clock.clock())
            .on_transition(move |t| {
                assert_eq!((t.from, t.to), (State::Closed, State::Open));
                sink.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let start = Barrier::new(4);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    // Take the permits first, then record together.
                    let permits: Vec<_> = (0..4).map(|_| breaker.acquire_raw().unwrap()).collect();
                    start.wait();
                    for permit in permits {
                        breaker.record(permit, CallOutcome::Failure);
                    }
                });
            }
        });
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(events.load(Ordering::SeqCst), 1);
    }
}

/// Counts `breaker.would_open` events.
#[derive(Default)]
struct WouldOpen(AtomicUsize);

impl tracing::Subscriber for WouldOpen {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Named(bool);
        impl tracing::field::Visit for Named {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "event" && value == "breaker.would_open" {
                    self.0 = true;
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut named = Named(false);
        event.record(&mut named);
        if named.0 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A metrics-only breaker reports `breaker.would_open` once per crossing
/// of a threshold, not once per call while past it, and never refuses.
#[test]
fn metrics_only_reports_each_crossing_once() {
    let subscriber = Arc::new(WouldOpen::default());
    let clock = ManualClock::new();
    let breaker = count_breaker(&clock).build().unwrap();
    breaker.metrics_only();
    tracing::subscriber::with_default(Arc::clone(&subscriber), || {
        for _ in 0..100 {
            record(&breaker, CallOutcome::Failure);
        }
        assert_eq!(subscriber.0.load(Ordering::SeqCst), 1);
        for _ in 0..10 {
            record(&breaker, CallOutcome::Success); // back under 50 %
        }
        for _ in 0..10 {
            record(&breaker, CallOutcome::Failure); // past it again
        }
    });
    assert_eq!(subscriber.0.load(Ordering::SeqCst), 2);
    assert_eq!(breaker.state(), State::MetricsOnly);
}

#[test]
fn snapshots_serialize_with_the_state_by_its_name() {
    let breaker = CircuitBreaker::builder("serde").build().unwrap();
    let json = serde_json::to_value(breaker.snapshot()).unwrap();
    assert_eq!(json["state"], "closed");
    assert_eq!(json["calls"], 0);
    let back: pr_resilience::breaker::BreakerSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, breaker.snapshot());
    breaker.force_open();
    assert_eq!(
        serde_json::to_value(breaker.snapshot()).unwrap()["state"],
        "forced_open"
    );
    let bulkhead = pr_resilience::bulkhead::Bulkhead::builder("serde")
        .limit(3)
        .build()
        .unwrap();
    let json = serde_json::to_value(bulkhead.snapshot()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"limit": 3, "in_use": 0, "waiting": 0})
    );
}
