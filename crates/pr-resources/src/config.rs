//! [`ResourcesConfig`]: what the sampler reads and how often.

use std::path::PathBuf;

use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use crate::{ResourcesSnapshot, Rule};

/// What the sampler reads and how often. `Default` is safe in production:
/// one refresh a second, cgroups and GPUs on, no disk paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourcesConfig {
    /// Time between two refreshes of the background sampler (`"1s"`, at
    /// least `"10ms"`; a plain number is seconds).
    pub interval: Duration,
    /// Paths whose filesystem usage is sampled (`statvfs`): the
    /// directories a service writes to (its log files, file cache,
    /// dead-letter queue). Each gets the two free-space rules below.
    pub disk_paths: Vec<PathBuf>,
    /// A disk path whose filesystem has fewer bytes available (to an
    /// unprivileged writer) than this is a warning, so the `resources`
    /// check is Degraded before writes start failing (`"64MiB"`; a plain
    /// number is bytes); 0 turns it off.
    pub disk_min_free: ByteSize,
    /// The same for the share of the filesystem available, in percent
    /// (0 to 100; 0 turns it off).
    pub disk_min_free_percent: u8,
    /// Whether to read cgroup limits and usage.
    pub cgroups: bool,
    /// Whether to load NVML and read GPUs (with the `gpu` feature).
    pub gpu: bool,
    /// Whether to count open file descriptors on each refresh (one
    /// directory listing of `/proc/self/fd`).
    pub count_fds: bool,
}

impl Default for ResourcesConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            disk_paths: Vec::new(),
            disk_min_free: ByteSize::mib(64),
            disk_min_free_percent: 5,
            cgroups: true,
            gpu: true,
            count_fds: true,
        }
    }
}

/// Every problem at once, each at its key (`interval`, `disk_paths.0`).
impl Validate for ResourcesConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(
            self.interval.as_std() >= MIN_INTERVAL,
            "interval",
            "must be at least 10ms",
        );
        for (i, path) in self.disk_paths.iter().enumerate() {
            let key = format!("disk_paths.{i}");
            if path.as_os_str().is_empty() {
                v.error(&key, "must not be empty");
            } else if !path.is_absolute() {
                v.error(
                    &key,
                    format!("must be an absolute path, got `{}`", path.display()),
                );
            }
        }
        v.range(
            "disk_min_free_percent",
            &self.disk_min_free_percent,
            &(0..=100),
        );
    }
}

/// The shortest refresh interval: a sample reads several files of `/proc`.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

impl ResourcesConfig {
    /// The free-space rules of the disk paths: per path, `disk_free_bytes:<path>`
    /// (bytes available, warning under `disk_min_free`) and
    /// `disk_free:<path>` (share available, warning under
    /// `disk_min_free_percent`), each off when its threshold is 0.
    pub(crate) fn disk_rules(&self) -> Vec<Rule> {
        let mut rules = Vec::new();
        for path in &self.disk_paths {
            let usage = move |snapshot: &ResourcesSnapshot, path: &PathBuf| {
                snapshot.disks.iter().find(|d| &d.path == path).cloned()
            };
            if self.disk_min_free.as_u64() > 0 {
                let watched = path.clone();
                #[expect(clippy::cast_precision_loss, reason = "bytes as f64")]
                rules.push(
                    Rule::custom(format!("disk_free_bytes:{}", path.display()), move |s| {
                        usage(s, &watched).map(|d| d.available as f64)
                    })
                    .falling()
                    .warning(self.disk_min_free.as_u64() as f64),
                );
            }
            if self.disk_min_free_percent > 0 {
                let watched = path.clone();
                #[expect(clippy::cast_precision_loss, reason = "a ratio of byte counts")]
                rules.push(
                    Rule::custom(format!("disk_free:{}", path.display()), move |s| {
                        usage(s, &watched)
                            .filter(|d| d.total > 0)
                            .map(|d| d.available as f64 / d.total as f64)
                    })
                    .falling()
                    .warning(f64::from(self.disk_min_free_percent) / 100.0),
                );
            }
        }
        rules
    }

    /// Sets `interval`.
    #[must_use]
    pub fn with_interval(mut self, interval: std::time::Duration) -> Self {
        self.interval = interval.into();
        self
    }

    /// Adds a path to `disk_paths`.
    #[must_use]
    pub fn with_disk_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.disk_paths.push(path.into());
        self
    }

    /// Sets `cgroups`.
    #[must_use]
    pub const fn with_cgroups(mut self, cgroups: bool) -> Self {
        self.cgroups = cgroups;
        self
    }

    /// Sets `gpu`.
    #[must_use]
    pub const fn with_gpu(mut self, gpu: bool) -> Self {
        self.gpu = gpu;
        self
    }

    /// Sets `count_fds`.
    #[must_use]
    pub const fn with_count_fds(mut self, count_fds: bool) -> Self {
        self.count_fds = count_fds;
        self
    }
}
