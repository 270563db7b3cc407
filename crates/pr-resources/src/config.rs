//! [`ResourcesConfig`]: what the sampler reads and how often.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// What the sampler reads and how often. `Default` is safe in production:
/// one refresh a second, cgroups and GPUs on, no disk paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourcesConfig {
    /// Time between two refreshes of the background sampler, in milliseconds.
    pub interval_ms: u64,
    /// Paths whose filesystem usage is sampled (`statvfs`).
    pub disk_paths: Vec<PathBuf>,
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
            interval_ms: 1_000,
            disk_paths: Vec::new(),
            cgroups: true,
            gpu: true,
            count_fds: true,
        }
    }
}

impl ResourcesConfig {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each invalid field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.interval_ms < 10 {
            problems.push(format!(
                "resources.interval_ms: must be at least 10, got {}",
                self.interval_ms
            ));
        }
        for (i, path) in self.disk_paths.iter().enumerate() {
            if path.as_os_str().is_empty() {
                problems.push(format!("resources.disk_paths[{i}]: must not be empty"));
            } else if !path.is_absolute() {
                problems.push(format!(
                    "resources.disk_paths[{i}]: must be an absolute path, got `{}`",
                    path.display()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }

    /// Sets `interval_ms`.
    #[must_use]
    pub const fn with_interval_ms(mut self, interval_ms: u64) -> Self {
        self.interval_ms = interval_ms;
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

    /// The refresh interval.
    #[must_use]
    pub const fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}
