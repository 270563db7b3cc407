//! Bulkhead and timeout on tokio's paused time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pr_errors::CodedError;
use pr_resilience::bulkhead::Bulkhead;
use pr_resilience::timeout::Timeout;
use pr_resilience::{CallError, Error};

#[tokio::test(start_paused = true)]
async fn never_exceeds_its_limit_and_refuses_past_the_queue() {
    let bulkhead = Bulkhead::builder("db")
        .limit(3)
        .max_queue(5)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let (bulkhead, running, peak) = (bulkhead.clone(), Arc::clone(&running), Arc::clone(&peak));
        tasks.push(tokio::spawn(async move {
            bulkhead
                .call(async {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10 + i)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(())
                })
                .await
        }));
    }
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => {}
            Err(CallError::Rejected(error)) => {
                assert_eq!(error.code().as_str(), "resilience.bulkhead_full");
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(refused, 12, "3 run, 5 wait, 12 refused");
    assert_eq!(bulkhead.snapshot().in_use, 0);
    assert_eq!(bulkhead.snapshot().waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn a_wait_longer_than_max_wait_is_refused() {
    let bulkhead = Bulkhead::builder("db")
        .limit(1)
        .max_queue(1)
        .max_wait(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let held = bulkhead.acquire_owned().await.unwrap();
    let start = tokio::time::Instant::now();
    let refused = bulkhead.acquire().await.unwrap_err();
    assert!(matches!(refused, Error::BulkheadFull { limit: 1, .. }));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    drop(held);
    assert!(bulkhead.acquire().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn timeout_cuts_the_call_and_passes_fast_ones() {
    let timeout = Timeout::new("lookup", Duration::from_secs(2));
    let slow = timeout
        .call(async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok::<_, std::io::Error>(1)
        })
        .await;
    let Err(CallError::Rejected(error)) = slow else {
        panic!("not a timeout")
    };
    assert_eq!(error.code().as_str(), "resilience.timeout");
    assert_eq!(error.to_string(), "`lookup` timed out after 2s");
    let fast = timeout
        .call(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, std::io::Error>(1)
        })
        .await;
    assert_eq!(fast.unwrap(), 1);
}

#[test]
fn zero_limit_is_invalid() {
    assert!(matches!(
        Bulkhead::builder("x").limit(0).build(),
        Err(Error::InvalidConfig { problems }) if problems[0].key == "bulkhead.limit"
    ));
}

#[test]
fn threads_never_exceed_the_limit() {
    let bulkhead = Bulkhead::builder("threads").limit(3).build().unwrap();
    let running = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..2_000 {
                    if let Ok(_place) = bulkhead.try_acquire() {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::hint::spin_loop();
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(bulkhead.in_use(), 0);
}

/// A waiter dropped while queued (its caller timed out or went away) gives
/// its queue place back at once and never takes a running place.
#[tokio::test(start_paused = true)]
async fn a_waiter_dropped_while_queued_frees_its_queue_place() {
    let bulkhead = Bulkhead::builder("db")
        .limit(1)
        .max_queue(1)
        .build()
        .unwrap();
    let running = bulkhead.try_acquire().unwrap();
    let queued = Timeout::new("caller", Duration::from_millis(5))
        .call(async {
            let _place = bulkhead.acquire().await?;
            Ok::<_, Error>(())
        })
        .await;
    assert!(matches!(
        queued,
        Err(CallError::Rejected(Error::Timeout { .. }))
    ));
    assert_eq!(bulkhead.snapshot().waiting, 0, "the cancelled waiter left");
    // The queue has room again: a new waiter queues (and is not refused)...
    let mut next = std::pin::pin!(bulkhead.acquire());
    assert!(futures_poll_once(next.as_mut()).await.is_none());
    assert_eq!(bulkhead.snapshot().waiting, 1);
    // ...and gets the place when it is freed; the cancelled one never did.
    drop(running);
    let place = next.await.unwrap();
    assert_eq!(bulkhead.snapshot().in_use, 1);
    drop(place);
    let after = bulkhead.snapshot();
    assert_eq!((after.in_use, after.waiting), (0, 0));
}

async fn futures_poll_once<F: Future + Unpin>(fut: F) -> Option<F::Output> {
    let mut fut = fut;
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut fut).poll(cx) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        })
    })
    .await
}
