//! Pipelines: the documented order, the standard pipeline, shared state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pr_resilience::breaker::{CircuitBreaker, SlidingWindow, State};
use pr_resilience::bulkhead::Bulkhead;
use pr_resilience::pipeline::Pipeline;
use pr_resilience::retry::{Backoff, Jitter, Retry};
use pr_resilience::{CallError, Error};

use crate::admission::FirstN;

fn transient() -> Error {
    Error::Rejected {
        name: "upstream".into(),
        retry_after: None,
    }
}

#[tokio::test(start_paused = true)]
async fn the_admission_stage_refuses_before_anything_runs() {
    let pipeline = Pipeline::standard("api")
        .admission(FirstN(AtomicU32::new(1)))
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let ok = pipeline
        .run(|| async {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Error>(())
        })
        .await;
    assert!(ok.is_ok());
    let refused = pipeline
        .run(|| async {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Error>(())
        })
        .await;
    let Err(CallError::Rejected(error)) = refused else {
        panic!("admitted")
    };
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn attempt_timeouts_are_retried_and_count_as_breaker_failures() {
    let pipeline = Pipeline::builder()
        .name("search")
        .total_timeout(Some(Duration::from_secs(60)))
        .retry(
            Retry::builder()
                .backoff(Backoff::Constant(Duration::from_secs(1)))
                .jitter(Jitter::None)
                .max_retries(2)
                .build()
                .unwrap(),
        )
        .breaker(
            CircuitBreaker::builder("search")
                .sliding_window(SlidingWindow::Count(10))
                .minimum_calls(10),
        )
        .attempt_timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let attempts = AtomicU32::new(0);
    let outcome = pipeline
        .run(|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(100)).await;
            Ok::<_, Error>(())
        })
        .await;
    let Err(CallError::Rejected(Error::Timeout { name, .. })) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(name, "search.attempt");
    assert_eq!(attempts.load(Ordering::Relaxed), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(5 + 1 + 5 + 1 + 5));
    assert_eq!(pipeline.breaker().unwrap().snapshot().failures, 3);
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_bounds_retries_and_waits() {
    let pipeline = Pipeline::standard("slow")
        .total_timeout(Some(Duration::from_secs(3)))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let outcome = pipeline.run(|| async { Err::<(), _>(transient()) }).await;
    let Err(CallError::Rejected(Error::Timeout { name, .. })) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(name, "slow.total");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn clones_share_the_breaker_and_the_bulkhead_across_tasks() {
    let pipeline = Pipeline::builder()
        .bulkhead(Bulkhead::builder("db").limit(4).build().unwrap())
        .breaker(
            CircuitBreaker::builder("db")
                .sliding_window(SlidingWindow::Count(20))
                .minimum_calls(20)
                .wait_in_open(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let pipeline = pipeline.clone();
        tasks.push(tokio::spawn(async move {
            pipeline.run(|| async { Err::<(), _>(transient()) }).await
        }));
    }
    for task in tasks {
        let _ = task.await.unwrap();
    }
    assert_eq!(
        pipeline.breaker().unwrap().state(),
        State::Open,
        "20 failures from 20 clones"
    );
    let outcome = pipeline.clone().run(|| async { Ok::<_, Error>(()) }).await;
    assert!(matches!(
        outcome,
        Err(CallError::Rejected(Error::CircuitOpen { .. }))
    ));
}

/// The default classifier counts the operation's errors by their class: a
/// permanent one (bad input) leaves the breaker closed, a transient one
/// opens it.
#[tokio::test(start_paused = true)]
async fn the_breaker_stage_counts_permanent_errors_nowhere() {
    let pipeline = Pipeline::builder()
        .breaker(
            CircuitBreaker::builder("geo")
                .sliding_window(SlidingWindow::Count(4))
                .minimum_calls(4),
        )
        .build()
        .unwrap();
    let permanent = || Error::InvalidConfig {
        problems: vec![pr_core::validate::Violation::new("city", String::new())],
    };
    for _ in 0..20 {
        let outcome = pipeline.run(|| async { Err::<(), _>(permanent()) }).await;
        assert!(matches!(
            outcome,
            Err(CallError::Inner(Error::InvalidConfig { .. }))
        ));
    }
    let breaker = pipeline.breaker().unwrap();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().calls, 0);
    for _ in 0..4 {
        let _ = pipeline.run(|| async { Err::<(), _>(transient()) }).await;
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn a_shared_breaker_and_a_custom_record_predicate() {
    let breaker = CircuitBreaker::builder("shared")
        .sliding_window(SlidingWindow::Count(2))
        .minimum_calls(2)
        .build()
        .unwrap();
    let pipeline = Pipeline::builder()
        .shared_breaker(breaker.clone())
        .record_with(|attempt: &Result<u16, CallError<u16>>| match attempt {
            Err(CallError::Inner(status)) if *status < 500 => {
                pr_resilience::breaker::CallOutcome::Ignored
            }
            Err(_) => pr_resilience::breaker::CallOutcome::Failure,
            Ok(_) => pr_resilience::breaker::CallOutcome::Success,
        })
        .build()
        .unwrap();
    for _ in 0..5 {
        let _ = pipeline.run(|| async { Err::<u16, u16>(404) }).await;
    }
    assert_eq!(breaker.state(), State::Closed, "client errors are ignored");
    for _ in 0..2 {
        let _ = pipeline.run(|| async { Err::<u16, u16>(503) }).await;
    }
    assert_eq!(breaker.state(), State::Open);
    let _ = Arc::new(pipeline);
}

#[test]
fn a_call_ready_at_once_sets_no_timer() {
    // A runtime without timers panics if a timer is made: none is.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let pipeline = Pipeline::standard("ready").build().unwrap();
    let answer = runtime.block_on(pipeline.run(|| async { Ok::<_, Error>(1) }));
    assert_eq!(answer.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rejected_result_after_the_last_retry_is_retries_exhausted() {
    let retry = |fail: bool| {
        Retry::builder()
            .name("poll")
            .backoff(Backoff::Constant(Duration::from_secs(1)))
            .jitter(Jitter::None)
            .max_retries(2)
            .fail_after_max_attempts(fail)
            .build()
            .unwrap()
            .retry_result_if(|status: &u16| *status == 503)
    };
    let strict = Pipeline::builder().retry(retry(true)).build().unwrap();
    let outcome = strict.run(|| async { Ok::<u16, Error>(503) }).await;
    let Err(CallError::Rejected(error)) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        error,
        Error::RetriesExhausted {
            name: "poll".into(),
            attempts: 3
        }
    );
    assert_eq!(
        pr_errors::CodedError::code(&error).as_str(),
        "resilience.retries_exhausted"
    );
    let lenient = Pipeline::builder().retry(retry(false)).build().unwrap();
    assert_eq!(
        lenient
            .run(|| async { Ok::<u16, Error>(503) })
            .await
            .unwrap(),
        503
    );
}

/// Polls `fut` once: its output if it is ready without any time passing.
async fn ready_at_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    match std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// An open breaker whose next probe is past the total timeout: the call
/// answers the breaker's refusal (with the time to the probe) on its first
/// poll, without waiting for the total timeout, and runs nothing.
#[tokio::test(start_paused = true)]
async fn an_open_breaker_fails_fast_instead_of_waiting_for_the_total_timeout() {
    let pipeline = Pipeline::standard("quotes")
        .total_timeout(Some(Duration::from_secs(2)))
        .breaker(
            CircuitBreaker::builder("quotes")
                .clock(pr_resilience::Clock::tokio())
                .wait_in_open(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    let breaker = pipeline.breaker().unwrap().clone();
    breaker.force_open();
    let calls = AtomicU32::new(0);
    let start = tokio::time::Instant::now();
    let outcome = ready_at_once(pipeline.run(|| async {
        calls.fetch_add(1, Ordering::Relaxed);
        Ok::<_, Error>(())
    }))
    .await
    .expect("answered on the first poll");
    let Err(CallError::Rejected(error)) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(matches!(error, Error::CircuitOpen { .. }), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(
        pr_errors::CodedError::code(&error).as_str(),
        "resilience.circuit_open"
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(calls.load(Ordering::Relaxed), 0);

    // Opened by failures (not forced): the retry-after counts down to the
    // probe, and is still answered at once. The failures are permanent
    // errors (not retried) that this breaker records.
    let failing = Pipeline::builder()
        .total_timeout(Some(Duration::from_secs(2)))
        .retry(Retry::builder().max_retries(3).build().unwrap())
        .breaker(
            CircuitBreaker::builder("rates")
                .clock(pr_resilience::Clock::tokio())
                .sliding_window(SlidingWindow::Count(2))
                .minimum_calls(2)
                .wait_in_open(Duration::from_secs(10))
                .record_all_errors(),
        )
        .build()
        .unwrap();
    for _ in 0..2 {
        let _ = failing
            .run(|| async {
                Err::<(), _>(Error::InvalidConfig {
                    problems: vec![pr_core::validate::Violation::new("x", String::new())],
                })
            })
            .await;
    }
    assert_eq!(failing.breaker().unwrap().state(), State::Open);
    tokio::time::advance(Duration::from_secs(4)).await;
    let start = tokio::time::Instant::now();
    let outcome = ready_at_once(failing.run(|| async { Ok::<_, Error>(()) }))
        .await
        .expect("answered on the first poll");
    let Err(CallError::Rejected(error)) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.retry_after(), Some(Duration::from_secs(6)));
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// A retry-after that fits in the total timeout is waited out: the call
/// probes the breaker once it lets one through, and succeeds.
#[tokio::test(start_paused = true)]
async fn an_open_breaker_whose_probe_fits_is_waited_for() {
    let pipeline = Pipeline::builder()
        .total_timeout(Some(Duration::from_secs(3)))
        .retry(Retry::builder().max_retries(3).build().unwrap())
        .breaker(
            // Opened below by permanent errors (not retried) it records.
            CircuitBreaker::builder("ledger")
                .clock(pr_resilience::Clock::tokio())
                .sliding_window(SlidingWindow::Count(2))
                .minimum_calls(2)
                .wait_in_open(Duration::from_secs(1))
                .record_all_errors(),
        )
        .build()
        .unwrap();
    for _ in 0..2 {
        let _ = pipeline
            .run(|| async {
                Err::<(), _>(Error::InvalidConfig {
                    problems: vec![pr_core::validate::Violation::new("x", String::new())],
                })
            })
            .await;
    }
    assert_eq!(pipeline.breaker().unwrap().state(), State::Open);
    let calls = AtomicU32::new(0);
    let start = tokio::time::Instant::now();
    let outcome = pipeline
        .run(|| async {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok::<_, Error>(7)
        })
        .await;
    assert_eq!(outcome.unwrap(), 7);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}
