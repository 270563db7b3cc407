//! pr-metrics: recording through handles and the facade, and rendering.
//!
//! Peers, in the same run: `prometheus_client` (counter increment,
//! rendering, two threads on one counter), metrics-exporter-prometheus
//! (`counter!` with a name lookup through the facade), `prometheus` (tikv,
//! histogram observe).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pr_metrics::{ExpositionFormat, Registry};

/// Increment a counter through a handle.
fn counter_inc(c: &mut Criterion) {
    let registry = Registry::default();
    let ours = registry
        .counter("bench_requests_total", &[])
        .expect("a valid name");
    let peer = prometheus_client::metrics::counter::Counter::<u64>::default();
    let mut group = c.benchmark_group("metrics/counter_inc_handle");
    group.bench_function("ours", |b| b.iter(|| black_box(&ours).inc()));
    group.bench_function("prometheus_client", |b| {
        b.iter(|| black_box(&peer).inc());
    });
    group.finish();
}

/// `counter!("name").increment(1)` through the `metrics` facade: a lookup
/// of the name in the recorder on every call.
fn counter_macro(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics/counter_macro_lookup");
    let registry = Registry::default();
    let recorder = registry.recorder();
    {
        let _guard = metrics::set_default_local_recorder(&recorder);
        group.bench_function("ours", |b| {
            b.iter(|| metrics::counter!("bench_requests_total").increment(1));
        });
    }
    let peer = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    {
        let _guard = metrics::set_default_local_recorder(&peer);
        group.bench_function("metrics_exporter_prometheus", |b| {
            b.iter(|| metrics::counter!("bench_requests_total").increment(1));
        });
    }
    group.finish();
}

/// Record one histogram sample (default buckets).
fn histogram_record(c: &mut Criterion) {
    let registry = Registry::default();
    let ours = registry
        .histogram("bench_latency_seconds", &[])
        .expect("a valid name");
    let peer = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
        "bench_latency_seconds",
        "latency",
    ))
    .expect("valid options");
    let mut group = c.benchmark_group("metrics/histogram_record");
    group.bench_function("ours", |b| b.iter(|| ours.record(black_box(0.042))));
    group.bench_function("prometheus", |b| b.iter(|| peer.observe(black_box(0.042))));
    group.finish();
}

/// Render 50 counters and 50 histograms (default buckets) to text.
fn render(c: &mut Criterion) {
    let registry = Registry::default();
    let mut peer = prometheus_client::registry::Registry::default();
    for i in 0..50 {
        let counter = registry
            .counter(&format!("bench_events_{i}_total"), &[("shard", "a")])
            .expect("a valid name");
        counter.inc_by(i * 1000 + 7);
        let histogram = registry
            .histogram(&format!("bench_latency_{i}_seconds"), &[("shard", "a")])
            .expect("a valid name");
        let peer_counter = prometheus_client::metrics::counter::Counter::<u64>::default();
        peer_counter.inc_by(i * 1000 + 7);
        peer.register(format!("bench_events_{i}"), "events", peer_counter);
        let peer_histogram = prometheus_client::metrics::histogram::Histogram::new(
            pr_metrics::DEFAULT_BUCKETS.iter().copied(),
        );
        for j in 0..100u32 {
            let v = f64::from(j) * 0.013;
            histogram.record(v);
            peer_histogram.observe(v);
        }
        peer.register(
            format!("bench_latency_{i}_seconds"),
            "latency",
            peer_histogram,
        );
    }
    let mut group = c.benchmark_group("metrics/render_50_counters_50_histograms");
    let mut buf = String::with_capacity(64 * 1024);
    group.bench_function("ours", |b| {
        b.iter(|| {
            buf.clear();
            registry.render_into(&mut buf, ExpositionFormat::Prometheus);
            black_box(buf.len())
        });
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| {
            buf.clear();
            prometheus_client::encoding::text::encode(&mut buf, &peer)
                .expect("writing to a String cannot fail");
            black_box(buf.len())
        });
    });
    group.finish();
}

/// Two threads incrementing one counter; time per increment of the pair
/// (lower is more aggregate throughput).
fn contended_counter(c: &mut Criterion) {
    fn two_threads(iters: u64, inc: &(dyn Fn() + Sync)) -> Duration {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..iters {
                        inc();
                    }
                });
            }
        });
        start.elapsed()
    }
    let registry = Registry::default();
    let ours = registry
        .counter("bench_contended_total", &[])
        .expect("a valid name");
    let peer = prometheus_client::metrics::counter::Counter::<u64>::default();
    let mut group = c.benchmark_group("metrics/counter_inc_2_threads");
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| black_box(&ours).inc()));
    });
    group.bench_function("prometheus_client", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                black_box(&peer).inc();
            })
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    counter_inc,
    counter_macro,
    histogram_record,
    render,
    contended_counter
);
criterion_main!(benches);
