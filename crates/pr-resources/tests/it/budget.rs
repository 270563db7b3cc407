//! The memory budget: concurrent threads never pass the limit, and the
//! accounting returns to zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pr_errors::CodedError;
use pr_resources::{Error, MemoryBudget};

#[test]
fn threads_never_exceed_the_limit_and_accounting_returns_to_zero() {
    const LIMIT: u64 = 10_000;
    let budget = Arc::new(MemoryBudget::new("test", LIMIT));
    let granted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        for t in 0..8_u64 {
            let (budget, granted, refused) = (&budget, &granted, &refused);
            scope.spawn(move || {
                let mut state = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut held = Vec::new();
                for _ in 0..20_000 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let size = state % 1_500 + 1;
                    match state % 4 {
                        0 | 1 => match budget.reserve(size) {
                            Ok(r) => {
                                assert!(budget.used() <= LIMIT);
                                granted.fetch_add(1, Ordering::Relaxed);
                                held.push(r);
                            }
                            Err(Error::BudgetExceeded { limit, .. }) => {
                                assert_eq!(limit, LIMIT);
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(other) => panic!("{other}"),
                        },
                        2 => {
                            if let Some(r) = held.last_mut() {
                                if r.grow(size).is_ok() {
                                    assert!(budget.used() <= LIMIT);
                                } else {
                                    refused.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        _ => {
                            if let Some(mut r) = held.pop() {
                                r.shrink(size);
                                if state % 8 == 3 {
                                    held.push(r);
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    assert_eq!(budget.used(), 0, "every reservation released");
    assert!(
        budget.peak() <= LIMIT,
        "peak {} over the limit",
        budget.peak()
    );
    assert!(granted.load(Ordering::Relaxed) > 0 && refused.load(Ordering::Relaxed) > 0);
    assert_eq!(budget.rejected(), refused.load(Ordering::Relaxed));
}

#[test]
fn refusal_is_coded_and_leaves_nothing_reserved() {
    let budget = MemoryBudget::new("uploads", 100);
    let mut a = budget.reserve(60).unwrap();
    let err = budget.reserve(50).unwrap_err();
    assert_eq!(err.code().as_str(), "resources.budget_exceeded");
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!(
        err.to_string(),
        "memory budget `uploads` exceeded: reserving 50 bytes with 60 of 100 bytes in use"
    );
    assert_eq!(budget.used(), 60);
    assert!(a.grow(41).is_err());
    assert_eq!(a.bytes(), 60);
    a.resize(100).unwrap();
    assert_eq!(budget.used(), 100);
    a.resize(10).unwrap();
    a.shrink(1_000);
    assert_eq!((a.bytes(), budget.used()), (0, 0));
    assert!(budget.reserve(u64::MAX).is_err(), "overflow is a refusal");
    budget.set_limit(5);
    assert!(budget.reserve(6).is_err());
    assert!((budget.used_ratio() - 0.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn owned_reservations_move_into_tasks() {
    let budget = Arc::new(MemoryBudget::new("tasks", 1_000));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let r = budget.reserve_owned(100).unwrap();
            tokio::spawn(async move { r.bytes() })
        })
        .collect();
    assert!(budget.reserve_owned(1).is_err());
    for h in handles {
        assert_eq!(h.await.unwrap(), 100);
    }
    assert_eq!(budget.used(), 0);
}

#[test]
fn from_cgroup_uses_the_effective_limit_less_headroom() {
    let limit = pr_resources::effective_memory_limit().unwrap();
    let budget = MemoryBudget::from_cgroup("app", 1 << 20).unwrap();
    assert_eq!(budget.limit(), limit - (1 << 20));
    let machine = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total: u64 = machine
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(limit <= total * 1024);
}
