//! The background sampler and the snapshot it publishes.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use pr_errors::CodedError;

use crate::rules::{Alert, Rule, RuleSeverity, RuleStatus};
use crate::{
    CgroupStats, Cgroups, DiskUsage, Error, GpuReader, GpuState, ProcessReader, ProcessStats,
    ResourcesConfig, SystemReader, SystemStats,
};

/// Everything one refresh measured. Cheap to read: the sampler publishes a
/// new one each refresh and readers never lock.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ResourcesSnapshot {
    /// Number of the refresh that made it (1 for the first).
    pub sequence: u64,
    /// When it was taken.
    pub taken_at: Option<SystemTime>,
    /// The current process.
    pub process: ProcessStats,
    /// The machine.
    pub system: SystemStats,
    /// Cgroup limits and usage; `None` without cgroups or when disabled.
    pub cgroup: Option<CgroupStats>,
    /// Configured disk paths that could be measured.
    pub disks: Vec<DiskUsage>,
    /// GPUs, or why none can be observed.
    pub gpu: GpuState,
    /// Each rule's state.
    pub rules: Vec<RuleStatus>,
    /// What refreshing costs the process.
    pub cost: SamplerCost,
    /// Problems of the last refresh (`code: message`); the parts that could
    /// be read are still filled in.
    pub problems: Vec<String>,
}

impl ResourcesSnapshot {
    /// The effective memory limit: the cgroup limit, or the machine's
    /// memory when smaller or without a limit. 0 before the first refresh.
    #[must_use]
    pub fn memory_limit(&self) -> u64 {
        let machine = self.system.memory_total;
        match self.cgroup.as_ref().and_then(|c| c.memory_limit) {
            Some(limit) if machine > 0 => limit.min(machine),
            Some(limit) => limit,
            None => machine,
        }
    }

    /// The CPUs the process may use (cgroup quota and cpuset over all
    /// ancestors, capped by the machine); may be fractional.
    #[must_use]
    pub fn effective_cpus(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "CPU counts are small")]
        self.cgroup
            .as_ref()
            .map_or(self.system.cpus as f64, |c| c.effective_cpus)
    }

    /// The worst severity of the rules.
    #[must_use]
    pub fn worst_severity(&self) -> RuleSeverity {
        self.rules
            .iter()
            .map(|r| r.severity)
            .max()
            .unwrap_or(RuleSeverity::Ok)
    }
}

/// The sampler's own cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SamplerCost {
    /// CPU time of the last refresh (thread CPU clock).
    pub last_cpu: Duration,
    /// Wall time of the last refresh.
    pub last_wall: Duration,
    /// Mean CPU time per refresh so far.
    pub mean_cpu: Duration,
    /// Refreshes so far.
    pub refreshes: u64,
    /// Share of one core the sampler costs at its interval
    /// (`mean_cpu / interval`): 0.0005 is 0.05 %.
    pub core_share: f64,
}

type Listener = Arc<dyn Fn(&Alert) + Send + Sync>;

struct State {
    process: Option<ProcessReader>,
    system: SystemReader,
    cgroups: Option<Cgroups>,
    gpu: Option<GpuReader>,
    previous_cpu: Option<(f64, Instant)>,
    rules: Vec<(Rule, RuleSeverity)>,
    listeners: Vec<Listener>,
    total_cpu: Duration,
    refreshes: u64,
    last_problems: Vec<String>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::Handles,
}

struct Inner {
    /// Replaced by [`Sampler::reconfigure`]; read at each refresh.
    config: ArcSwap<ResourcesConfig>,
    // In its own `Arc` so that a `SnapshotReader`'s cache can hold it.
    snapshot: Arc<ArcSwap<ResourcesSnapshot>>,
    state: Mutex<State>,
}

/// Samples the process, the machine, cgroups, disks and GPUs, and publishes
/// a [`ResourcesSnapshot`] any thread reads without locking.
///
/// [`refresh`](Self::refresh) samples now; [`spawn`](Self::spawn) refreshes
/// on the configured interval on tokio's time (tests pause and advance it).
/// Clones share the same sampler.
#[derive(Clone)]
pub struct Sampler {
    inner: Arc<Inner>,
}

impl fmt::Debug for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler")
            .field("config", &self.inner.config.load())
            .field("sequence", &self.inner.snapshot.load().sequence)
            .finish_non_exhaustive()
    }
}

impl Sampler {
    /// Validates `config`, finds the process's cgroups, loads NVML (feature
    /// `gpu`) and takes a first snapshot.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an invalid configuration. Failures to
    /// read a source are not errors here: they are listed in
    /// [`ResourcesSnapshot::problems`].
    pub fn new(config: ResourcesConfig) -> Result<Self, Error> {
        pr_core::validate::check(&config).map_err(|problems| Error::InvalidConfig { problems })?;
        let mut problems = Vec::new();
        let process = ProcessReader::new()
            .map_err(|err| problems.push(describe(&err)))
            .ok();
        let cgroups = if config.cgroups {
            Cgroups::discover()
                .map_err(|err| problems.push(describe(&err)))
                .ok()
        } else {
            None
        };
        let gpu = config.gpu.then(GpuReader::new);
        let state = State {
            process,
            system: SystemReader::new(),
            cgroups,
            gpu,
            previous_cpu: None,
            rules: config
                .disk_rules()
                .into_iter()
                .map(|rule| (rule, RuleSeverity::Ok))
                .collect(),
            listeners: Vec::new(),
            total_cpu: Duration::ZERO,
            refreshes: 0,
            last_problems: problems,
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::Handles::new(&config),
        };
        let sampler = Self {
            inner: Arc::new(Inner {
                config: ArcSwap::from_pointee(config),
                snapshot: Arc::new(ArcSwap::from_pointee(ResourcesSnapshot::default())),
                state: Mutex::new(state),
            }),
        };
        sampler.refresh();
        Ok(sampler)
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> Arc<ResourcesConfig> {
        self.inner.config.load_full()
    }

    /// Takes `config` while running, from the next refresh: the interval
    /// (from the background task's next tick), the disk paths and their
    /// free-space rules (a rule whose path stays keeps its severity, so
    /// only a real crossing alerts), and whether open files are counted.
    /// Rules added with [`add_rule`](Self::add_rule), listeners and the
    /// snapshot are kept. `cgroups` and `gpu` choose readers at
    /// [`new`](Self::new): a change of those is refused.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `config` does not validate or changes
    /// `cgroups` or `gpu`; nothing changes then.
    pub fn reconfigure(&self, config: ResourcesConfig) -> Result<(), Error> {
        pr_core::validate::check(&config).map_err(|problems| Error::InvalidConfig { problems })?;
        let mut state = self.state();
        let current = self.inner.config.load();
        let mut problems = pr_core::validate::Validator::new();
        for (key, fixed) in [
            ("cgroups", current.cgroups == config.cgroups),
            ("gpu", current.gpu == config.gpu),
        ] {
            problems.check(
                fixed,
                key,
                "is read at start: a change needs a new sampler (a restart)",
            );
        }
        let problems = problems.into_problems();
        if !problems.is_empty() {
            return Err(Error::InvalidConfig { problems });
        }
        // The configuration's disk rules are replaced; a rule of the same
        // name keeps its severity.
        let old: std::collections::HashSet<Arc<str>> =
            current.disk_rules().into_iter().map(|r| r.name).collect();
        let mut kept = std::collections::HashMap::new();
        state.rules.retain(|(rule, severity)| {
            if old.contains(&rule.name) {
                kept.insert(Arc::clone(&rule.name), *severity);
                false
            } else {
                true
            }
        });
        let disk_rules = config.disk_rules();
        for (i, rule) in disk_rules.into_iter().enumerate() {
            let severity = kept.get(&rule.name).copied().unwrap_or(RuleSeverity::Ok);
            state.rules.insert(i, (rule, severity));
        }
        drop(current);
        self.inner.config.store(Arc::new(config));
        Ok(())
    }

    /// The latest snapshot, without locking or reference counting: a few
    /// nanoseconds. Hold the guard briefly; use [`snapshot`](Self::snapshot)
    /// to keep one.
    #[must_use]
    #[inline]
    pub fn latest(&self) -> SnapshotGuard {
        SnapshotGuard(self.inner.snapshot.load())
    }

    /// A reader for one thread or task that caches the latest snapshot:
    /// [`SnapshotReader::latest`] costs one atomic load while nothing new
    /// was published, the fastest way to read in a hot loop.
    #[must_use]
    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader(arc_swap::Cache::new(Arc::clone(&self.inner.snapshot)))
    }

    /// The latest snapshot, as an `Arc` to keep.
    #[must_use]
    pub fn snapshot(&self) -> Arc<ResourcesSnapshot> {
        self.inner.snapshot.load_full()
    }

    /// Adds a threshold rule, evaluated on every refresh from the next one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a rule without thresholds, with
    /// thresholds out of order, or a negative hysteresis.
    pub fn add_rule(&self, rule: Rule) -> Result<(), Error> {
        rule.validate()?;
        self.state().rules.push((rule, RuleSeverity::Ok));
        Ok(())
    }

    /// Calls `listener` on every change of a rule's severity (after the
    /// `tracing` event). Listeners run on the sampler's thread: keep them short.
    pub fn on_alert(&self, listener: impl Fn(&Alert) + Send + Sync + 'static) {
        self.state().listeners.push(Arc::new(listener));
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A listener that panicked leaves valid state behind.
        pr_core::sync::lock(&self.inner.state)
    }

    /// Samples everything now, evaluates the rules, publishes and returns
    /// the new snapshot.
    pub fn refresh(&self) -> Arc<ResourcesSnapshot> {
        let started_cpu = thread_cpu_time();
        let started = Instant::now();
        let mut state = self.state();
        // Under the state's lock, as `reconfigure` changes both.
        let config = self.inner.config.load_full();
        let mut problems = Vec::new();

        let system = state.system.read().unwrap_or_else(|err| {
            problems.push(describe(&err));
            SystemStats::default()
        });
        let boot_time = (system.boot_time > 0).then_some(system.boot_time);
        let mut process = match &state.process {
            Some(reader) => {
                let result = if config.count_fds {
                    reader.read(boot_time)
                } else {
                    reader.read_without_fds(boot_time)
                };
                result.unwrap_or_else(|err| {
                    problems.push(describe(&err));
                    ProcessStats::default()
                })
            }
            None => ProcessStats::default(),
        };
        let now = Instant::now();
        if let Some((cpu, at)) = state.previous_cpu {
            let wall = now.duration_since(at).as_secs_f64();
            if wall > 0.0 {
                process.cpu_percent = ((process.cpu_seconds - cpu) / wall * 100.0).max(0.0);
            }
        }
        state.previous_cpu = Some((process.cpu_seconds, now));

        let cgroup = state.cgroups.as_ref().and_then(|cgroups| {
            cgroups
                .read(system.cpus)
                .map_err(|err| problems.push(describe(&err)))
                .ok()
        });
        let disks = config
            .disk_paths
            .iter()
            .filter_map(|path| {
                DiskUsage::of(path)
                    .map_err(|err| problems.push(describe(&err)))
                    .ok()
            })
            .collect();
        let gpu = match &state.gpu {
            Some(reader) => reader.read(),
            None => GpuState::Absent {
                reason: "disabled in the configuration".to_owned(),
            },
        };

        state.refreshes += 1;
        let previous = self.inner.snapshot.load();
        let mut snapshot = ResourcesSnapshot {
            sequence: previous.sequence + 1,
            taken_at: Some(SystemTime::now()),
            process,
            system,
            cgroup,
            disks,
            gpu,
            rules: Vec::with_capacity(state.rules.len()),
            cost: previous.cost,
            problems,
        };
        drop(previous);

        let mut alerts = Vec::new();
        for (rule, severity) in &mut state.rules {
            let value = rule.read(&snapshot);
            if let Some(value) = value {
                let next = rule.next(*severity, value);
                if next != *severity {
                    alerts.push(Alert {
                        rule: Arc::clone(&rule.name),
                        severity: next,
                        previous: *severity,
                        value,
                        threshold: rule.threshold(next),
                    });
                    *severity = next;
                }
            }
            snapshot.rules.push(RuleStatus {
                name: Arc::clone(&rule.name),
                severity: *severity,
                value,
                readiness: rule.affects_readiness(),
            });
        }

        if snapshot.problems != state.last_problems {
            for problem in &snapshot.problems {
                tracing::warn!(target: "pr_resources", event = "resources.sample_failed", problem = %problem, "resource sampling failed");
            }
            state.last_problems.clone_from(&snapshot.problems);
        }

        let cpu = thread_cpu_time().saturating_sub(started_cpu);
        state.total_cpu += cpu;
        let refreshes = u32::try_from(state.refreshes).unwrap_or(u32::MAX);
        let mean_cpu = state.total_cpu / refreshes.max(1);
        snapshot.cost = SamplerCost {
            last_cpu: cpu,
            last_wall: started.elapsed(),
            mean_cpu,
            refreshes: state.refreshes,
            core_share: mean_cpu.as_secs_f64() / config.interval.as_std().as_secs_f64(),
        };
        #[cfg(feature = "metrics")]
        state.metrics.update(&snapshot);

        let snapshot = Arc::new(snapshot);
        self.inner.snapshot.store(Arc::clone(&snapshot));
        let listeners = state.listeners.clone();
        drop(state);
        for alert in &alerts {
            emit(alert);
            for listener in &listeners {
                listener(alert);
            }
        }
        snapshot
    }

    /// Refreshes every interval on a tokio task, until the returned handle
    /// is dropped or stopped. The first refresh is one interval from now
    /// ([`new`](Self::new) took one already).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(&self) -> SamplerTask {
        let sampler = self.clone();
        let task = tokio::spawn(async move {
            let mut next = tokio::time::Instant::now();
            loop {
                // Read at each tick, so a reconfigured interval applies
                // from the next one.
                next += sampler.inner.config.load().interval.as_std();
                tokio::time::sleep_until(next).await;
                // A refresh later than its tick (a busy runtime) moves the
                // ticks after it, rather than catching up in a burst.
                next = next.max(tokio::time::Instant::now());
                sampler.refresh();
            }
        });
        SamplerTask(task)
    }
}

fn emit(alert: &Alert) {
    let (rule, severity, previous, value) = (
        &*alert.rule,
        alert.severity.as_str(),
        alert.previous.as_str(),
        alert.value,
    );
    let threshold = alert.threshold;
    match alert.severity {
        RuleSeverity::Critical => {
            tracing::error!(
                target: "pr_resources",
                event = "resources.alert",
                rule, severity, previous, value, threshold,
                "resource threshold crossed"
            );
        }
        RuleSeverity::Warning => {
            tracing::warn!(
                target: "pr_resources",
                event = "resources.alert",
                rule, severity, previous, value, threshold,
                "resource threshold crossed"
            );
        }
        RuleSeverity::Ok => {
            tracing::info!(
                target: "pr_resources",
                event = "resources.alert_cleared",
                rule, severity, previous, value,
                "resource threshold cleared"
            );
        }
    }
}

fn describe(err: &Error) -> String {
    format!("{}: {}", err.code(), pr_errors::chain(err))
}

/// The calling thread's CPU time.
fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or_default(),
        u32::try_from(now.tv_nsec).unwrap_or_default(),
    )
}

/// A borrowed snapshot; see [`Sampler::latest`].
pub struct SnapshotGuard(arc_swap::Guard<Arc<ResourcesSnapshot>>);

impl Deref for SnapshotGuard {
    type Target = ResourcesSnapshot;
    #[inline]
    fn deref(&self) -> &ResourcesSnapshot {
        &self.0
    }
}

impl fmt::Debug for SnapshotGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ResourcesSnapshot::fmt(self, f)
    }
}

/// A caching reader of the latest snapshot; see [`Sampler::reader`].
pub struct SnapshotReader(arc_swap::Cache<Arc<ArcSwap<ResourcesSnapshot>>, Arc<ResourcesSnapshot>>);

impl SnapshotReader {
    /// The latest snapshot: one atomic load and a comparison unless a new
    /// one was published since the last call.
    #[inline]
    pub fn latest(&mut self) -> &ResourcesSnapshot {
        self.0.load()
    }
}

impl fmt::Debug for SnapshotReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotReader").finish_non_exhaustive()
    }
}

/// The background refresh task of [`Sampler::spawn`]; stops when dropped.
#[must_use = "the sampler stops when its task handle is dropped"]
#[derive(Debug)]
pub struct SamplerTask(tokio::task::JoinHandle<()>);

impl SamplerTask {
    /// Stops refreshing.
    pub fn stop(self) {}
}

impl Drop for SamplerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The snapshot is what a status page serializes: its keys are the API.
    #[test]
    fn snapshot_serializes_with_its_field_names() {
        let snapshot = ResourcesSnapshot {
            sequence: 3,
            rules: vec![RuleStatus {
                name: Arc::from("memory"),
                severity: RuleSeverity::Warning,
                value: Some(0.9),
                readiness: true,
            }],
            ..ResourcesSnapshot::default()
        };
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["sequence"], 3);
        for key in [
            "taken_at", "process", "system", "cgroup", "disks", "gpu", "cost", "problems",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        assert!(json["process"].get("cpu_seconds").is_some());
        assert!(json["system"].get("memory_total").is_some());
        assert_eq!(json["gpu"]["absent"]["reason"], "not sampled");
        assert_eq!(json["rules"][0]["name"], "memory");
        assert_eq!(json["rules"][0]["severity"], "warning");
        assert!(json["cost"].get("refreshes").is_some());
    }
}
