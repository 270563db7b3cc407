//! pr-metrics' error type and codes.

use std::fmt;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-metrics defines.
    pub static CODES;

    /// A metric or label name has characters outside `[a-zA-Z_][a-zA-Z0-9_]*` or uses the reserved `:`.
    pub INVALID_NAME = "metrics.invalid_name", INTERNAL_SERVER_ERROR, permanent;
    /// A metric or label name is written in camelCase instead of snake_case.
    pub NOT_SNAKE_CASE = "metrics.not_snake_case", INTERNAL_SERVER_ERROR, permanent;
    /// A counter's name does not end with `_total`.
    pub COUNTER_WITHOUT_TOTAL = "metrics.counter_without_total", INTERNAL_SERVER_ERROR, permanent;
    /// A gauge, histogram or summary name ends with `_total`, which is for counters.
    pub TOTAL_ON_NON_COUNTER = "metrics.total_on_non_counter", INTERNAL_SERVER_ERROR, permanent;
    /// A name ends with a suffix the exposition formats reserve (`_bucket`, `_count`, `_sum`, `_created`).
    pub RESERVED_SUFFIX = "metrics.reserved_suffix", INTERNAL_SERVER_ERROR, permanent;
    /// A name contains its metric type (`_counter`, `_gauge`, `_histogram`, `_summary`).
    pub TYPE_IN_NAME = "metrics.type_in_name", INTERNAL_SERVER_ERROR, permanent;
    /// A name or unit uses a non-base unit (milliseconds, kilobytes, percent); use seconds, bytes, ratio.
    pub NON_BASE_UNIT = "metrics.non_base_unit", INTERNAL_SERVER_ERROR, permanent;
    /// A name contains an abbreviated unit (`_ms`, `_sec`, `_kb`).
    pub ABBREVIATED_UNIT = "metrics.abbreviated_unit", INTERNAL_SERVER_ERROR, permanent;
    /// A metric has a unit but its name does not end with that unit (`_seconds`, `_bytes`).
    pub UNIT_SUFFIX = "metrics.unit_suffix", INTERNAL_SERVER_ERROR, permanent;
    /// A label name is invalid or appears twice in one label set.
    pub INVALID_LABEL = "metrics.invalid_label", INTERNAL_SERVER_ERROR, permanent;
    /// A label name is reserved (`__*`, `le`, `quantile`, or a global label).
    pub RESERVED_LABEL = "metrics.reserved_label", INTERNAL_SERVER_ERROR, permanent;
    /// A name is already registered as another metric type.
    pub KIND_CONFLICT = "metrics.kind_conflict", INTERNAL_SERVER_ERROR, permanent;
    /// Histogram buckets are empty, not finite or not strictly increasing.
    pub INVALID_BUCKETS = "metrics.invalid_buckets", INTERNAL_SERVER_ERROR, permanent;
    /// The metrics configuration has invalid values.
    pub INVALID_CONFIG = "metrics.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// A global `metrics` recorder is already installed in this process.
    pub RECORDER_INSTALLED = "metrics.recorder_installed", INTERNAL_SERVER_ERROR, permanent;
}

/// What can go wrong when configuring the registry or registering a metric.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric name, label name or unit breaks a naming rule of
    /// `promtool check metrics`. The name is never rewritten.
    #[error("metric `{name}`: {rule}")]
    Lint {
        /// The metric's name as registered.
        name: String,
        /// The rule it breaks.
        rule: LintRule,
    },
    /// The name is registered already, as another metric type.
    #[error("metric `{name}` is already registered as a {existing}, not a {requested}")]
    KindConflict {
        /// The metric's name.
        name: String,
        /// The type it has.
        existing: MetricKind,
        /// The type asked for.
        requested: MetricKind,
    },
    /// Histogram bucket bounds are unusable.
    #[error("invalid buckets for `{name}`: {reason}")]
    InvalidBuckets {
        /// The histogram's name (or `default_buckets`).
        name: String,
        /// What is wrong with them.
        reason: String,
    },
    /// The configuration is invalid; every problem is listed.
    #[error("invalid metrics configuration: {}", pr_core::validate::join(problems))]
    InvalidConfig {
        /// Every problem, each at its key.
        problems: Vec<pr_core::validate::Violation>,
    },
    /// `install()` found a global recorder already set.
    #[error("a global metrics recorder is already installed in this process")]
    RecorderInstalled,
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::Lint { rule, .. } => rule.info(),
            Self::KindConflict { .. } => &KIND_CONFLICT,
            Self::InvalidBuckets { .. } => &INVALID_BUCKETS,
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::RecorderInstalled => &RECORDER_INSTALLED,
        }
    }
}

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonic count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Fixed buckets plus statistics.
    Histogram,
    /// A histogram exposed as quantiles over a rolling window.
    Summary,
}

impl MetricKind {
    /// The name used in `# TYPE` lines.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A naming rule of `promtool check metrics` that a registration breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LintRule {
    /// Empty, or characters outside `[a-zA-Z_][a-zA-Z0-9_]*` (`:` is for recording rules).
    InvalidName,
    /// `camelCase` in a metric or label name.
    NotSnakeCase {
        /// The offending name.
        name: String,
    },
    /// A counter without the `_total` suffix.
    CounterWithoutTotal,
    /// `_total` on something other than a counter.
    TotalOnNonCounter,
    /// A suffix the formats reserve for histogram and summary series.
    ReservedSuffix {
        /// The suffix, with its underscore.
        suffix: &'static str,
    },
    /// The metric's type appears in its name.
    TypeInName {
        /// The type.
        kind: MetricKind,
    },
    /// A non-base unit; the base unit to use instead.
    NonBaseUnit {
        /// The unit found.
        found: String,
        /// The base unit to use.
        base: &'static str,
    },
    /// An abbreviated unit in the name.
    AbbreviatedUnit {
        /// The abbreviation.
        abbreviation: &'static str,
    },
    /// The name does not end with the metric's unit.
    UnitSuffix {
        /// The unit's suffix the name lacks.
        unit: &'static str,
    },
    /// A label name that is not `[a-zA-Z_][a-zA-Z0-9_]*`, or appears twice.
    InvalidLabel {
        /// The label name.
        label: String,
    },
    /// A reserved label name.
    ReservedLabel {
        /// The label name.
        label: String,
    },
}

impl LintRule {
    /// The code of this rule.
    #[must_use]
    pub fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidName => &INVALID_NAME,
            Self::NotSnakeCase { .. } => &NOT_SNAKE_CASE,
            Self::CounterWithoutTotal => &COUNTER_WITHOUT_TOTAL,
            Self::TotalOnNonCounter => &TOTAL_ON_NON_COUNTER,
            Self::ReservedSuffix { .. } => &RESERVED_SUFFIX,
            Self::TypeInName { .. } => &TYPE_IN_NAME,
            Self::NonBaseUnit { .. } => &NON_BASE_UNIT,
            Self::AbbreviatedUnit { .. } => &ABBREVIATED_UNIT,
            Self::UnitSuffix { .. } => &UNIT_SUFFIX,
            Self::InvalidLabel { .. } => &INVALID_LABEL,
            Self::ReservedLabel { .. } => &RESERVED_LABEL,
        }
    }
}

impl fmt::Display for LintRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName => f.write_str(
                "names must match [a-zA-Z_][a-zA-Z0-9_]* (`:` is reserved for recording rules)",
            ),
            Self::NotSnakeCase { name } => {
                write!(f, "`{name}` must be written in snake_case, not camelCase")
            }
            Self::CounterWithoutTotal => f.write_str("counter names must end with `_total`"),
            Self::TotalOnNonCounter => f.write_str("only counter names may end with `_total`"),
            Self::ReservedSuffix { suffix } => {
                write!(
                    f,
                    "the suffix `{suffix}` is reserved by the exposition formats"
                )
            }
            Self::TypeInName { kind } => write!(f, "names must not include their type `{kind}`"),
            Self::NonBaseUnit { found, base } => {
                write!(f, "use the base unit `{base}` instead of `{found}`")
            }
            Self::AbbreviatedUnit { abbreviation } => {
                write!(
                    f,
                    "names must not use the abbreviated unit `{abbreviation}`"
                )
            }
            Self::UnitSuffix { unit } => {
                write!(
                    f,
                    "a metric in {unit} must have a name ending with `_{unit}`"
                )
            }
            Self::InvalidLabel { label } => write!(
                f,
                "label `{label}` is not a valid label name or appears twice in one label set"
            ),
            Self::ReservedLabel { label } => write!(f, "label name `{label}` is reserved"),
        }
    }
}
