//! Process limits applied at start-up (open files, core dumps), with a
//! report of what was set.

use std::fmt;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::Error;

/// What to do with the open-files limit (`RLIMIT_NOFILE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenFiles {
    /// Leave it.
    Keep,
    /// Raise the soft limit to the hard limit (the default: services hold
    /// many sockets, and 1024 is a common soft limit).
    #[default]
    RaiseToHard,
    /// Set the soft limit to this many, capped at the hard limit.
    AtLeast(u64),
}

/// What to do with core dumps (`RLIMIT_CORE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoreDumps {
    /// Leave them as they are.
    Keep,
    /// Disable them (the default: a core dump holds every secret in memory).
    #[default]
    Disable,
    /// Allow them, up to the hard limit.
    Enable,
}

/// Limits to apply at start-up. `Default` raises open files to the hard
/// limit and disables core dumps.
///
/// # Examples
///
/// ```
/// use pr_resources::{CoreDumps, OpenFiles, ProcessLimits};
///
/// # fn main() -> Result<(), pr_resources::Error> {
/// let report = ProcessLimits::default()
///     .open_files(OpenFiles::RaiseToHard)
///     .core_dumps(CoreDumps::Disable)
///     .apply()?;
/// for change in &report.changes {
///     println!("{change}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct ProcessLimits {
    open_files: OpenFiles,
    core_dumps: CoreDumps,
}

impl ProcessLimits {
    /// Sets what to do with the open-files limit.
    pub const fn open_files(mut self, open_files: OpenFiles) -> Self {
        self.open_files = open_files;
        self
    }

    /// Sets what to do with core dumps.
    pub const fn core_dumps(mut self, core_dumps: CoreDumps) -> Self {
        self.core_dumps = core_dumps;
        self
    }

    /// Applies the limits to the current process and reports each one,
    /// before and after. Logs the report as a `tracing` event
    /// (`resources.limits_applied`).
    ///
    /// # Errors
    ///
    /// [`Error::Limit`] (`resources.limit_failed`) when a limit cannot be
    /// set; limits applied before it stay applied.
    pub fn apply(self) -> Result<LimitsReport, Error> {
        let mut changes = Vec::new();
        let before = getrlimit(Resource::Nofile);
        let wanted = match self.open_files {
            OpenFiles::Keep => None,
            // An unlimited hard limit cannot be the soft one for open files:
            // the kernel caps it at `fs.nr_open`.
            OpenFiles::RaiseToHard => Some(Some(before.maximum.unwrap_or_else(nr_open))),
            OpenFiles::AtLeast(n) => Some(Some(
                before
                    .current
                    .map_or(n, |current| current.max(n))
                    .min(before.maximum.unwrap_or_else(nr_open)),
            )),
        };
        changes.push(set("open_files", Resource::Nofile, &before, wanted)?);
        let before = getrlimit(Resource::Core);
        let wanted = match self.core_dumps {
            CoreDumps::Keep => None,
            CoreDumps::Disable => Some(Some(0)),
            CoreDumps::Enable => Some(before.maximum),
        };
        changes.push(set("core_dumps", Resource::Core, &before, wanted)?);
        let report = LimitsReport { changes };
        tracing::info!(target: "pr_resources", event = "resources.limits_applied", report = %report, "process limits applied");
        Ok(report)
    }
}

/// The kernel's ceiling on open files per process (`fs.nr_open`).
fn nr_open() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1 << 20)
}

fn set(
    resource: &'static str,
    which: Resource,
    before: &Rlimit,
    wanted: Option<Option<u64>>,
) -> Result<LimitChange, Error> {
    let before_limit = Limit::from(before);
    let Some(current) = wanted else {
        return Ok(LimitChange {
            resource,
            before: before_limit,
            after: before_limit,
        });
    };
    if current != before.current {
        setrlimit(
            which,
            Rlimit {
                current,
                maximum: before.maximum,
            },
        )
        .map_err(|errno| Error::Limit {
            action: "set",
            resource,
            source: errno.into(),
        })?;
    }
    Ok(LimitChange {
        resource,
        before: before_limit,
        after: Limit::from(&getrlimit(which)),
    })
}

/// A soft and a hard limit; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limit {
    /// The soft limit, which the kernel enforces.
    pub soft: Option<u64>,
    /// The hard limit, up to which an unprivileged process can raise the soft one.
    pub hard: Option<u64>,
}

impl Limit {
    /// This process's open-files limit (`RLIMIT_NOFILE`) now: what a server
    /// sizes its connection caps by.
    #[must_use]
    pub fn open_files() -> Self {
        Self::from(&getrlimit(Resource::Nofile))
    }
}

impl From<&Rlimit> for Limit {
    fn from(limit: &Rlimit) -> Self {
        Self {
            soft: limit.current,
            hard: limit.maximum,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<u64>| v.map_or_else(|| "unlimited".to_owned(), |v| v.to_string());
        write!(f, "{} (hard {})", show(self.soft), show(self.hard))
    }
}

/// One limit, before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitChange {
    /// `open_files` or `core_dumps`.
    pub resource: &'static str,
    /// Before.
    pub before: Limit,
    /// After.
    pub after: Limit,
}

impl LimitChange {
    /// Whether the limit changed.
    #[must_use]
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

impl fmt::Display for LimitChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changed() {
            write!(f, "{}: {} -> {}", self.resource, self.before, self.after)
        } else {
            write!(f, "{}: {} (unchanged)", self.resource, self.before)
        }
    }
}

/// What [`ProcessLimits::apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitsReport {
    /// One entry per limit.
    pub changes: Vec<LimitChange>,
}

impl fmt::Display for LimitsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{change}")?;
        }
        Ok(())
    }
}
