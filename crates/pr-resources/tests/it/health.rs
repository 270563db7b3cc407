//! Rules and budgets as pr-health checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pr_health::{Check, HealthRegistry, Status};
use pr_resources::{BudgetCheck, MemoryBudget, ResourcesCheck, ResourcesConfig, Rule, Sampler};

#[tokio::test]
async fn readiness_turns_off_under_memory_pressure() {
    let sampler = Sampler::new(ResourcesConfig::default()).unwrap();
    let pressure = Arc::new(AtomicU64::new(0));
    let (p, q) = (Arc::clone(&pressure), Arc::new(AtomicU64::new(0)));
    let queue = Arc::clone(&q);
    #[expect(clippy::cast_precision_loss, reason = "small test values")]
    {
        sampler
            .add_rule(
                Rule::custom("memory", move |_| Some(p.load(Ordering::Relaxed) as f64))
                    .warning(80.0)
                    .critical(95.0)
                    .readiness(true),
            )
            .unwrap();
        sampler
            .add_rule(
                Rule::custom("queue", move |_| Some(queue.load(Ordering::Relaxed) as f64))
                    .critical(10.0),
            )
            .unwrap();
    }
    let registry = HealthRegistry::default();
    registry.add(ResourcesCheck::new(&sampler)).unwrap();
    registry.lifecycle().mark_ready();
    let check = ResourcesCheck::new(&sampler);
    assert_eq!(Check::name(&check), "resources");

    sampler.refresh();
    assert_eq!(check.evaluate().status(), Status::Up);

    q.store(50, Ordering::Relaxed);
    sampler.refresh();
    let outcome = check.evaluate();
    assert_eq!(
        outcome.status(),
        Status::Degraded,
        "a critical non-readiness rule degrades"
    );
    assert!(outcome.message().unwrap().contains("queue is critical"));

    pressure.store(97, Ordering::Relaxed);
    sampler.refresh();
    assert_eq!(check.evaluate().status(), Status::Down);
    registry.remove("resources");
    registry
        .add(ResourcesCheck::new(&sampler).name("resources2"))
        .unwrap();
    assert_eq!(registry.readiness().await.status, Status::Down);
}

#[test]
fn budget_check_follows_use() {
    let budget = Arc::new(MemoryBudget::new("cache", 100));
    let check = BudgetCheck::new(Arc::clone(&budget));
    assert_eq!(check.name(), "budget:cache");
    assert_eq!(check.evaluate().status(), Status::Up);
    let _a = budget.reserve(85).unwrap();
    assert_eq!(check.evaluate().status(), Status::Degraded);
    let _b = budget.reserve(10).unwrap();
    let outcome = check.evaluate();
    assert_eq!(outcome.status(), Status::Down);
    assert!(outcome.message().unwrap().contains("95 of 100 bytes"));
    let strict = BudgetCheck::new(Arc::clone(&budget)).thresholds(0.99, 1.0);
    assert_eq!(strict.evaluate().status(), Status::Up);
}

#[test]
fn a_disk_path_short_of_free_space_degrades_the_check_naming_the_path() {
    let dir = std::env::temp_dir();
    let usage = pr_resources::DiskUsage::of(&dir).unwrap();
    let mut config = ResourcesConfig::default().with_disk_path(&dir);
    // Thresholds the filesystem meets: Up.
    config.disk_min_free = pr_core::units::ByteSize(1);
    config.disk_min_free_percent = 0;
    let sampler = Sampler::new(config.clone()).unwrap();
    sampler.refresh();
    assert_eq!(
        ResourcesCheck::new(&sampler).evaluate().status(),
        Status::Up
    );

    // More bytes than it has: Degraded, naming the path and the rule.
    config.disk_min_free = pr_core::units::ByteSize(usage.total.saturating_add(1));
    let sampler = Sampler::new(config.clone()).unwrap();
    sampler.refresh();
    let outcome = ResourcesCheck::new(&sampler).evaluate();
    assert_eq!(outcome.status(), Status::Degraded);
    let message = outcome.message().unwrap();
    assert!(
        message.contains(&format!("disk_free_bytes:{}", dir.display())),
        "{message}"
    );

    // A share it cannot have (100 %, unless nothing at all is used).
    config.disk_min_free = pr_core::units::ByteSize(0);
    config.disk_min_free_percent = 100;
    let sampler = Sampler::new(config.clone()).unwrap();
    sampler.refresh();
    if usage.available < usage.total {
        let outcome = ResourcesCheck::new(&sampler).evaluate();
        assert_eq!(outcome.status(), Status::Degraded);
        assert!(
            outcome.message().unwrap().contains("disk_free:"),
            "{outcome:?}"
        );
    }

    // Over 100 % is a configuration problem; 0 and 0 turn the rules off.
    config.disk_min_free_percent = 101;
    let text = Sampler::new(config.clone()).unwrap_err().to_string();
    assert!(text.contains("disk_min_free_percent"), "{text}");
    config.disk_min_free_percent = 0;
    let sampler = Sampler::new(config).unwrap();
    sampler.refresh();
    assert!(sampler.latest().rules.is_empty());
}
