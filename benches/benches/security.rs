//! pr-security: the stored-path check, email validation and token
//! generation, each beside its peer in the same run.
//!
//! - `security/stored_path_64b`: `check_stored_path` on a 64-byte path (goal:
//!   under 1 µs) beside the naive `std::path` check (components are all
//!   normal), which catches far less (no decoding, no Windows forms).
//! - `security/email`: `validate_email` (HTML mode, which also normalizes)
//!   beside the `validator` crate's `ValidateEmail` (goal: ratio ≤ 1.0).
//! - `security/token_32b`: `random_token(32, Base64Url)` beside a bare ring
//!   `SystemRandom` fill of 32 bytes (goal: ratio ≤ 1.2).
//! - `security/<signal>_1MB_prose` and `_1MB_worst`: each injection signal
//!   over 1 MB of English prose and over 1 MB of its costliest run (the
//!   runs a step-counting test found heaviest); the time for 1 MB, in
//!   milliseconds, is the cost in nanoseconds per byte. No peer: the
//!   signals have no equivalent crate (libinjection is C).
//! - `security/sanitize_html_worst_at_default_limits`: `sanitize_html` on
//!   an adversarial input within its default limits (64 KiB, depth 64):
//!   54 open formatting elements, which the HTML parser reopens inside each
//!   of 5,000 `div`s (about 60 KB in, 2 MB out).

use std::hint::black_box;
use std::path::{Component, Path};

use criterion::{Criterion, criterion_group, criterion_main};
use pr_security::files::check_stored_path;
use pr_security::output::sanitize_html;
use pr_security::secrets::{TokenEncoding, random_token};
use pr_security::signals::{command_injection_signal, sql_injection_signal, xss_signal};
use pr_security::validation::{EmailMode, validate_email};
use ring::rand::{SecureRandom as _, SystemRandom};
use validator::ValidateEmail as _;

const PATH_64: &str = "uploads/2024/06/user-12345/avatar-thumbnail-large-version-02.png";
const EMAILS: [&str; 4] = [
    "ann.smith@example.com",
    "first.last+tag@sub.domain.example.org",
    "not-an-email@",
    "x@localhost",
];

fn stored_path(c: &mut Criterion) {
    assert_eq!(PATH_64.len(), 64);
    let mut group = c.benchmark_group("security/stored_path_64b");
    group.bench_function("ours", |b| {
        b.iter(|| check_stored_path(black_box(PATH_64)).is_ok());
    });
    group.bench_function("std components", |b| {
        b.iter(|| {
            Path::new(black_box(PATH_64))
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        });
    });
    group.finish();
}

fn email(c: &mut Criterion) {
    let mut group = c.benchmark_group("security/email");
    group.bench_function("ours", |b| {
        b.iter(|| {
            EMAILS
                .iter()
                .filter(|e| validate_email(black_box(e), EmailMode::Html).is_ok())
                .count()
        });
    });
    group.bench_function("validator", |b| {
        b.iter(|| {
            EMAILS
                .iter()
                .filter(|e| black_box(**e).validate_email())
                .count()
        });
    });
    group.finish();
}

fn token(c: &mut Criterion) {
    let mut group = c.benchmark_group("security/token_32b");
    group.bench_function("ours", |b| {
        b.iter(|| random_token(32, TokenEncoding::Base64Url).expect("the system generator works"));
    });
    let rng = SystemRandom::new();
    group.bench_function("ring SystemRandom", |b| {
        b.iter(|| {
            let mut bytes = [0_u8; 32];
            rng.fill(&mut bytes).expect("the system generator works");
            black_box(bytes)
        });
    });
    group.finish();
}

/// `unit` repeated to 1 MB.
fn megabyte(unit: &str) -> String {
    unit.repeat(1_000_000 / unit.len() + 1)[..1_000_000].to_owned()
}

fn signals(c: &mut Criterion) {
    let prose = megabyte(
        "The cache keeps the most valuable entries within its bounds, and a reload applies \
         new thresholds to the breakers without a restart; see the README for details. ",
    );
    type Signal = fn(&str) -> pr_security::signals::Verdict;
    let cases: [(&str, Signal, &str); 3] = [
        ("sql_injection_signal", sql_injection_signal, "' or "),
        ("xss_signal", xss_signal, "&"),
        ("command_injection_signal", command_injection_signal, "|"),
    ];
    for (name, signal, worst) in cases {
        let worst = megabyte(worst);
        for (input, kind) in [(&prose, "prose"), (&worst, "worst")] {
            let mut group = c.benchmark_group(format!("security/{name}_1MB_{kind}"));
            group.sample_size(10);
            group.bench_function("ours", |b| b.iter(|| signal(black_box(input))));
            group.finish();
        }
    }
}

fn sanitize(c: &mut Criterion) {
    let input = format!("{}{}", "<b><i><u>".repeat(18), "<div>x</div>".repeat(5_000));
    assert!(input.len() < 64 * 1024, "within the default size limit");
    let mut group = c.benchmark_group("security/sanitize_html_worst_at_default_limits");
    group.sample_size(10);
    group.bench_function("ours", |b| {
        b.iter(|| sanitize_html(black_box(&input)).expect("within the default limits"));
    });
    group.finish();
}

criterion_group!(benches, stored_path, email, token, signals, sanitize);
criterion_main!(benches);
