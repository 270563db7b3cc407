//! [`MetricsConfig`]: global labels, label limits, expiry, buckets, windows.

use std::collections::BTreeMap;

use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use crate::{DEFAULT_BUCKETS, buckets, lint};

/// How the registry behaves. `Default` is safe in production.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Labels added to every series, such as `service` and `instance`.
    /// Series may not use these names themselves.
    pub global_labels: BTreeMap<String, String>,
    /// Most label sets one metric may have. Samples with a further label set
    /// go to one overflow series labelled `metric_overflow="true"`, and a
    /// warning is logged once for the metric.
    pub max_series_per_metric: usize,
    /// Series whose value has not changed for this long, and that no handle
    /// outside the registry holds, are dropped at the next scrape (`"10m"`;
    /// a plain number is seconds). `"0s"` keeps every series forever.
    pub idle_timeout: Duration,
    /// Bucket bounds of histograms that have none of their own (seconds).
    pub default_buckets: Vec<f64>,
    /// Bucket bounds per histogram name.
    pub buckets: BTreeMap<String, Vec<f64>>,
    /// Histogram names exposed as summaries (quantiles over the window)
    /// instead of buckets.
    pub summaries: Vec<String>,
    /// Quantiles a summary exposes, each in `[0, 1]`.
    pub summary_quantiles: Vec<f64>,
    /// Length of the rolling window of histogram quantiles (`"1m"`; a plain
    /// number is seconds).
    pub quantile_window: Duration,
    /// How many steps the window turns in (2 to 16); each step costs at
    /// most 4 KiB per histogram series.
    pub quantile_window_slices: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            global_labels: BTreeMap::new(),
            max_series_per_metric: 1_000,
            idle_timeout: Duration::from_secs(0),
            default_buckets: DEFAULT_BUCKETS.to_vec(),
            buckets: BTreeMap::new(),
            summaries: Vec::new(),
            summary_quantiles: vec![0.5, 0.9, 0.99],
            quantile_window: Duration::from_secs(60),
            quantile_window_slices: 4,
        }
    }
}

/// Every problem at once, each at its key (`max_series_per_metric`,
/// `buckets.<name>`).
impl Validate for MetricsConfig {
    fn validate(&self, v: &mut Validator) {
        for name in self.global_labels.keys() {
            if let Err(e) = lint::check_label("global_labels", name, &[]) {
                v.error("global_labels", e.to_string());
            }
        }
        v.check(
            self.max_series_per_metric > 0,
            "max_series_per_metric",
            "must be at least 1, got 0",
        );
        if let Err(e) = buckets::validate("default_buckets", &self.default_buckets) {
            v.error("default_buckets", e.to_string());
        }
        for (name, bounds) in &self.buckets {
            if let Err(e) = buckets::validate(name, bounds) {
                v.error(&format!("buckets.{name}"), e.to_string());
            }
        }
        if let Some(q) = self
            .summary_quantiles
            .iter()
            .find(|q| !(0.0..=1.0).contains(*q))
        {
            v.error(
                "summary_quantiles",
                format!("each must be between 0 and 1, got {q}"),
            );
        }
        v.check(
            !self.quantile_window.as_std().is_zero(),
            "quantile_window",
            "must be greater than 0",
        );
        v.range(
            "quantile_window_slices",
            &self.quantile_window_slices,
            &(2..=16),
        );
    }
}

impl MetricsConfig {
    /// The idle time after which unheld series are dropped, if any.
    pub(crate) fn series_idle_limit(&self) -> Option<std::time::Duration> {
        let idle = self.idle_timeout.as_std();
        (!idle.is_zero()).then_some(idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use pr_core::validate::check;
    use pr_errors::CodedError;

    #[test]
    fn default_is_valid() {
        check(&MetricsConfig::default()).unwrap();
    }

    #[test]
    fn every_problem_is_reported() {
        let config = MetricsConfig {
            global_labels: BTreeMap::from([("bad-name".to_owned(), "x".to_owned())]),
            max_series_per_metric: 0,
            default_buckets: vec![2.0, 1.0],
            summary_quantiles: vec![1.5],
            quantile_window: Duration::from_secs(0),
            quantile_window_slices: 1,
            ..MetricsConfig::default()
        };
        let err = Error::InvalidConfig {
            problems: check(&config).unwrap_err(),
        };
        assert_eq!(err.code().as_str(), "metrics.invalid_config");
        let Error::InvalidConfig { problems } = &err else {
            panic!("{err}")
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "global_labels",
                "max_series_per_metric",
                "default_buckets",
                "summary_quantiles",
                "quantile_window",
                "quantile_window_slices"
            ],
            "{problems:?}"
        );
        assert!(
            err.to_string()
                .contains("quantile_window_slices: must be between 2 and 16")
        );
    }

    #[test]
    fn deserializes_with_defaults() {
        let config: MetricsConfig =
            serde_json::from_str(r#"{"global_labels":{"service":"api"},"idle_timeout":"5m"}"#)
                .unwrap();
        assert_eq!(
            config.series_idle_limit(),
            Some(std::time::Duration::from_secs(300))
        );
        // The seconds keys went before 0.1: they are unknown now.
        assert!(serde_json::from_str::<MetricsConfig>(r#"{"idle_timeout_secs":300}"#).is_err());
        assert_eq!(config.max_series_per_metric, 1_000);
    }
}
