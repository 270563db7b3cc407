//! [`HealthRegistry`]: runs checks in parallel with timeouts, caches their
//! results, and answers the probes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::{Check, Error, Group, HealthConfig, Lifecycle, Outcome, Phase, Status, aggregate};

/// The checks of a service, their latest results, and its lifecycle.
///
/// Clones share everything. Results are cached for
/// [`cache_ttl`](HealthConfig::cache_ttl): a probe reuses a fresh result and
/// runs only the stale checks, all in parallel, each bounded by its timeout
/// (a check that times out or panics is `Down`), and one run of a check is
/// shared by every probe waiting on it. With a [`Refresher`] running, probes
/// answer from the cache, with each result's age; they wait only for the
/// first run of a check that has never run (bounded by its timeout), so a
/// probe never answers `Unknown` for "not run yet".
///
/// **Ready means checked.** [`mark_ready`](Self::mark_ready) turns the
/// lifecycle ready only after every registered check has run once (or timed
/// out), and a check [added](Self::add) while a refresher runs is run at
/// once rather than at the refresher's next tick.
///
/// Time is tokio's, so tests can pause and advance it.
#[derive(Clone, Debug)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Replaced whole by [`HealthRegistry::reconfigure`]; read where used.
    config: RwLock<Arc<HealthConfig>>,
    checks: RwLock<BTreeMap<String, Arc<Entry>>>,
    lifecycle: Lifecycle,
    refreshers: AtomicUsize,
}

struct Entry {
    check: Arc<dyn Check>,
    name: String,
    /// The check's own timeout; `None` takes the configuration's.
    timeout: Option<Duration>,
    critical: bool,
    groups: Vec<Group>,
    last: Mutex<Option<Run>>,
    /// Held while the check runs, so concurrent probes share one run.
    running: tokio::sync::Mutex<()>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::CheckMetrics,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
struct Run {
    outcome: Outcome,
    duration: Duration,
    finished: Instant,
}

/// One check's latest result, as a probe serves it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// Its status (`Unknown` before its first run).
    pub status: Status,
    /// Whether it is critical.
    pub critical: bool,
    /// What it said, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long its last run took.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// How long ago its last run finished.
    #[serde(rename = "age_ms", serialize_with = "as_millis")]
    pub age: Duration,
    /// Whether the result is older than [`stale_after`](HealthConfig::stale_after).
    pub stale: bool,
}

/// The answer to a probe: an overall status and the checks behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// The overall status.
    pub status: Status,
    /// The lifecycle phase when the report was made.
    pub phase: Phase,
    /// Why the status is what it is when the lifecycle decided it
    /// (`starting`, `draining`, `stopped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The checks, by name.
    pub checks: Vec<CheckReport>,
}

impl HealthReport {
    /// The checks that are not passing (`Down` or `Unknown`).
    pub fn failing(&self) -> impl Iterator<Item = &CheckReport> {
        self.checks.iter().filter(|c| !c.status.is_passing())
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl Default for HealthRegistry {
    fn default() -> Self {
        Self::from_valid(HealthConfig::default())
    }
}

impl HealthRegistry {
    /// A registry with no checks, in [`Phase::Starting`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `config` does not validate.
    pub fn new(config: HealthConfig) -> Result<Self, Error> {
        pr_core::validate::check(&config).map_err(|problems| Error::InvalidConfig { problems })?;
        Ok(Self::from_valid(config))
    }

    fn from_valid(config: HealthConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: RwLock::new(Arc::new(config)),
                checks: RwLock::new(BTreeMap::new()),
                lifecycle: Lifecycle::new(),
                refreshers: AtomicUsize::new(0),
            }),
        }
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> Arc<HealthConfig> {
        Arc::clone(&pr_core::sync::read(&self.inner.config))
    }

    /// Takes `config` while running: the cache TTL, the staleness bound,
    /// the Degraded status code, who sees details and the token apply to
    /// the next probe; the default check timeout to the next run of every
    /// check without its own; the refresh interval from the refresher's
    /// next tick. Checks, their results and the lifecycle are kept.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `config` does not validate; the
    /// registry keeps its configuration then.
    pub fn reconfigure(&self, config: HealthConfig) -> Result<(), Error> {
        pr_core::validate::check(&config).map_err(|problems| Error::InvalidConfig { problems })?;
        *pr_core::sync::write(&self.inner.config) = Arc::new(config);
        Ok(())
    }

    /// The timeout a check without its own gets now.
    fn default_timeout(&self) -> Duration {
        pr_core::sync::read(&self.inner.config)
            .check_timeout
            .as_std()
    }

    /// The lifecycle the probes answer from.
    #[must_use]
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.inner.lifecycle
    }

    /// Adds a check; it reports `Unknown` in a [`snapshot`](Self::snapshot)
    /// until its first run. While a [`Refresher`] runs, that first run starts
    /// at once (on the current tokio runtime, when there is one) instead of
    /// at the refresher's next tick, and a probe that comes before it ends
    /// waits for it rather than answering `Unknown`.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateCheck`] when a check of the same name is registered.
    pub fn add(&self, check: impl Check) -> Result<(), Error> {
        let check: Arc<dyn Check> = Arc::new(check);
        let name = check.name().to_owned();
        let entry = Arc::new(Entry {
            timeout: check.timeout(),
            critical: check.critical(),
            groups: check.groups(),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::CheckMetrics::new(&name),
            name: name.clone(),
            check,
            last: Mutex::new(None),
            running: tokio::sync::Mutex::new(()),
        });
        let mut checks = pr_core::sync::write(&self.inner.checks);
        if checks.contains_key(&name) {
            return Err(Error::DuplicateCheck { name });
        }
        checks.insert(name, Arc::clone(&entry));
        drop(checks);
        if self.inner.refreshers.load(Ordering::Acquire) > 0
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(run(entry, Fresh::Any, self.default_timeout()));
        }
        Ok(())
    }

    /// Removes a check; returns whether it was there.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; whether it was there is informational"
    )]
    pub fn remove(&self, name: &str) -> bool {
        pr_core::sync::write(&self.inner.checks)
            .remove(name)
            .is_some()
    }

    /// The names of the registered checks, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        pr_core::sync::read(&self.inner.checks)
            .keys()
            .cloned()
            .collect()
    }

    fn entries(&self, group: Option<&Group>) -> Vec<Arc<Entry>> {
        let checks = pr_core::sync::read(&self.inner.checks);
        checks
            .values()
            .filter(|e| group.is_none_or(|g| e.groups.contains(g)))
            .cloned()
            .collect()
    }

    /// The checks of `group` (all checks for `None`): runs the stale ones in
    /// parallel and waits for them, unless a [`Refresher`] is running, in
    /// which case it answers from the cache, waiting only for checks that
    /// have never run (see [`warm_up`](Self::warm_up)).
    pub async fn report(&self, group: Option<&Group>) -> HealthReport {
        let fresh = if self.inner.refreshers.load(Ordering::Acquire) == 0 {
            Fresh::Younger(self.config().cache_ttl.as_std())
        } else {
            Fresh::Any
        };
        self.refresh_unless(group, fresh).await;
        self.snapshot(group)
    }

    /// Runs every check that has never run, in parallel, each bounded by its
    /// timeout, and waits for them; a first run already under way (the
    /// refresher's, or one [`add`](Self::add) started) is waited for, not
    /// repeated. Afterwards every check registered before the call has a
    /// result: its outcome, or `Down` when it timed out or panicked.
    pub async fn warm_up(&self) {
        self.refresh_unless(None, Fresh::Any).await;
    }

    /// Startup is complete: [`warm_up`](Self::warm_up), then
    /// [`Lifecycle::mark_ready`]. So the readiness probe never answers
    /// `Unknown` once the lifecycle is ready; a check that failed its first
    /// run makes it `Down`. Returns whether the phase changed (it does not
    /// move back from draining or stopped).
    ///
    /// Waits at most about the longest timeout of the checks that have not
    /// run yet, so a hanging check cannot hold startup forever.
    pub async fn mark_ready(&self) -> bool {
        self.warm_up().await;
        self.inner.lifecycle.mark_ready()
    }

    /// Runs every check of `group` whose result is older than `max_age`, in
    /// parallel, and waits for them all.
    pub async fn refresh(&self, group: Option<&Group>, max_age: Duration) {
        self.refresh_unless(group, Fresh::Younger(max_age)).await;
    }

    /// Runs every check of `group` whose result is not `fresh`, in
    /// parallel, and waits for them all.
    async fn refresh_unless(&self, group: Option<&Group>, fresh: Fresh) {
        let mut runs = JoinSet::new();
        for entry in self.entries(group) {
            if entry.is_fresh(fresh) {
                continue;
            }
            runs.spawn(run(entry, fresh, self.default_timeout()));
        }
        while runs.join_next().await.is_some() {}
    }

    /// The cached results of `group` (all checks for `None`), without running
    /// anything. The lifecycle is not applied; see the probe methods.
    #[must_use]
    pub fn snapshot(&self, group: Option<&Group>) -> HealthReport {
        let now = Instant::now();
        let stale_after = self.config().stale_after.as_std();
        let checks: Vec<CheckReport> = self
            .entries(group)
            .iter()
            .map(|entry| entry.report(now, stale_after))
            .collect();
        HealthReport {
            status: aggregate(checks.iter().map(|c| (c.status, c.critical))),
            phase: self.inner.lifecycle.phase(),
            reason: None,
            checks,
        }
    }

    /// The liveness probe: the `liveness` checks (process-internal only),
    /// and `Down` once the lifecycle is stopped.
    pub async fn liveness(&self) -> HealthReport {
        let report = self.report(Some(&Group::LIVENESS)).await;
        gate(report, |phase| phase == Phase::Stopped)
    }

    /// The readiness probe: `Down` until startup completes and from the
    /// moment draining begins; otherwise the `readiness` checks.
    pub async fn readiness(&self) -> HealthReport {
        let report = self.report(Some(&Group::READINESS)).await;
        gate(report, |phase| phase != Phase::Ready)
    }

    /// The startup probe: the `startup` checks, and `Down` while the
    /// lifecycle is still starting.
    pub async fn startup(&self) -> HealthReport {
        let report = self.report(Some(&Group::STARTUP)).await;
        gate(report, |phase| {
            phase == Phase::Starting || phase == Phase::Stopped
        })
    }

    /// Starts a task that runs every check at once and then each
    /// [`refresh_interval`](HealthConfig::refresh_interval), so probes answer
    /// from a warm cache and never wait once a check has run. A check added
    /// while it runs gets its first run at once. Stops when the guard is
    /// dropped.
    ///
    /// # Panics
    ///
    /// Panics when called outside a tokio runtime.
    #[must_use = "the refresher stops when its guard is dropped"]
    pub fn spawn_refresher(&self) -> Refresher {
        self.inner.refreshers.fetch_add(1, Ordering::AcqRel);
        let registry = self.clone();
        let task = tokio::spawn(async move {
            loop {
                // A run that ends from now on (a first run that `add`, a
                // probe or `mark_ready` started) counts as this tick's.
                let since = Instant::now();
                registry.refresh_unless(None, Fresh::Since(since)).await;
                // Read at each tick, so a reconfigured interval applies
                // from the next one; a refresh longer than the interval
                // is followed by the next at once.
                let period = registry.config().refresh_interval.as_std();
                tokio::time::sleep_until(since + period).await;
            }
        });
        Refresher {
            registry: self.clone(),
            task,
        }
    }
}

/// Which results a refresh reuses instead of running the check again.
#[derive(Clone, Copy, Debug)]
enum Fresh {
    /// Any result: only checks that have never run are run.
    Any,
    /// A result younger than this.
    Younger(Duration),
    /// A result that finished at or after this instant.
    Since(Instant),
}

/// `Down` with the phase as the reason when `failing(phase)`.
fn gate(mut report: HealthReport, failing: impl Fn(Phase) -> bool) -> HealthReport {
    if failing(report.phase) {
        report.status = Status::Down;
        report.reason = Some(report.phase.as_str().to_owned());
    }
    report
}

/// Runs one check unless another probe refreshed it while we waited.
async fn run(entry: Arc<Entry>, fresh: Fresh, default_timeout: Duration) {
    let _running = entry.running.lock().await;
    if entry.is_fresh(fresh) {
        return;
    }
    let started = Instant::now();
    let check = Arc::clone(&entry.check);
    // Its own task, so that a panic is contained and a timeout can abort it.
    let mut task = tokio::spawn(async move { check.check().await });
    let timeout = entry.timeout.unwrap_or(default_timeout);
    let outcome = match tokio::time::timeout(timeout, &mut task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) if join.is_panic() => Outcome::down("check panicked"),
        Ok(Err(_)) => Outcome::down("check was cancelled"),
        Err(_) => {
            task.abort();
            Outcome::down(format!("timed out after {timeout:?}"))
        }
    };
    let finished = Instant::now();
    entry.store(Run {
        outcome,
        duration: finished - started,
        finished,
    });
}

impl Entry {
    fn last(&self) -> Option<Run> {
        pr_core::sync::lock(&self.last).clone()
    }

    /// Whether the last result is `fresh` enough to reuse.
    fn is_fresh(&self, fresh: Fresh) -> bool {
        let last = pr_core::sync::lock(&self.last);
        last.as_ref().is_some_and(|run| match fresh {
            Fresh::Any => true,
            Fresh::Younger(max_age) => run.finished.elapsed() < max_age,
            Fresh::Since(instant) => run.finished >= instant,
        })
    }

    fn store(&self, run: Run) {
        #[cfg(feature = "metrics")]
        self.metrics.record(run.outcome.status(), run.duration);
        let status = run.outcome.status();
        let previous = pr_core::sync::lock(&self.last).replace(run);
        let before = previous.map_or(Status::Unknown, |p| p.outcome.status());
        if before != status {
            if status.is_passing() {
                tracing::info!(
                    target: "pr_health",
                    event = "health.check_status_changed",
                    check = %self.name,
                    from = before.as_str(),
                    to = status.as_str(),
                    "health check status changed"
                );
            } else {
                tracing::warn!(
                    target: "pr_health",
                    event = "health.check_status_changed",
                    check = %self.name,
                    from = before.as_str(),
                    to = status.as_str(),
                    "health check status changed"
                );
            }
        }
    }

    fn report(&self, now: Instant, stale_after: Duration) -> CheckReport {
        match self.last() {
            Some(run) => {
                let age = now.saturating_duration_since(run.finished);
                CheckReport {
                    name: self.name.clone(),
                    status: run.outcome.status(),
                    critical: self.critical,
                    message: run.outcome.message().map(str::to_owned),
                    duration: run.duration,
                    age,
                    stale: age > stale_after,
                }
            }
            None => CheckReport {
                name: self.name.clone(),
                status: Status::Unknown,
                critical: self.critical,
                message: Some("not run yet".to_owned()),
                duration: Duration::ZERO,
                age: Duration::ZERO,
                stale: false,
            },
        }
    }
}

/// Keeps the background refresher running; dropping it stops the refresher.
#[derive(Debug)]
#[must_use = "the refresher stops when its guard is dropped"]
pub struct Refresher {
    registry: HealthRegistry,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.task.abort();
        self.registry
            .inner
            .refreshers
            .fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The snapshot is what a status page serializes: its keys are the API.
    #[test]
    fn snapshot_serializes_with_its_field_names() {
        let report = HealthRegistry::default().snapshot(None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["status"], serde_json::to_value(report.status).unwrap());
        assert_eq!(json["phase"], serde_json::to_value(report.phase).unwrap());
        assert_eq!(json["checks"], serde_json::json!([]));
        // Left out rather than null when the lifecycle gave no reason.
        assert!(json.get("reason").is_none(), "{json}");
    }
}
