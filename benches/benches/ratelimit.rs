//! pr-resilience rate limiting and the dead-letter queue.
//!
//! Peers, in the same run: governor 0.10 (direct GCRA `check()` from one and
//! two threads, keyed check with 1,024 keys). The DLQ push has no peer
//! (none of the peer toolkits has a durable DLQ): its group reports
//! records per second. The Redis limiter is measured beside a bare `PING`
//! from the same machine, when `redis-server` is installed.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pr_resilience::dlq::{DeadLetter, Dlq, DlqConfig, Durability};
use pr_resilience::rate::{Gcra, KeyedLimiter, Quota, RateLimiter};

/// A quota that always admits at benchmark speed: one permit a nanosecond,
/// a burst of a million.
fn quota() -> Quota {
    Quota::per_second(1_000_000_000).with_burst(1_000_000)
}

fn governor_quota() -> governor::Quota {
    governor::Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"))
        .allow_burst(NonZeroU32::new(1_000_000).expect("non-zero"))
}

/// GCRA `check()` on one thread.
fn gcra_check(c: &mut Criterion) {
    let ours = Gcra::new(quota()).expect("a valid quota");
    let peer = governor::RateLimiter::direct(governor_quota());
    let mut group = c.benchmark_group("ratelimit/gcra_check");
    group.bench_function("ours", |b| b.iter(|| black_box(&ours).check()));
    group.bench_function("governor", |b| b.iter(|| black_box(&peer).check()));
    group.finish();
}

fn two_threads(iters: u64, check: &(dyn Fn() + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..iters {
                    check();
                }
            });
        }
    });
    start.elapsed()
}

/// GCRA `check()` from two threads on one limiter.
fn gcra_check_2_threads(c: &mut Criterion) {
    let ours = Gcra::new(quota()).expect("a valid quota");
    let peer = governor::RateLimiter::direct(governor_quota());
    let mut group = c.benchmark_group("ratelimit/gcra_check_2_threads");
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                let _ = black_box(black_box(&ours).check());
            })
        });
    });
    group.bench_function("governor", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                let _ = black_box(black_box(&peer).check());
            })
        });
    });
    group.finish();
}

/// Keyed check, cycling through 1,024 keys.
fn keyed_check(c: &mut Criterion) {
    let ours = KeyedLimiter::<u64>::builder(quota())
        .max_keys(4_096)
        .build()
        .expect("a valid quota");
    let peer = governor::RateLimiter::keyed(governor_quota());
    let mut group = c.benchmark_group("ratelimit/keyed_check_1024_keys");
    let mut key = 0_u64;
    group.bench_function("ours", |b| {
        b.iter(|| {
            key = (key + 1) & 1023;
            black_box(&ours).check_key(&key)
        });
    });
    let mut key = 0_u64;
    group.bench_function("governor", |b| {
        b.iter(|| {
            key = (key + 1) & 1023;
            black_box(&peer).check_key(&key)
        });
    });
    group.finish();
}

/// DLQ push of 256-byte payloads, fsync batched every 1,024 records or
/// 100 ms; reported as records per second.
fn dlq_push(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("pr-bench-dlq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = DlqConfig::new(&dir).with_durability(Durability::Batched {
        max_records: 1_024,
        max_delay: Duration::from_millis(100).into(),
    });
    config.max_records = u64::MAX;
    config.max_size.0 = u64::MAX;
    let dlq: Dlq<String> = Dlq::open(config).expect("a writable temp dir");
    let letter = DeadLetter::with_code("x".repeat(256), "bench.failed", "the operation failed")
        .with_idempotency_key("bench-key");
    let mut group = c.benchmark_group("ratelimit/dlq_push_256b_batched_fsync");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(dlq.push(black_box(&letter)).expect("room"));
            }
            dlq.sync().expect("sync");
            let elapsed = start.elapsed();
            dlq.purge_keep_newest(0).expect("purge");
            elapsed
        });
    });
    group.finish();
    drop(dlq);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `redis-server` child on a free port, killed on drop.
struct Server(std::process::Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server() -> Option<Server> {
    let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = std::process::Command::new(binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child, port);
    for _ in 0..1_000 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// The Redis GCRA check beside a bare `PING` on the same server.
fn redis_check(c: &mut Criterion) {
    let Some(server) = redis_server() else {
        #[allow(clippy::print_stdout, reason = "the bench says why a group is missing")]
        {
            println!("ratelimit/redis_check skipped: redis-server is not installed");
        }
        return;
    };
    let url = format!("redis://127.0.0.1:{}/", server.1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ours = pr_resilience::rate::RedisLimiter::builder(url.as_str(), quota())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a valid limiter");
    let ping = runtime.block_on(async {
        redis::Client::open(url.as_str())
            .expect("a valid url")
            .get_multiplexed_async_connection()
            .await
            .expect("a connection")
    });
    let mut group = c.benchmark_group("ratelimit/redis_check");
    group.bench_function("ours", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(ours.check_key("bench").await) });
    });
    group.bench_function("ping", |b| {
        b.to_async(&runtime).iter(|| {
            let mut connection = ping.clone();
            async move {
                let pong: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut connection).await;
                black_box(pong)
            }
        });
    });
    group.finish();
    drop(server);
}

criterion_group!(
    benches,
    gcra_check,
    gcra_check_2_threads,
    keyed_check,
    dlq_push,
    redis_check
);
criterion_main!(benches);
