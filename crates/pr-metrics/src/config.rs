//! [`MetricsConfig`]: global labels, label limits, expiry, buckets, windows.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{DEFAULT_BUCKETS, Error, buckets, lint};

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
    /// Series whose value has not changed for this many seconds, and that no
    /// handle outside the registry holds, are dropped at the next scrape.
    /// 0 keeps every series forever.
    pub idle_timeout_secs: u64,
    /// Bucket bounds of histograms that have none of their own (seconds).
    pub default_buckets: Vec<f64>,
    /// Bucket bounds per histogram name.
    pub buckets: BTreeMap<String, Vec<f64>>,
    /// Histogram names exposed as summaries (quantiles over the window)
    /// instead of buckets.
    pub summaries: Vec<String>,
    /// Quantiles a summary exposes, each in `[0, 1]`.
    pub summary_quantiles: Vec<f64>,
    /// Length of the rolling window of histogram quantiles, in seconds.
    pub quantile_window_secs: u64,
    /// How many steps the window turns in (2 to 16); each step costs at
    /// most 4 KiB per histogram series.
    pub quantile_window_slices: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            global_labels: BTreeMap::new(),
            max_series_per_metric: 1_000,
            idle_timeout_secs: 0,
            default_buckets: DEFAULT_BUCKETS.to_vec(),
            buckets: BTreeMap::new(),
            summaries: Vec::new(),
            summary_quantiles: vec![0.5, 0.9, 0.99],
            quantile_window_secs: 60,
            quantile_window_slices: 4,
        }
    }
}

impl MetricsConfig {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each invalid field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        for name in self.global_labels.keys() {
            if let Err(e) = lint::check_label("global_labels", name, &[]) {
                problems.push(format!("metrics.global_labels: {e}"));
            }
        }
        if self.max_series_per_metric == 0 {
            problems.push("metrics.max_series_per_metric: must be at least 1, got 0".to_owned());
        }
        if let Err(e) = buckets::validate("default_buckets", &self.default_buckets) {
            problems.push(format!("metrics.default_buckets: {e}"));
        }
        for (name, bounds) in &self.buckets {
            if let Err(e) = buckets::validate(name, bounds) {
                problems.push(format!("metrics.buckets.{name}: {e}"));
            }
        }
        if let Some(q) = self
            .summary_quantiles
            .iter()
            .find(|q| !(0.0..=1.0).contains(*q))
        {
            problems.push(format!(
                "metrics.summary_quantiles: each must be between 0 and 1, got {q}"
            ));
        }
        if self.quantile_window_secs == 0 {
            problems.push("metrics.quantile_window_secs: must be at least 1, got 0".to_owned());
        }
        if !(2..=16).contains(&self.quantile_window_slices) {
            problems.push(format!(
                "metrics.quantile_window_slices: must be between 2 and 16, got {}",
                self.quantile_window_slices
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }

    /// The idle time after which unheld series are dropped, if any.
    #[must_use]
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }

    /// The rolling window of quantiles.
    #[must_use]
    pub fn quantile_window(&self) -> Duration {
        Duration::from_secs(self.quantile_window_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_errors::CodedError;

    #[test]
    fn default_is_valid() {
        MetricsConfig::default().validate().unwrap();
    }

    #[test]
    fn every_problem_is_reported() {
        let config = MetricsConfig {
            global_labels: BTreeMap::from([("bad-name".to_owned(), "x".to_owned())]),
            max_series_per_metric: 0,
            default_buckets: vec![2.0, 1.0],
            summary_quantiles: vec![1.5],
            quantile_window_secs: 0,
            quantile_window_slices: 1,
            ..MetricsConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.code().as_str(), "metrics.invalid_config");
        let Error::InvalidConfig { problems } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(err.to_string().contains("metrics.quantile_window_slices"));
    }

    #[test]
    fn deserializes_with_defaults() {
        let config: MetricsConfig =
            serde_json::from_str(r#"{"global_labels":{"service":"api"},"idle_timeout_secs":300}"#)
                .unwrap();
        assert_eq!(config.idle_timeout(), Some(Duration::from_secs(300)));
        assert_eq!(config.max_series_per_metric, 1_000);
    }
}
