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

use std::hint::black_box;
use std::path::{Component, Path};

use criterion::{Criterion, criterion_group, criterion_main};
use pr_security::files::check_stored_path;
use pr_security::secrets::{TokenEncoding, random_token};
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

criterion_group!(benches, stored_path, email, token);
criterion_main!(benches);
