//! pr-resources: refreshing the current process's CPU and memory, reading
//! the latest snapshot, and reserving from a memory budget.
//!
//! Peer: `sysinfo`, the portable base most services use, refreshing one
//! process (CPU and memory only). The snapshot read (goal ≤ 10 ns) and the
//! uncontended reservation (goal ≤ 20 ns) have no peer: absolute goals.
//! The sampler's cost at 1 Hz is reported by the sampler itself
//! (`SamplerCost::core_share`) and printed once here.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pr_resources::{MemoryBudget, ProcessReader, ResourcesConfig, Sampler};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// One refresh of the current process's CPU time and memory.
fn process_refresh(c: &mut Criterion) {
    let reader = ProcessReader::new().expect("procfs is mounted");
    let mut system = System::new().expect("sysinfo supports this platform");
    let pid = Pid::from_u32(std::process::id());
    let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, kind);

    let mut group = c.benchmark_group("resources/process_refresh");
    group.bench_function("ours", |b| {
        b.iter(|| {
            let sample = reader.cpu_memory().expect("reading /proc/self/stat");
            black_box((sample.cpu_seconds, sample.resident_bytes))
        });
    });
    group.bench_function("sysinfo", |b| {
        b.iter(|| {
            system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, kind);
            let process = system.process(pid).expect("the current process exists");
            black_box((process.cpu_usage(), process.memory()))
        });
    });
    group.finish();
}

/// Reading the latest published snapshot through a thread's cached reader
/// (`Sampler::latest()`, without a cache, costs an `arc-swap` load).
fn snapshot_read(c: &mut Criterion) {
    let sampler = Sampler::new(ResourcesConfig::default()).expect("default config is valid");
    for _ in 0..3 {
        sampler.refresh();
    }
    let cost = sampler.latest().cost;
    #[expect(
        clippy::print_stderr,
        reason = "the sampler's own cost, shown beside the bench"
    )]
    {
        eprintln!(
            "sampler: {:?} CPU per full refresh (mean of {}), {:.4} % of one core at 1 Hz",
            cost.mean_cpu,
            cost.refreshes,
            cost.core_share * 100.0
        );
    }
    let mut group = c.benchmark_group("resources/snapshot_read");
    let mut reader = sampler.reader();
    group.bench_function("ours", |b| {
        b.iter(|| black_box(reader.latest().process.resident_bytes));
    });
    group.finish();
}

/// An uncontended reservation, released at once.
fn budget_reserve(c: &mut Criterion) {
    let budget = MemoryBudget::new("bench", 1 << 30);
    let mut group = c.benchmark_group("resources/budget_reserve");
    group.bench_function("ours", |b| {
        b.iter(|| {
            let reservation = budget.reserve(black_box(4096)).expect("room in the budget");
            black_box(reservation.bytes())
        });
    });
    group.finish();
}

criterion_group!(benches, process_refresh, snapshot_read, budget_reserve);
criterion_main!(benches);
