//! No allocation on the paths that succeed at once: a retry whose first
//! attempt succeeds, a closed breaker, a whole pipeline around a ready
//! future. A counting global allocator counts this thread's allocations.

#![allow(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; it only counts and forwards to System"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use pr_resilience::Error;
use pr_resilience::breaker::{CircuitBreaker, SlidingWindow};
use pr_resilience::bulkhead::Bulkhead;
use pr_resilience::pipeline::Pipeline;
use pr_resilience::retry::Retry;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call forwards to `System` with the same arguments; the
// counter is a const-initialised thread-local without a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Polls a future once with a no-op waker; it must be ready.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("not ready at once"),
    }
}

#[test]
fn first_success_paths_do_not_allocate() {
    let retry = Retry::builder().build().unwrap();
    let breaker = CircuitBreaker::builder("alloc")
        .sliding_window(SlidingWindow::Count(100))
        .build()
        .unwrap();
    let pipeline = Pipeline::standard("alloc")
        .bulkhead(Bulkhead::builder("alloc").limit(4).build().unwrap())
        .build()
        .unwrap();
    // Warm up thread-locals (the jitter source, tokio's context).
    let _ = retry.run_blocking(|| Ok::<_, Error>(0));
    let _ = ready(pipeline.run(|| async { Ok::<_, Error>(0) }));

    assert_eq!(
        allocations_in(|| assert_eq!(retry.run_blocking(|| Ok::<_, Error>(1)).unwrap(), 1)),
        0
    );
    assert_eq!(
        allocations_in(|| assert_eq!(ready(retry.run(|| async { Ok::<_, Error>(1) })).unwrap(), 1)),
        0
    );
    assert_eq!(
        allocations_in(|| assert_eq!(breaker.call_blocking(|| Ok::<_, Error>(1)).unwrap(), 1)),
        0
    );
    assert_eq!(
        allocations_in(|| assert_eq!(
            ready(pipeline.run(|| async { Ok::<_, Error>(1) })).unwrap(),
            1
        )),
        0
    );
    // The counter works: a failure allocates its error message.
    assert!(
        allocations_in(|| drop(ready(pipeline.run(|| async {
            Err::<(), _>(Error::InvalidConfig {
                problems: vec![pr_core::validate::Violation::new("x", "y")],
            })
        }))))
            > 0
    );
}
