//! The background sampler on tokio's paused time, threshold rules and alerts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_resources::{Alert, Reading, ResourcesConfig, Rule, RuleSeverity, Sampler};

/// A disk path, without the free-space rules (these tests count their own
/// rules; `health::a_disk_path_short_of_free_space_...` tests those).
fn config() -> ResourcesConfig {
    let mut config = ResourcesConfig::default().with_disk_path("/");
    config.disk_min_free = pr_core::units::ByteSize(0);
    config.disk_min_free_percent = 0;
    config
}

#[tokio::test(start_paused = true)]
async fn refreshes_on_the_interval_and_publishes() {
    let sampler = Sampler::new(config()).unwrap();
    assert_eq!(sampler.latest().sequence, 1);
    let task = sampler.spawn();
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let snapshot = sampler.snapshot();
    assert_eq!(snapshot.sequence, 4);
    assert_eq!(snapshot.cost.refreshes, 4);
    assert!(snapshot.cost.mean_cpu > Duration::ZERO);
    assert!(snapshot.cost.core_share > 0.0);
    assert!(snapshot.problems.is_empty(), "{:?}", snapshot.problems);
    assert_eq!(snapshot.disks.len(), 1);
    assert!(snapshot.process.resident_bytes > 0);
    assert!(snapshot.process.open_fds > 0);
    assert!(snapshot.system.memory_total > 0);
    assert!(snapshot.cgroup.is_some());
    assert!(snapshot.gpu.is_absent() || !snapshot.gpu.devices().is_empty());
    eprintln!(
        "sampler cost per refresh: {:?} CPU, {:?} wall; share of one core at 1 Hz: {:.5} %",
        snapshot.cost.mean_cpu,
        snapshot.cost.last_wall,
        snapshot.cost.core_share * 100.0
    );
    task.stop();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(sampler.latest().sequence, 4, "stopped");
}

#[test]
fn a_reader_keeps_its_snapshot_while_new_ones_are_published() {
    let sampler = Sampler::new(config()).unwrap();
    let held = sampler.snapshot();
    let guard = sampler.latest();
    sampler.refresh();
    assert_eq!(held.sequence, 1);
    assert_eq!(guard.sequence, 1);
    assert_eq!(sampler.latest().sequence, 2);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut reader = sampler.reader();
                let mut last = 0;
                for _ in 0..1_000 {
                    let seq = sampler.latest().sequence;
                    assert!(seq >= last);
                    let cached = reader.latest().sequence;
                    assert!(cached >= seq);
                    last = seq;
                }
            });
        }
        for _ in 0..20 {
            sampler.refresh();
        }
    });
    assert_eq!(sampler.latest().sequence, 22);
    let mut reader = sampler.reader();
    assert_eq!(reader.latest().sequence, 22);
    sampler.refresh();
    assert_eq!(
        reader.latest().sequence,
        23,
        "a cached reader sees a new snapshot"
    );
}

#[test]
fn rules_alert_with_hysteresis_to_listeners() {
    let sampler = Sampler::new(config()).unwrap();
    let level = Arc::new(AtomicU64::new(0));
    let read = Arc::clone(&level);
    #[expect(clippy::cast_precision_loss, reason = "small test values")]
    sampler
        .add_rule(
            Rule::custom("queue", move |_| Some(read.load(Ordering::Relaxed) as f64))
                .warning(70.0)
                .critical(90.0)
                .hysteresis(5.0),
        )
        .unwrap();
    sampler
        .add_rule(Rule::above("cpu", Reading::SystemCpuPercent).critical(101.0))
        .unwrap();
    let alerts = Arc::new(Mutex::new(Vec::<Alert>::new()));
    let sink = Arc::clone(&alerts);
    sampler.on_alert(move |alert| sink.lock().unwrap().push(alert.clone()));

    for value in [50, 75, 68, 95, 88, 60] {
        level.store(value, Ordering::Relaxed);
        let snapshot = sampler.refresh();
        assert_eq!(snapshot.rules.len(), 2);
        assert_eq!(snapshot.rules[1].severity, RuleSeverity::default());
    }
    let seen: Vec<(RuleSeverity, RuleSeverity, f64)> = alerts
        .lock()
        .unwrap()
        .iter()
        .map(|a| (a.previous, a.severity, a.value))
        .collect();
    use RuleSeverity::{Critical, Ok, Warning};
    assert_eq!(
        seen,
        [
            (Ok, Warning, 75.0),
            (Warning, Critical, 95.0),
            (Critical, Ok, 60.0)
        ]
    );
    assert_eq!(sampler.latest().worst_severity(), Ok);

    let bad = Rule::above("x", Reading::ProcessCpuPercent)
        .warning(2.0)
        .critical(1.0);
    assert_eq!(
        pr_errors::CodedError::code(&sampler.add_rule(bad).unwrap_err()).as_str(),
        "resources.invalid_config"
    );
}

#[test]
fn budget_rule_alerts_on_use() {
    let sampler = Sampler::new(config()).unwrap();
    let budget = Arc::new(pr_resources::MemoryBudget::new("cache", 1_000));
    sampler
        .add_rule(
            Rule::budget("cache", Arc::clone(&budget))
                .warning(0.8)
                .critical(0.95),
        )
        .unwrap();
    assert_eq!(sampler.refresh().worst_severity(), RuleSeverity::default());
    let held = budget.reserve(900).unwrap();
    let snapshot = sampler.refresh();
    let cache = snapshot.rules.iter().find(|r| &*r.name == "cache").unwrap();
    assert_eq!(cache.severity, RuleSeverity::Warning);
    assert_eq!(cache.value, Some(0.9));
    drop(held);
    assert_eq!(sampler.refresh().worst_severity(), RuleSeverity::default());
}

#[test]
fn built_in_values_read_from_the_snapshot() {
    let sampler = Sampler::new(config()).unwrap();
    let snapshot = sampler.refresh();
    for value in [
        Reading::ProcessCpuPercent,
        Reading::ProcessResidentBytes,
        Reading::ProcessFdsRatio,
        Reading::SystemCpuPercent,
        Reading::SystemMemoryRatio,
        Reading::MemoryLimitRatio,
        Reading::DiskRatio("/".into()),
    ] {
        let v = value
            .read(&snapshot)
            .unwrap_or_else(|| panic!("{value:?} not sampled"));
        assert!(v.is_finite() && v >= 0.0, "{value:?} = {v}");
    }
    assert_eq!(
        Reading::DiskRatio("/elsewhere".into()).read(&snapshot),
        None
    );
    assert_eq!(
        Reading::GpuMemoryRatio.read(&snapshot).is_some(),
        !snapshot.gpu.is_absent()
    );
}

#[test]
fn config_validation_reports_every_problem() {
    let config = ResourcesConfig::default()
        .with_interval(Duration::ZERO)
        .with_disk_path("relative")
        .with_disk_path("");
    let err = Sampler::new(config).unwrap_err();
    let pr_resources::Error::InvalidConfig { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["interval", "disk_paths.0", "disk_paths.1"]);
    assert!(
        err.to_string().contains("interval: must be at least 10ms"),
        "{err}"
    );
    let parsed: ResourcesConfig =
        serde_json::from_str(r#"{"interval": "250ms", "disk_min_free": "1GiB"}"#).unwrap();
    assert_eq!(parsed.interval.as_std(), Duration::from_millis(250));
    assert_eq!(parsed.disk_min_free.as_u64(), 1 << 30);
    // A plain number is seconds; the millisecond key went before 0.1.
    let plain: ResourcesConfig = serde_json::from_str(r#"{"interval": 5}"#).unwrap();
    assert_eq!(plain.interval.as_std(), Duration::from_secs(5));
    assert!(serde_json::from_str::<ResourcesConfig>(r#"{"interval_ms": 5000}"#).is_err());
}

#[test]
fn missing_disk_path_is_a_problem_not_an_error() {
    let sampler = Sampler::new(
        ResourcesConfig::default()
            .with_disk_path("/no/such/dir")
            .with_gpu(false)
            .with_cgroups(false)
            .with_count_fds(false),
    )
    .unwrap();
    let snapshot = sampler.latest();
    assert!(snapshot.disks.is_empty());
    assert_eq!(snapshot.problems.len(), 1);
    assert!(snapshot.problems[0].starts_with("resources.read_failed: cannot read `/no/such/dir`"));
    assert!(snapshot.cgroup.is_none());
    assert!(snapshot.gpu.is_absent());
    assert_eq!(snapshot.process.open_fds, 0);
}

/// Records the `event` field and level of every `tracing` event.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visitor(Option<String>);
        impl tracing::field::Visit for Visitor {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "event" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut visitor = Visitor(None);
        event.record(&mut visitor);
        if let Some(name) = visitor.0 {
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), name));
        }
    }
}

#[test]
fn alerts_are_tracing_events() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    let sampler = Sampler::new(config()).unwrap();
    let level = Arc::new(AtomicU64::new(0));
    let read = Arc::clone(&level);
    #[expect(clippy::cast_precision_loss, reason = "small test values")]
    sampler
        .add_rule(
            Rule::custom("depth", move |_| Some(read.load(Ordering::Relaxed) as f64))
                .warning(1.0)
                .critical(2.0),
        )
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for value in [1, 2, 0] {
            level.store(value, Ordering::Relaxed);
            sampler.refresh();
        }
    });
    let seen = events.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (tracing::Level::WARN, "resources.alert".to_owned()),
            (tracing::Level::ERROR, "resources.alert".to_owned()),
            (tracing::Level::INFO, "resources.alert_cleared".to_owned()),
        ]
    );
}

/// A new configuration applies while running: the disk rules follow the new
/// thresholds (the real root filesystem: a threshold above its size always
/// warns, 0 turns the rule off), the interval from the next tick; the rules
/// added in code, listeners and snapshots are kept; `cgroups` and `gpu`
/// cannot change.
#[tokio::test(start_paused = true)]
async fn reconfigure_applies_thresholds_and_interval_while_running() {
    let sampler = Sampler::new(config().with_gpu(false)).unwrap();
    sampler
        .add_rule(Rule::custom("own", |_| Some(1.0)).warning(0.5))
        .unwrap();
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&alerts);
    sampler.on_alert(move |alert| seen.lock().unwrap().push(alert.rule.to_string()));
    let task = sampler.spawn();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let names = |s: &Sampler| -> Vec<String> {
        s.latest()
            .rules
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    };
    assert_eq!(names(&sampler), ["own"]);
    let before = sampler.latest().sequence;

    let mut changed = (*sampler.config()).clone();
    changed.disk_min_free = pr_core::units::ByteSize(u64::MAX / 2);
    changed.interval = pr_core::units::Duration::from_secs(10);
    sampler.reconfigure(changed.clone()).unwrap();
    // The tick already due (at 2 s) comes, then one every 10 s.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let snapshot = sampler.latest();
    assert_eq!(snapshot.sequence, before + 1);
    assert_eq!(names(&sampler), ["disk_free_bytes:/", "own"]);
    assert_eq!(snapshot.rules[0].severity, RuleSeverity::Warning);
    drop(snapshot);
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(sampler.latest().sequence, before + 1, "none at 11.5 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sampler.latest().sequence, before + 2, "the next at 12 s");
    assert_eq!(
        *alerts.lock().unwrap(),
        ["own", "disk_free_bytes:/"],
        "the new rule alerted once"
    );

    // The same rule again keeps its severity: no second alert.
    let mut again = changed.clone();
    again.count_fds = false;
    sampler.reconfigure(again).unwrap();
    sampler.refresh();
    assert_eq!(alerts.lock().unwrap().len(), 2);
    // Off: the rule goes.
    let mut off = changed;
    off.disk_min_free = pr_core::units::ByteSize(0);
    sampler.reconfigure(off.clone()).unwrap();
    sampler.refresh();
    assert_eq!(names(&sampler), ["own"]);

    let mut fixed = off;
    fixed.gpu = true;
    let err = sampler.reconfigure(fixed).unwrap_err();
    assert!(err.to_string().contains("gpu: is read at start"), "{err}");
    assert!(!sampler.config().gpu);
    task.stop();
}
