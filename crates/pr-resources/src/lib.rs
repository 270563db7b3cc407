//! Process, system, cgroup, disk and GPU sampling with a lock-free snapshot,
//! memory budgets, start-up limits and threshold alerts.
//!
//! What a service needs to know about the machine it runs on, cheaply and
//! correctly inside containers:
//!
//! - a [`Sampler`] that refreshes in the background and publishes a
//!   [`ResourcesSnapshot`] that any thread reads without locking: the process (CPU
//!   seconds and percent, resident and virtual memory, open and maximum file
//!   descriptors, threads, start time), the machine (CPU, load averages,
//!   memory, swap, pressure stall information), disk usage of configured
//!   paths, cgroup v1 and v2 limits walked over every ancestor (effective
//!   memory limit, effective CPU count as floor and ceiling), GPUs, and what
//!   the sampler itself costs ([`SamplerCost`]);
//! - a [`MemoryBudget`]: reservations that grow and shrink against a limit
//!   taken from the cgroup less headroom, released on drop, refused with a
//!   coded error instead of an OOM kill;
//! - threshold [`Rule`]s with hysteresis and [`RuleSeverity`] levels; changes go
//!   to listeners and to `tracing` as [`Alert`]s;
//! - [`ProcessLimits`] applied at start-up, with a [`LimitsReport`].
//!
//! Linux is read directly from `/proc` and `/sys/fs/cgroup` (one `pread` of
//! a file kept open per process refresh); the parsers are public so that
//! their behaviour on any input can be checked.
//!
//! Beside its siblings: `pr-health` turns rules and budgets into checks
//! (feature `health`), and metrics go through the `metrics` facade (feature
//! `metrics`), so any recorder (`pr-metrics` among them) exposes them.
//!
//! # Examples
//!
//! ```
//! use pr_resources::{MemoryBudget, ResourcesConfig, Rule, Sampler, Reading};
//!
//! # fn main() -> Result<(), pr_resources::Error> {
//! let sampler = Sampler::new(ResourcesConfig::default().with_disk_path("/"))?;
//! sampler.add_rule(
//!     Rule::above("memory", Reading::MemoryLimitRatio)
//!         .warning(0.8)
//!         .critical(0.95)
//!         .hysteresis(0.05)
//!         .readiness(true),
//! )?;
//! sampler.on_alert(|alert| eprintln!("{} is now {}", alert.rule, alert.severity));
//!
//! let snapshot = sampler.refresh(); // or `sampler.spawn()` in a tokio runtime
//! assert!(snapshot.process.resident_bytes > 0);
//! assert!(snapshot.effective_cpus() > 0.0);
//! assert!(snapshot.memory_limit() > 0);
//! assert_eq!(sampler.latest().sequence, snapshot.sequence);
//!
//! // A budget of the effective memory limit less 64 MiB of headroom.
//! let budget = MemoryBudget::from_cgroup("requests", 64 << 20)?;
//! let reservation = budget.reserve(1 << 20)?;
//! assert_eq!(budget.used(), 1 << 20);
//! drop(reservation);
//! assert_eq!(budget.used(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `health`: [`ResourcesCheck`] (rules as a readiness check: `Degraded` on
//!   a warning, `Down` on a critical readiness rule) and [`BudgetCheck`].
//!
//!   ```toml
//!   pr-resources = { version = "0.1", features = ["health"] }
//!   ```
//! - `metrics`: `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//!   `process_open_fds`, ... and `pr_system_*`, `pr_cgroup_*`, `pr_gpu_*`
//!   through the `metrics` facade, set on every refresh.
//!
//!   ```toml
//!   pr-resources = { version = "0.1", features = ["metrics"] }
//!   ```
//! - `gpu`: NVIDIA GPUs through NVML (nvml-wrapper), loaded at run time. No
//!   driver, no device: [`GpuState::Absent`], a state and not an error.
//!
//!   ```toml
//!   pr-resources = { version = "0.1", features = ["gpu"] }
//!   ```
//!
//! - `schema`: `schemars::JsonSchema` on [`ResourcesConfig`] and the types it holds,
//!   so pr-config can generate its templates (`docs/config/` holds them).
//!
//!   ```toml
//!   pr-resources = { version = "0.1", features = ["schema"] }
//!   ```
//!
//! # Errors
//!
//! [`Error`], with codes in [`codes`] (`resources.read_failed`,
//! `resources.budget_exceeded`, ...). Sampling itself never fails: what
//! could not be read is listed in [`ResourcesSnapshot::problems`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod budget;
mod cgroup;
mod config;
mod disk;
mod error;
mod gpu;
#[cfg(feature = "health")]
mod health;
mod limits;
#[cfg(feature = "metrics")]
mod metrics;
mod process;
mod procfs;
mod rules;
mod sampler;
mod system;

pub use budget::{MemoryBudget, OwnedReservation, Reservation, effective_memory_limit};
pub use cgroup::{CgroupDir, CgroupStats, CgroupVersion, Cgroups};
pub use config::ResourcesConfig;
pub use disk::DiskUsage;
pub use error::Error;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        BUDGET_EXCEEDED, CODES, INVALID_CONFIG, LIMIT_FAILED, PARSE_FAILED, READ_FAILED,
        UNSUPPORTED,
    };
}
pub use gpu::{GpuDevice, GpuProcess, GpuReader, GpuState};
#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
pub use health::{BudgetCheck, ResourcesCheck};
pub use limits::{CoreDumps, Limit, LimitChange, LimitsReport, OpenFiles, ProcessLimits};
pub use process::{CpuMemory, ProcessReader, ProcessStats};
pub use procfs::{Pressure, PressureLine};
pub use rules::{Alert, Reading, Rule, RuleSeverity, RuleStatus};
pub use sampler::{
    ResourcesSnapshot, Sampler, SamplerCost, SamplerTask, SnapshotGuard, SnapshotReader,
};
pub use system::{PressureStats, SystemReader, SystemStats};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
