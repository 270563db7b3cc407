//! Running checks: parallelism, timeouts, panics, caching, the refresher,
//! and the lifecycle, all on tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pr_errors::CodedError;
use pr_health::{Group, HealthConfig, HealthRegistry, Outcome, Phase, Status, check_fn};
use tokio::time::{Instant, sleep};

fn counted(
    runs: &Arc<AtomicUsize>,
    took: Duration,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync + 'static {
    let runs = Arc::clone(runs);
    move || {
        runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            sleep(took).await;
            Outcome::up()
        })
    }
}

#[tokio::test(start_paused = true)]
async fn ten_checks_run_in_parallel_and_three_time_out() {
    let registry = HealthRegistry::default();
    for i in 0..10u64 {
        let slow = i % 3 == 0 && i > 0; // 3, 6, 9
        let check = check_fn(format!("check-{i}"), move || async move {
            sleep(if slow {
                Duration::from_secs(60)
            } else {
                Duration::from_millis(100 * i)
            })
            .await;
            Outcome::up()
        })
        .timeout(Duration::from_secs(1 + i / 3));
        registry.add(check).unwrap();
    }
    let started = Instant::now();
    let report = registry.report(None).await;
    let took = started.elapsed();
    // The longest timeout is 4s (check-9); the timeouts of the slow checks sum to 9s.
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_millis(4100),
        "{took:?}"
    );
    let failing: Vec<&str> = report.failing().map(|c| c.name.as_str()).collect();
    assert_eq!(failing, ["check-3", "check-6", "check-9"]);
    for check in report.failing() {
        assert_eq!(check.status, Status::Down);
        assert!(
            check
                .message
                .as_deref()
                .unwrap()
                .starts_with("timed out after"),
            "{check:?}"
        );
    }
    assert_eq!(report.status, Status::Down);
    assert_eq!(report.checks.len(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_is_down_not_a_crash() {
    let registry = HealthRegistry::default();
    registry
        .add(check_fn("explodes", || async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Outcome::up()
        }))
        .unwrap();
    registry
        .add(check_fn("fine", || async { Outcome::up() }))
        .unwrap();
    let report = registry.report(None).await;
    let explodes = &report.checks[0];
    assert_eq!(
        (explodes.name.as_str(), explodes.status),
        ("explodes", Status::Down)
    );
    assert_eq!(explodes.message.as_deref(), Some("check panicked"));
    assert_eq!(report.checks[1].status, Status::Up);
}

#[tokio::test(start_paused = true)]
async fn results_are_cached_and_concurrent_probes_share_one_run() {
    let mut config = HealthConfig::default();
    config.cache_ttl = pr_core::units::Duration::from_millis(1_000);
    let registry = HealthRegistry::new(config).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    registry
        .add(check_fn("db", counted(&runs, Duration::from_millis(200))))
        .unwrap();

    let probes: Vec<_> = (0..10)
        .map(|_| {
            let registry = registry.clone();
            tokio::spawn(async move { registry.report(None).await })
        })
        .collect();
    for probe in probes {
        assert_eq!(probe.await.unwrap().status, Status::Up);
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "ten concurrent probes, one run"
    );

    sleep(Duration::from_millis(500)).await;
    let report = registry.report(None).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "fresh result reused");
    assert_eq!(report.checks[0].age, Duration::from_millis(500));
    assert_eq!(report.checks[0].duration, Duration::from_millis(200));

    sleep(Duration::from_millis(600)).await;
    registry.report(None).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "stale result refreshed");
}

#[tokio::test(start_paused = true)]
async fn with_a_refresher_probes_never_wait() {
    let mut config = HealthConfig::default();
    config.refresh_interval = pr_core::units::Duration::from_millis(5_000);
    config.stale_after = pr_core::units::Duration::from_millis(8_000);
    let registry = HealthRegistry::new(config).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    registry
        .add(
            check_fn("slow", counted(&runs, Duration::from_secs(1)))
                .timeout(Duration::from_secs(3)),
        )
        .unwrap();

    let refresher = registry.spawn_refresher();
    // Before the first run finishes, a probe waits for it (it joins the
    // refresher's run rather than answering Unknown or running it again).
    let first = registry.report(None).await;
    assert_eq!(first.status, Status::Up);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "one first run, shared");

    sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let warm = registry.report(None).await;
    assert_eq!(started.elapsed(), Duration::ZERO, "answered from the cache");
    assert_eq!(warm.status, Status::Up);
    assert_eq!(warm.checks[0].age, Duration::from_millis(500));
    assert!(!warm.checks[0].stale);

    sleep(Duration::from_secs(10)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3, "runs at 0s, 5s and 10s");

    drop(refresher);
    sleep(Duration::from_secs(20)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3, "a dropped refresher stops");
    let snapshot = registry.snapshot(None);
    assert!(snapshot.checks[0].stale, "{snapshot:?}");
}

#[tokio::test(start_paused = true)]
async fn lifecycle_gates_the_probes() {
    let registry = HealthRegistry::default();
    registry
        .add(check_fn("db", || async { Outcome::up() }))
        .unwrap();
    registry
        .add(check_fn("warmup", || async { Outcome::up() }).groups([Group::STARTUP]))
        .unwrap();

    let ready = registry.readiness().await;
    assert_eq!(
        (ready.status, ready.reason.as_deref()),
        (Status::Down, Some("starting"))
    );
    assert_eq!(registry.startup().await.status, Status::Down);
    assert_eq!(registry.liveness().await.status, Status::Up);

    registry.lifecycle().mark_ready();
    assert_eq!(registry.readiness().await.status, Status::Up);
    let startup = registry.startup().await;
    assert_eq!(startup.status, Status::Up);
    assert_eq!(
        startup
            .checks
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["warmup"]
    );

    registry.lifecycle().start_draining();
    let draining = registry.readiness().await;
    assert_eq!(
        (draining.status, draining.phase),
        (Status::Down, Phase::Draining)
    );
    assert_eq!(registry.liveness().await.status, Status::Up);

    registry.lifecycle().mark_stopped();
    assert_eq!(registry.liveness().await.status, Status::Down);
}

#[tokio::test(start_paused = true)]
async fn non_critical_failures_degrade_and_checks_come_and_go() {
    let registry = HealthRegistry::default();
    registry.lifecycle().mark_ready();
    registry
        .add(check_fn("db", || async { Outcome::up() }))
        .unwrap();
    registry
        .add(check_fn("recs", || async { Outcome::down("refused") }).critical(false))
        .unwrap();
    assert_eq!(registry.readiness().await.status, Status::Degraded);

    let dup = registry
        .add(check_fn("db", || async { Outcome::up() }))
        .unwrap_err();
    assert_eq!(dup.code().as_str(), "health.duplicate_check");
    assert_eq!(
        dup.to_string(),
        "a health check named `db` is already registered"
    );

    assert!(registry.remove("recs"));
    assert!(!registry.remove("recs"));
    assert_eq!(registry.names(), ["db"]);
    assert_eq!(registry.readiness().await.status, Status::Up);
}

#[tokio::test(start_paused = true)]
async fn mark_ready_waits_for_every_first_run_bounded_by_each_timeout() {
    let registry = HealthRegistry::default();
    let runs = Arc::new(AtomicUsize::new(0));
    registry
        .add(check_fn("slow", counted(&runs, Duration::from_secs(1))))
        .unwrap();
    registry
        .add(
            check_fn("hangs", || async {
                std::future::pending::<()>().await;
                Outcome::up()
            })
            .critical(false)
            .timeout(Duration::from_secs(3)),
        )
        .unwrap();
    let refresher = registry.spawn_refresher();
    // Registered after the refresher's first tick, as a service adds its own.
    registry
        .add(check_fn("breaker", counted(&runs, Duration::ZERO)))
        .unwrap();
    assert_eq!(registry.lifecycle().phase(), Phase::Starting);

    assert!(registry.mark_ready().await);
    assert_eq!(registry.lifecycle().phase(), Phase::Ready);
    let snapshot = registry.snapshot(None);
    assert!(
        snapshot.checks.iter().all(|c| c.status != Status::Unknown),
        "ready means checked: {snapshot:?}"
    );
    let hangs = snapshot.checks.iter().find(|c| c.name == "hangs").unwrap();
    assert_eq!(hangs.status, Status::Down);
    assert!(
        hangs
            .message
            .as_deref()
            .unwrap()
            .starts_with("timed out after"),
        "{hangs:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2, "each first run once");
    // A failing non-critical check degrades; nothing is Unknown.
    assert_eq!(registry.readiness().await.status, Status::Degraded);
    assert!(!registry.mark_ready().await, "already ready");
    drop(refresher);
}

#[tokio::test(start_paused = true)]
async fn a_check_failing_its_first_run_makes_readiness_down_not_unknown() {
    let registry = HealthRegistry::default();
    let _refresher = registry.spawn_refresher();
    registry
        .add(check_fn("db", || async {
            Outcome::down("connection refused")
        }))
        .unwrap();
    registry.mark_ready().await;
    let ready = registry.readiness().await;
    assert_eq!(ready.status, Status::Down);
    assert_eq!(ready.reason, None, "the check decided, not the lifecycle");
    assert_eq!(
        ready.checks[0].message.as_deref(),
        Some("connection refused")
    );
}

#[tokio::test(start_paused = true)]
async fn a_check_added_while_the_refresher_runs_is_run_at_once() {
    let mut config = HealthConfig::default();
    config.refresh_interval = pr_core::units::Duration::from_millis(3_600_000);
    let registry = HealthRegistry::new(config).unwrap();
    let _refresher = registry.spawn_refresher();
    registry.mark_ready().await;
    // Past the refresher's first tick.
    sleep(Duration::from_secs(1)).await;

    let runs = Arc::new(AtomicUsize::new(0));
    registry
        .add(check_fn("late", counted(&runs, Duration::ZERO)))
        .unwrap();
    // A second on the paused clock, nowhere near the refresher's next tick
    // (an hour away), and without a probe: only `add` can have run it.
    sleep(Duration::from_secs(1)).await;
    let snapshot = registry.snapshot(None);
    assert_eq!(snapshot.status, Status::Up, "{snapshot:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn with_a_refresher_a_probe_waits_for_a_late_check_instead_of_unknown() {
    let mut config = HealthConfig::default();
    config.refresh_interval = pr_core::units::Duration::from_millis(3_600_000);
    let registry = HealthRegistry::new(config).unwrap();
    let _refresher = registry.spawn_refresher();
    registry.mark_ready().await;
    sleep(Duration::from_secs(1)).await;

    let runs = Arc::new(AtomicUsize::new(0));
    registry
        .add(check_fn("late", counted(&runs, Duration::from_secs(1))))
        .unwrap();
    let ready = registry.readiness().await;
    assert_eq!(ready.status, Status::Up, "{ready:?}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the probe joined the first run"
    );
    registry.readiness().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "then answers from the cache"
    );
}

#[test]
fn invalid_config_is_rejected() {
    let mut config = HealthConfig::default();
    config.check_timeout = pr_core::units::Duration::from_millis(0);
    let err = HealthRegistry::new(config).unwrap_err();
    assert_eq!(err.code().as_str(), "health.invalid_config");
}

/// A new configuration applies while running: the Degraded status code to
/// the next probe, the default timeout to the next run, the interval from
/// the refresher's next tick; results and checks are kept.
#[tokio::test(start_paused = true)]
async fn reconfigure_applies_while_running_and_keeps_the_results() {
    let mut config = HealthConfig::default();
    config.refresh_interval = pr_core::units::Duration::from_secs(10);
    config.check_timeout = pr_core::units::Duration::from_secs(5);
    let registry = HealthRegistry::new(config.clone()).unwrap();
    let start = Instant::now();
    let runs = Arc::new(AtomicUsize::new(0));
    // Takes 2 s: within the first default timeout, past the second.
    registry
        .add(check_fn("slow", counted(&runs, Duration::from_secs(2))))
        .unwrap();
    registry
        .add(check_fn("degraded", || async { Outcome::degraded("half") }).critical(false))
        .unwrap();
    let refresher = registry.spawn_refresher();
    let report = registry.report(None).await;
    assert_eq!(report.status, Status::Degraded);
    assert_eq!(registry.config().http_status(report.status).as_u16(), 200);
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let mut changed = config.clone();
    changed.degraded_http_status = 503;
    changed.check_timeout = pr_core::units::Duration::from_secs(1);
    changed.refresh_interval = pr_core::units::Duration::from_secs(3);
    registry.reconfigure(changed).unwrap();
    assert_eq!(
        registry.config().http_status(Status::Degraded).as_u16(),
        503
    );
    // The result is kept until the next run.
    assert_eq!(registry.snapshot(None).status, Status::Degraded);
    // The tick already scheduled (at 10 s) runs with the new 1 s timeout,
    // then every 3 s.
    tokio::time::sleep_until(start + Duration::from_millis(11_500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the run at 10 s");
    let slow = registry.snapshot(None);
    let slow = slow.checks.iter().find(|c| c.name == "slow").unwrap();
    assert_eq!(slow.status, Status::Down, "timed out after 1 s: {slow:?}");
    tokio::time::sleep_until(start + Duration::from_millis(14_500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3, "then every 3 s: at 13 s");
    tokio::time::sleep_until(start + Duration::from_millis(16_500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 4, "and at 16 s");

    let mut bad = config;
    bad.check_timeout = pr_core::units::Duration::from_millis(0);
    let err = registry.reconfigure(bad).unwrap_err();
    assert_eq!(err.code().as_str(), "health.invalid_config");
    assert_eq!(
        registry.config().check_timeout.as_std(),
        Duration::from_secs(1)
    );
    drop(refresher);
}
