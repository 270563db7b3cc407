//! Statistics against a straightforward reference, and bounded memory.

use pr_metrics::{QUANTILE_RELATIVE_ERROR, Registry};
use proptest::prelude::*;

/// The exact nearest-rank quantile of `sorted`.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn statistics_match_a_reference(values in prop::collection::vec(1e-6f64..1e6, 1..400)) {
        let registry = Registry::default();
        let histogram = registry.histogram("sample_value_seconds", &[]).unwrap();
        for v in &values {
            histogram.record(*v);
        }
        let stats = histogram.snapshot();
        let n = values.len() as f64;
        let sum: f64 = values.iter().sum();
        let mean = sum / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);

        prop_assert_eq!(stats.count, values.len() as u64);
        prop_assert!((stats.sum - sum).abs() <= 1e-9 * sum.abs().max(1.0));
        prop_assert!((stats.mean.unwrap() - mean).abs() <= 1e-9 * mean.abs().max(1.0));
        prop_assert_eq!(stats.min, Some(sorted[0]));
        prop_assert_eq!(stats.max, Some(sorted[sorted.len() - 1]));
        // Sum of squares loses precision when the spread is small next to the mean.
        let sd = stats.stddev.unwrap();
        prop_assert!((sd - variance.sqrt()).abs() <= 1e-6 * mean.abs().max(1.0), "{} vs {}", sd, variance.sqrt());
        for (q, got) in [(0.5, stats.p50), (0.9, stats.p90), (0.99, stats.p99)] {
            let exact = nearest_rank(&sorted, q);
            let got = got.unwrap();
            prop_assert!(
                ((got - exact) / exact).abs() <= QUANTILE_RELATIVE_ERROR,
                "q{}: {} vs exact {}", q, got, exact
            );
        }
        // Buckets are cumulative and le-inclusive.
        for bucket in &stats.buckets {
            let expected = values.iter().filter(|v| **v <= bucket.le).count() as u64;
            prop_assert_eq!(bucket.count, expected);
        }
    }
}

/// Resident set size in bytes, from `/proc/self/statm`.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn ten_million_records_without_a_scrape_keep_memory_flat() {
    let registry = Registry::default();
    let histogram = registry
        .histogram("flat_memory_seconds", &[("kind", "test")])
        .unwrap();
    // Warm up: allocate the window's slots.
    for i in 0..10_000u32 {
        histogram.record(f64::from(i % 1000) / 1000.0);
    }
    let before = rss_bytes();
    for i in 0..10_000_000u32 {
        histogram.record(f64::from(i % 100_000) * 1e-4);
    }
    let growth = rss_bytes().saturating_sub(before);
    assert_eq!(histogram.snapshot().count, 10_010_000);
    // Keeping the samples would take 80 MB; allow 4 MiB of noise.
    assert!(growth < 4 << 20, "RSS grew by {growth} bytes");
}
