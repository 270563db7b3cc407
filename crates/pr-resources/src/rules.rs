//! Threshold rules on sampled values, with hysteresis and severities.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use pr_core::validate::Violation;

use crate::{Error, ResourcesSnapshot};

/// How bad a rule's value is. Ordered `Ok < Warning < Critical`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RuleSeverity {
    /// Within bounds.
    #[default]
    Ok,
    /// Past the warning threshold.
    Warning,
    /// Past the critical threshold.
    Critical,
}

impl RuleSeverity {
    /// `ok`, `warning`, `critical`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for RuleSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule reads from each snapshot: a sampled quantity (CPU, memory, pressure, disk, GPU).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reading {
    /// Process CPU, percent of one core.
    ProcessCpuPercent,
    /// Process resident memory, bytes.
    ProcessResidentBytes,
    /// Open file descriptors over their soft limit, 0 to 1.
    ProcessFdsRatio,
    /// Machine CPU, percent of all CPUs.
    SystemCpuPercent,
    /// Machine memory in use over total, 0 to 1.
    SystemMemoryRatio,
    /// Memory charged to the cgroup over its effective limit, 0 to 1
    /// (absent without a limit).
    CgroupMemoryRatio,
    /// Process resident memory over the effective memory limit (cgroup or
    /// machine), 0 to 1.
    MemoryLimitRatio,
    /// Machine memory pressure, `some avg10`, percent.
    MemoryPressure,
    /// Machine CPU pressure, `some avg10`, percent.
    CpuPressure,
    /// Used share of the filesystem of a configured disk path, 0 to 1.
    DiskRatio(PathBuf),
    /// Highest GPU memory use over total among devices, 0 to 1.
    GpuMemoryRatio,
}

impl Reading {
    /// Reads the value from a snapshot; `None` when not sampled.
    #[must_use]
    pub fn read(&self, snapshot: &ResourcesSnapshot) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "ratios and byte counts as f64")]
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        match self {
            Self::ProcessCpuPercent => Some(snapshot.process.cpu_percent),
            #[expect(clippy::cast_precision_loss, reason = "bytes as f64")]
            Self::ProcessResidentBytes => Some(snapshot.process.resident_bytes as f64),
            Self::ProcessFdsRatio => ratio(snapshot.process.open_fds, snapshot.process.max_fds?),
            Self::SystemCpuPercent => Some(snapshot.system.cpu_percent),
            Self::SystemMemoryRatio => {
                ratio(snapshot.system.memory_used, snapshot.system.memory_total)
            }
            Self::CgroupMemoryRatio => {
                let cgroup = snapshot.cgroup.as_ref()?;
                ratio(cgroup.memory_usage?, cgroup.memory_limit?)
            }
            Self::MemoryLimitRatio => {
                ratio(snapshot.process.resident_bytes, snapshot.memory_limit())
            }
            Self::MemoryPressure => Some(snapshot.system.pressure?.memory.some.avg10),
            Self::CpuPressure => Some(snapshot.system.pressure?.cpu.some.avg10),
            Self::DiskRatio(path) => snapshot
                .disks
                .iter()
                .find(|d| &d.path == path)
                .map(crate::DiskUsage::used_ratio),
            Self::GpuMemoryRatio => snapshot
                .gpu
                .devices()
                .iter()
                .filter_map(|d| ratio(d.memory_used, d.memory_total))
                .reduce(f64::max),
        }
    }
}

type ReadFn = Arc<dyn Fn(&ResourcesSnapshot) -> Option<f64> + Send + Sync>;

/// A threshold rule: a value, a warning and a critical threshold, and a
/// hysteresis band that a value must clear before the severity drops.
///
/// # Examples
///
/// ```
/// use pr_resources::{Rule, Reading};
///
/// let rule = Rule::above("memory", Reading::MemoryLimitRatio)
///     .warning(0.80)
///     .critical(0.95)
///     .hysteresis(0.05);
/// # let _ = rule;
/// ```
#[derive(Clone)]
#[must_use]
pub struct Rule {
    pub(crate) name: Arc<str>,
    read: ReadFn,
    warning: Option<f64>,
    critical: Option<f64>,
    hysteresis: f64,
    below: bool,
    readiness: bool,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("warning", &self.warning)
            .field("critical", &self.critical)
            .field("hysteresis", &self.hysteresis)
            .field("below", &self.below)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// A rule that fires when `value` rises to a threshold.
    pub fn above(name: impl Into<Arc<str>>, value: Reading) -> Self {
        Self::custom(name, move |snapshot| value.read(snapshot))
    }

    /// A rule that fires when `value` falls to a threshold (free space,
    /// available memory).
    pub fn below(name: impl Into<Arc<str>>, value: Reading) -> Self {
        let mut rule = Self::above(name, value);
        rule.below = true;
        rule
    }

    /// A rule on any value computed from a snapshot, or from elsewhere (a
    /// [`MemoryBudget`](crate::MemoryBudget)'s use); fires when it rises to a
    /// threshold unless [`falling`](Self::falling) is set.
    pub fn custom(
        name: impl Into<Arc<str>>,
        read: impl Fn(&ResourcesSnapshot) -> Option<f64> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            read: Arc::new(read),
            warning: None,
            critical: None,
            hysteresis: 0.0,
            below: false,
            readiness: false,
        }
    }

    /// A rule on a [`MemoryBudget`](crate::MemoryBudget)'s use, reserved
    /// bytes over the limit (0 to 1), rising.
    pub fn budget(name: impl Into<Arc<str>>, budget: Arc<crate::MemoryBudget>) -> Self {
        Self::custom(name, move |_| Some(budget.used_ratio()))
    }

    /// Fires when the value falls to the thresholds instead of rising.
    pub fn falling(mut self) -> Self {
        self.below = true;
        self
    }

    /// The warning threshold.
    pub fn warning(mut self, threshold: f64) -> Self {
        self.warning = Some(threshold);
        self
    }

    /// The critical threshold.
    pub fn critical(mut self, threshold: f64) -> Self {
        self.critical = Some(threshold);
        self
    }

    /// How far back past a threshold the value must go before the severity
    /// drops (default 0).
    pub fn hysteresis(mut self, band: f64) -> Self {
        self.hysteresis = band;
        self
    }

    /// Whether a critical severity takes the instance out of readiness
    /// (with the `health` feature); default false.
    pub fn readiness(mut self, readiness: bool) -> Self {
        self.readiness = readiness;
        self
    }

    /// The rule's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) const fn affects_readiness(&self) -> bool {
        self.readiness
    }

    /// Every problem of the rule, keyed `rules.<name>` (a rule is code,
    /// not configuration, so its name is the nearest thing to a key).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let key = format!("rules.{}", self.name);
        let mut problems = Vec::new();
        let mut problem = |message: String| problems.push(Violation::new(key.clone(), message));
        if self.warning.is_none() && self.critical.is_none() {
            problem("needs a warning or a critical threshold".to_owned());
        }
        for (field, value) in [
            ("warning", self.warning),
            ("critical", self.critical),
            ("hysteresis", Some(self.hysteresis)),
        ] {
            if value.is_some_and(|v| !v.is_finite()) {
                problem(format!("{field} must be finite"));
            }
        }
        if self.hysteresis < 0.0 {
            problem(format!(
                "hysteresis must not be negative, got {}",
                self.hysteresis
            ));
        }
        if let (Some(warning), Some(critical)) = (self.warning, self.critical) {
            let ordered = if self.below {
                critical <= warning
            } else {
                warning <= critical
            };
            if !ordered {
                problem(format!("warning {warning} is past critical {critical}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }

    /// The severity of `value` ignoring hysteresis.
    fn level(&self, value: f64) -> RuleSeverity {
        let past = |threshold: Option<f64>| {
            threshold.is_some_and(|t| if self.below { value <= t } else { value >= t })
        };
        if past(self.critical) {
            RuleSeverity::Critical
        } else if past(self.warning) {
            RuleSeverity::Warning
        } else {
            RuleSeverity::Ok
        }
    }

    /// The next severity from `current` given a new `value`: rises at once,
    /// drops only once the value is a hysteresis band back from the
    /// threshold.
    #[must_use]
    pub fn next(&self, current: RuleSeverity, value: f64) -> RuleSeverity {
        let raw = self.level(value);
        if raw >= current {
            return raw;
        }
        let shifted = if self.below {
            value - self.hysteresis
        } else {
            value + self.hysteresis
        };
        raw.max(self.level(shifted).min(current))
    }

    pub(crate) fn read(&self, snapshot: &ResourcesSnapshot) -> Option<f64> {
        (self.read)(snapshot)
    }

    pub(crate) fn threshold(&self, severity: RuleSeverity) -> Option<f64> {
        match severity {
            RuleSeverity::Ok => None,
            RuleSeverity::Warning => self.warning,
            RuleSeverity::Critical => self.critical,
        }
    }
}

/// A rule's state in a snapshot.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RuleStatus {
    /// The rule's name.
    #[serde(serialize_with = "serialize_arc_str")]
    pub name: Arc<str>,
    /// Its severity now.
    pub severity: RuleSeverity,
    /// The value last read; `None` when not sampled.
    pub value: Option<f64>,
    /// Whether a critical severity takes the instance out of readiness.
    pub readiness: bool,
}

/// Writes an `Arc<str>` as a string (serde's own impl needs its `rc`
/// feature, which the workspace leaves off).
fn serialize_arc_str<S: serde::Serializer>(
    value: &Arc<str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

/// A change of a rule's severity, given to listeners and to `tracing`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Alert {
    /// The rule's name.
    pub rule: Arc<str>,
    /// The new severity.
    pub severity: RuleSeverity,
    /// The severity before.
    pub previous: RuleSeverity,
    /// The value that caused the change.
    pub value: f64,
    /// The threshold of the new severity (`None` when back to `Ok`).
    pub threshold: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule() -> Rule {
        Rule::custom("r", |_| None)
            .warning(70.0)
            .critical(90.0)
            .hysteresis(5.0)
    }

    #[test]
    fn rises_at_once_drops_past_the_band() {
        let rule = rule();
        use RuleSeverity::*;
        let mut s = Ok;
        let mut seen = Vec::new();
        for v in [50.0, 71.0, 68.0, 64.0, 95.0, 86.0, 84.0, 60.0] {
            s = rule.next(s, v);
            seen.push(s);
        }
        assert_eq!(
            seen,
            [Ok, Warning, Warning, Ok, Critical, Critical, Warning, Ok]
        );
    }

    #[test]
    fn falling_rule() {
        let rule = Rule::custom("free", |_| None)
            .falling()
            .warning(0.2)
            .critical(0.1)
            .hysteresis(0.05);
        assert_eq!(rule.next(RuleSeverity::Ok, 0.15), RuleSeverity::Warning);
        assert_eq!(
            rule.next(RuleSeverity::Warning, 0.22),
            RuleSeverity::Warning
        );
        assert_eq!(rule.next(RuleSeverity::Warning, 0.26), RuleSeverity::Ok);
        assert_eq!(rule.next(RuleSeverity::Ok, 0.05), RuleSeverity::Critical);
        rule.validate().unwrap();
    }

    #[test]
    fn validation_lists_every_problem() {
        let bad = Rule::custom("x", |_| None)
            .warning(0.9)
            .critical(0.5)
            .hysteresis(-1.0);
        let Err(Error::InvalidConfig { problems }) = bad.validate() else {
            panic!("expected invalid")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(Rule::custom("y", |_| None).validate().is_err());
        assert!(
            Rule::custom("z", |_| None)
                .warning(f64::NAN)
                .validate()
                .is_err()
        );
    }

    proptest! {
        /// No flapping: values inside the band below a threshold never lower
        /// the severity; a rise is immediate.
        #[test]
        fn hysteresis_model(values in prop::collection::vec(0.0_f64..120.0, 1..40)) {
            let rule = rule();
            let mut s = RuleSeverity::Ok;
            for v in values {
                let next = rule.next(s, v);
                prop_assert!(next >= rule.level(v));
                if next < s {
                    prop_assert!(rule.level(v + 5.0) < s);
                }
                s = next;
            }
        }
    }
}
