//! pr-resilience: the closed circuit breaker, a retry whose first attempt
//! succeeds, and an async pipeline per call.
//!
//! Peers: `failsafe` (circuit breaker, default policy), `backon` (blocking
//! exponential retry), tower's `timeout` + `concurrency_limit` stack.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use pr_resilience::Error;
use pr_resilience::breaker::{CircuitBreaker, SlidingWindow};
use pr_resilience::bulkhead::Bulkhead;
use pr_resilience::pipeline::Pipeline;
use pr_resilience::retry::Retry;

/// A closed breaker with a count window and slow-call timing; the call
/// succeeds.
fn breaker_closed(c: &mut Criterion) {
    let mut group = c.benchmark_group("resilience/breaker_closed_success");
    let ours = CircuitBreaker::builder("bench")
        .sliding_window(SlidingWindow::Count(100))
        .slow_call_duration(Some(Duration::from_secs(60)))
        .build()
        .expect("valid breaker");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(ours.call_blocking(|| Ok::<_, Error>(black_box(1u64)))));
    });
    let peer = failsafe::Config::new().build();
    group.bench_function("failsafe", |b| {
        use failsafe::CircuitBreaker as _;
        b.iter(|| black_box(peer.call(|| Ok::<_, ()>(black_box(1u64)))));
    });
    group.finish();
}

/// A retry policy whose first attempt succeeds.
fn retry_first_success(c: &mut Criterion) {
    let mut group = c.benchmark_group("resilience/retry_first_success");
    let ours = Retry::builder().build().expect("valid retry");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(ours.run_blocking(|| Ok::<_, Error>(black_box(1u64)))));
    });
    group.bench_function("backon", |b| {
        use backon::BlockingRetryable as _;
        b.iter(|| {
            black_box(
                (|| Ok::<_, std::io::Error>(black_box(1u64)))
                    .retry(backon::ExponentialBuilder::default())
                    .sleep(std::thread::sleep)
                    .call(),
            )
        });
    });
    group.finish();
}

/// Timeout + bulkhead + breaker + retry around a ready future, per call,
/// beside tower's timeout + concurrency limit.
fn pipeline_async(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("resilience/pipeline_async");
    let ours = Pipeline::builder()
        .bulkhead(
            Bulkhead::builder("bench")
                .limit(64)
                .build()
                .expect("valid bulkhead"),
        )
        .total_timeout(Some(Duration::from_secs(10)))
        .retry(Retry::builder().build().expect("valid retry"))
        .breaker(CircuitBreaker::builder("bench").sliding_window(SlidingWindow::Count(100)))
        .build()
        .expect("valid pipeline");
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    black_box(ours.run(|| async { Ok::<_, Error>(black_box(1u64)) }).await)
                        .expect("ready");
                }
                start.elapsed()
            })
        });
    });
    let mut peer = tower::ServiceBuilder::new()
        .timeout(Duration::from_secs(10))
        .concurrency_limit(64)
        .service(tower::service_fn(|request: u64| async move {
            Ok::<_, std::io::Error>(request)
        }));
    group.bench_function("tower", |b| {
        use tower::{Service as _, ServiceExt as _};
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    let ready = peer.ready().await.expect("ready");
                    black_box(ready.call(black_box(1u64)).await).expect("ready");
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, breaker_closed, retry_first_success, pipeline_async);
criterion_main!(benches);
