//! [`Snapshot`]: every metric with its statistics, as plain serde data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::MetricKind;
use crate::cells::HistogramCell;
use crate::registry::{CellRef, Registry};
use pr_core::sync::read;

/// Every metric family at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Families sorted by name.
    pub families: Vec<FamilySnapshot>,
}

impl Snapshot {
    /// The family named `name`.
    #[must_use]
    pub fn family(&self, name: &str) -> Option<&FamilySnapshot> {
        self.families.iter().find(|f| f.name == name)
    }

    /// The value of the series `name` whose own labels are exactly `labels`.
    #[must_use]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&SeriesValue> {
        self.family(name)?
            .series
            .iter()
            .find(|s| {
                s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .map(|s| &s.value)
    }
}

/// One metric family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FamilySnapshot {
    /// The metric's name.
    pub name: String,
    /// Its type.
    pub kind: MetricKind,
    /// Its HELP text.
    pub help: Option<String>,
    /// Its unit (`seconds`, `bytes`).
    pub unit: Option<String>,
    /// Its series, sorted by labels; the overflow series last.
    pub series: Vec<SeriesSnapshot>,
}

/// One series: its own labels (global labels excluded) and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesSnapshot {
    /// Label names and values.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: SeriesValue,
}

/// A series' value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SeriesValue {
    /// A counter's total.
    Counter {
        /// The total.
        value: u64,
    },
    /// A gauge's value.
    Gauge {
        /// The value.
        value: f64,
    },
    /// A histogram's (or summary's) statistics.
    Histogram(HistogramSnapshot),
}

/// A histogram's statistics. Count, sum, mean, min, max and standard
/// deviation cover every sample since the series was created; quantiles
/// cover the rolling window and are within the sketch's relative error
/// ([`QUANTILE_RELATIVE_ERROR`](crate::QUANTILE_RELATIVE_ERROR)).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistogramSnapshot {
    /// Number of samples.
    pub count: u64,
    /// Sum of samples.
    pub sum: f64,
    /// Arithmetic mean, `None` without samples.
    pub mean: Option<f64>,
    /// Smallest sample.
    pub min: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
    /// Population standard deviation.
    pub stddev: Option<f64>,
    /// Median over the window.
    pub p50: Option<f64>,
    /// 90th percentile over the window.
    pub p90: Option<f64>,
    /// 99th percentile over the window.
    pub p99: Option<f64>,
    /// Cumulative counts per finite upper bound (`+Inf` is `count`).
    pub buckets: Vec<Bucket>,
}

/// One cumulative bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bucket {
    /// Upper bound (inclusive).
    pub le: f64,
    /// Samples at or below it.
    pub count: u64,
}

pub(crate) fn stats(cell: &HistogramCell) -> HistogramSnapshot {
    let read = cell.read();
    let quantiles = cell.sketch.quantiles(&[0.5, 0.9, 0.99], read.min, read.max);
    let (mean, stddev) = if read.count == 0 {
        (None, None)
    } else {
        let n = read.count as f64;
        let mean = read.sum / n;
        let variance = (read.sum_of_squares / n - mean * mean).max(0.0);
        (Some(mean), Some(variance.sqrt()))
    };
    let has = read.count > 0;
    HistogramSnapshot {
        count: read.count,
        sum: read.sum,
        mean,
        min: has.then_some(read.min),
        max: has.then_some(read.max),
        stddev,
        p50: quantiles.first().copied().flatten(),
        p90: quantiles.get(1).copied().flatten(),
        p99: quantiles.get(2).copied().flatten(),
        buckets: cell
            .bounds()
            .iter()
            .zip(&read.cumulative)
            .map(|(le, count)| Bucket {
                le: *le,
                count: *count,
            })
            .collect(),
    }
}

impl Registry {
    /// Every metric with its statistics. Runs [`upkeep`](Self::upkeep) first.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        self.upkeep();
        let families = read(&self.inner.families);
        let families = families
            .values()
            .map(|family| {
                let meta = read(&family.meta).clone();
                let all = read(&family.series);
                let series = all
                    .values()
                    .chain(family.overflow.get())
                    .map(|s| SeriesSnapshot {
                        labels: s.labels.iter().cloned().collect(),
                        value: match &s.cell {
                            CellRef::Counter(c) => SeriesValue::Counter { value: c.value() },
                            CellRef::Gauge(g) => SeriesValue::Gauge { value: g.value() },
                            CellRef::Histogram(h) => SeriesValue::Histogram(stats(h)),
                        },
                    })
                    .collect();
                FamilySnapshot {
                    name: family.name.clone(),
                    kind: family.kind,
                    help: meta.help,
                    unit: meta.unit.map(str::to_owned),
                    series,
                }
            })
            .collect();
        Snapshot { families }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The snapshot is what a status page serializes: its keys are the API.
    #[test]
    fn histogram_snapshot_serializes_with_its_field_names_and_round_trips() {
        let snapshot = HistogramSnapshot {
            count: 2,
            sum: 3.0,
            max: Some(2.0),
            buckets: vec![Bucket { le: 1.0, count: 1 }],
            ..HistogramSnapshot::default()
        };
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["count"], 2);
        assert_eq!(json["sum"], 3.0);
        assert_eq!(json["max"], 2.0);
        assert!(json["min"].is_null());
        for key in ["mean", "stddev", "p50", "p90", "p99"] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        assert_eq!(json["buckets"][0]["le"], 1.0);
        let back: HistogramSnapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, snapshot);
    }
}
