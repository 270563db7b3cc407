//! pr-errors: building and rendering a report, and problem details JSON.
//!
//! Peer: `anyhow`, the error report most services use: wrap an error with
//! context and render it with its cause chain.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pr_errors::{CodeInfo, CodedError, Problem, Report, WithContext};

pr_errors::codes! {
    /// Bench codes.
    static CODES;
    /// The upstream timed out.
    UPSTREAM_TIMEOUT = "bench.upstream_timeout", GATEWAY_TIMEOUT, transient, public;
}

#[derive(Debug, thiserror::Error)]
#[error("upstream timed out after {0} ms")]
struct Timeout(u64, #[source] std::io::Error);

impl CodedError for Timeout {
    fn info(&self) -> &'static CodeInfo {
        &UPSTREAM_TIMEOUT
    }
}

fn timeout(ms: u64) -> Timeout {
    Timeout(ms, std::io::Error::other("connection reset by peer"))
}

/// Build a report with one context and render it on one line.
fn report_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("errors/report_context_render");
    let mut buf = String::with_capacity(256);
    group.bench_function("ours", |b| {
        b.iter(|| {
            use std::fmt::Write as _;
            let report = Report::new(WithContext::new("charging order", timeout(black_box(500))));
            buf.clear();
            write!(buf, "{report}").expect("writing to a String cannot fail");
            black_box(buf.len())
        });
    });
    group.bench_function("anyhow", |b| {
        b.iter(|| {
            use std::fmt::Write as _;
            let report = anyhow::Error::new(timeout(black_box(500))).context("charging order");
            buf.clear();
            write!(buf, "{report:#}").expect("writing to a String cannot fail");
            black_box(buf.len())
        });
    });
    group.finish();
}

/// Turn a coded error into RFC 9457 JSON, as an HTTP handler does.
fn problem_json(c: &mut Criterion) {
    let report = Report::new(timeout(500)).context("charging order");
    let mut group = c.benchmark_group("errors/problem_to_json");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(report.to_problem().with_instance("/orders/17").to_json()));
    });
    group.finish();

    let json = report.to_problem().to_json();
    let mut group = c.benchmark_group("errors/problem_from_json");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(serde_json::from_str::<Problem>(black_box(&json)).map(|p| p.status())));
    });
    group.finish();
}

criterion_group!(benches, report_render, problem_json);
criterion_main!(benches);
