//! The bench report: criterion's results side by side with the peers, as Markdown.
//!
//! Convention: within a criterion group, the function id `ours` is the project's implementation and
//! every other function id is a peer, named by the peer crate (`governor`, `moka`). A parameterised
//! bench (`group/function/value`) is compared within the same value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::Error;

/// The function id that marks the project's own implementation in a criterion group.
pub const OURS: &str = "ours";

/// One benchmark's median, as criterion measured it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BenchResult {
    /// The criterion group (or the benchmark id for a bench outside a group).
    pub group: String,
    /// The function id within the group (`ours`, or a peer's name).
    pub function: Option<String>,
    /// The parameter, for a parameterised bench.
    pub value: Option<String>,
    /// The median time per iteration, in nanoseconds.
    pub median_ns: f64,
}

impl BenchResult {
    /// A result.
    #[must_use]
    pub fn new(
        group: impl Into<String>,
        function: Option<&str>,
        value: Option<&str>,
        median_ns: f64,
    ) -> Self {
        Self {
            group: group.into(),
            function: function.map(str::to_owned),
            value: value.map(str::to_owned),
            median_ns,
        }
    }
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: Estimate,
}

/// Parses one benchmark from the texts of criterion's `new/benchmark.json` and
/// `new/estimates.json`; `path` is only used in error messages.
///
/// # Errors
///
/// [`Error::BenchData`] when either text is not what criterion writes.
pub fn parse_result(
    benchmark_json: &str,
    estimates_json: &str,
    path: &Path,
) -> Result<BenchResult, Error> {
    let bad = |what: &str, e: serde_json::Error| Error::BenchData {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    };
    let benchmark: BenchmarkJson =
        serde_json::from_str(benchmark_json).map_err(|e| bad("benchmark.json", e))?;
    let estimates: EstimatesJson =
        serde_json::from_str(estimates_json).map_err(|e| bad("estimates.json", e))?;
    Ok(BenchResult {
        group: benchmark.group_id,
        function: benchmark.function_id,
        value: benchmark.value_str,
        median_ns: estimates.median.point_estimate,
    })
}

/// Reads every benchmark under criterion's output directory (`target/criterion`): each
/// `**/new/benchmark.json` with its `estimates.json`. With `since`, only benchmarks written at or
/// after that time (so benches that no longer exist drop out of the report).
///
/// # Errors
///
/// [`Error::Io`] when the directory or a file cannot be read, [`Error::BenchData`] when a file is
/// not what criterion writes.
pub fn read_criterion(dir: &Path, since: Option<SystemTime>) -> Result<Vec<BenchResult>, Error> {
    let mut found = Vec::new();
    find_new_dirs(dir, &mut found)?;
    let mut results = Vec::new();
    for new in found {
        let benchmark = new.join("benchmark.json");
        let estimates = new.join("estimates.json");
        if let Some(since) = since {
            let modified = std::fs::metadata(&estimates)
                .and_then(|m| m.modified())
                .map_err(|e| Error::io("read", &estimates, e))?;
            if modified < since {
                continue;
            }
        }
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Error::io("read", p, e));
        results.push(parse_result(&read(&benchmark)?, &read(&estimates)?, &new)?);
    }
    Ok(results)
}

fn find_new_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        if entry
            .file_type()
            .map_err(|e| Error::io("list", entry.path(), e))?
            .is_dir()
        {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    for path in dirs {
        if path.file_name().is_some_and(|n| n == "new") {
            if path.join("benchmark.json").is_file() {
                found.push(path);
            }
        } else if path.file_name().is_none_or(|n| n != "report") {
            find_new_dirs(&path, found)?;
        }
    }
    Ok(())
}

/// One row of the report: a group (with its parameter), our median, and one peer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Comparison {
    /// `group` or `group/value`.
    pub group: String,
    /// Our median in nanoseconds, when the group has an `ours`.
    pub ours_ns: Option<f64>,
    /// The peer's name and median in nanoseconds, when the group has one.
    pub peer: Option<(String, f64)>,
}

impl Comparison {
    /// `ours / peer`, when both exist and the peer's time is not zero.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        match (self.ours_ns, &self.peer) {
            (Some(ours), Some((_, peer))) if *peer > 0.0 => Some(ours / peer),
            _ => None,
        }
    }
}

/// Pairs results by group: one row per peer, or a single row for a group without peers. A bench
/// outside a group counts as ours. Rows are sorted by group, then peer.
#[must_use]
pub fn compare(results: &[BenchResult]) -> Vec<Comparison> {
    let mut groups: BTreeMap<String, (Option<f64>, BTreeMap<String, f64>)> = BTreeMap::new();
    for r in results {
        let key = match &r.value {
            Some(value) => format!("{}/{value}", r.group),
            None => r.group.clone(),
        };
        let entry = groups.entry(key).or_default();
        match r.function.as_deref() {
            None | Some(OURS) => entry.0 = Some(r.median_ns),
            Some(peer) => {
                entry.1.insert(peer.to_owned(), r.median_ns);
            }
        }
    }
    let mut rows = Vec::new();
    for (group, (ours_ns, peers)) in groups {
        if peers.is_empty() {
            rows.push(Comparison {
                group,
                ours_ns,
                peer: None,
            });
        } else {
            for (name, ns) in peers {
                rows.push(Comparison {
                    group: group.clone(),
                    ours_ns,
                    peer: Some((name, ns)),
                });
            }
        }
    }
    rows
}

/// A duration in nanoseconds, in the unit that reads best.
#[must_use]
pub fn format_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.2} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.2} s", ns / 1_000_000_000.0)
    }
}

/// Renders `docs/PERFORMANCE.md`: a header with `note` (the machine, how to read it), then the
/// comparison table.
#[must_use]
pub fn render_markdown(results: &[BenchResult], note: &str) -> String {
    let mut out = String::from("# Performance\n\n");
    out.push_str(
        "Generated by `cargo xtask bench` from criterion's results; do not edit by hand.\n\n",
    );
    if !note.trim().is_empty() {
        out.push_str(note.trim());
        out.push_str("\n\n");
    }
    out.push_str(
        "Each row is one criterion group: `ours` against a peer crate measured in the same run. \
         Quote the ratio (ours / peer; below 1 means we are faster), not the absolute times: \
         the machines are shared and noisy.\n\n",
    );
    let rows = compare(results);
    if rows.is_empty() {
        out.push_str("No benchmark results found.\n");
        return out;
    }
    out.push_str("| group | ours (median) | peer | peer (median) | ours / peer |\n");
    out.push_str("|---|---:|---|---:|---:|\n");
    for row in rows {
        let ours = row.ours_ns.map_or_else(|| "—".to_owned(), format_ns);
        let (peer, peer_ns) = row.peer.as_ref().map_or_else(
            || ("—".to_owned(), "—".to_owned()),
            |(n, ns)| (n.clone(), format_ns(*ns)),
        );
        let ratio = row
            .ratio()
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.2}"));
        let _ = writeln!(
            out,
            "| {} | {ours} | {peer} | {peer_ns} | {ratio} |",
            row.group
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCHMARK: &str = r#"{"group_id":"rate_limit_check","function_id":"governor","value_str":null,"throughput":null,"full_id":"rate_limit_check/governor","directory_name":"rate_limit_check/governor","title":"rate_limit_check/governor"}"#;
    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":11.7,"upper_bound":12.2},"point_estimate":11.95,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":11.8,"upper_bound":12.0},"point_estimate":11.9,"standard_error":0.05},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.2},"point_estimate":0.15,"standard_error":0.01},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.3,"upper_bound":0.5},"point_estimate":0.4,"standard_error":0.05}}"#;

    #[test]
    fn criterion_json_is_parsed() {
        let r = parse_result(BENCHMARK, ESTIMATES, Path::new("x")).unwrap();
        assert_eq!(
            r,
            BenchResult::new("rate_limit_check", Some("governor"), None, 11.9)
        );
    }

    #[test]
    fn bad_json_names_the_file() {
        let err = parse_result("{}", ESTIMATES, Path::new("target/criterion/x/new"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unreadable criterion output target/criterion/x/new: benchmark.json"),
            "{err}"
        );
        let err = parse_result(BENCHMARK, "{\"mean\":{}}", Path::new("y"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("estimates.json"), "{err}");
    }

    #[test]
    fn groups_pair_ours_with_each_peer() {
        let results = [
            BenchResult::new("cache_get", Some("ours"), None, 150.0),
            BenchResult::new("cache_get", Some("quick_cache"), None, 12.0),
            BenchResult::new("cache_get", Some("moka"), None, 187.0),
            BenchResult::new("report_render", None, None, 2_500.0),
            BenchResult::new("limiter", Some("ours"), Some("2"), 30.0),
            BenchResult::new("limiter", Some("governor"), Some("2"), 40.0),
            BenchResult::new("limiter", Some("governor"), Some("1"), 10.0),
        ];
        let rows = compare(&results);
        let summary: Vec<(String, Option<String>, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.group.clone(),
                    r.peer.as_ref().map(|p| p.0.clone()),
                    r.ratio().map(|x| format!("{x:.3}")),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "cache_get".to_owned(),
                    Some("moka".to_owned()),
                    Some("0.802".to_owned())
                ),
                (
                    "cache_get".to_owned(),
                    Some("quick_cache".to_owned()),
                    Some("12.500".to_owned())
                ),
                ("limiter/1".to_owned(), Some("governor".to_owned()), None),
                (
                    "limiter/2".to_owned(),
                    Some("governor".to_owned()),
                    Some("0.750".to_owned())
                ),
                ("report_render".to_owned(), None, None),
            ]
        );
    }

    #[test]
    fn markdown_table() {
        let results = [
            BenchResult::new("retry", Some("ours"), None, 5.0),
            BenchResult::new("retry", Some("backon"), None, 10.0),
            BenchResult::new("render", Some("ours"), None, 77_290.0),
        ];
        let md = render_markdown(&results, "Measured on a shared 2-core machine.");
        assert!(md.starts_with("# Performance\n"));
        assert!(md.contains("Measured on a shared 2-core machine.\n"));
        assert!(md.contains("| render | 77.29 µs | — | — | — |\n"), "{md}");
        assert!(
            md.contains("| retry | 5.00 ns | backon | 10.00 ns | 0.50 |\n"),
            "{md}"
        );
        assert!(render_markdown(&[], "").contains("No benchmark results found."));
    }

    #[test]
    fn units() {
        assert_eq!(format_ns(11.9), "11.90 ns");
        assert_eq!(format_ns(1_406.0), "1.41 µs");
        assert_eq!(format_ns(2_500_000.0), "2.50 ms");
        assert_eq!(format_ns(3e9), "3.00 s");
    }

    #[test]
    fn criterion_directory_is_walked() {
        let dir = pr_test_support::temp_dir("gates-criterion");
        let write = |rel: &str, bench: &str| {
            let new = dir.path().join(rel).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(new.join("benchmark.json"), bench).unwrap();
            std::fs::write(new.join("estimates.json"), ESTIMATES).unwrap();
        };
        write("rate_limit_check/governor", BENCHMARK);
        write(
            "rate_limit_check/ours",
            &BENCHMARK.replace("\"function_id\":\"governor\"", "\"function_id\":\"ours\""),
        );
        std::fs::create_dir_all(dir.path().join("report")).unwrap();
        std::fs::create_dir_all(dir.path().join("rate_limit_check/ours/base")).unwrap();
        let results = read_criterion(dir.path(), None).unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].function.as_deref(), Some("governor"));
        assert_eq!(results[1].function.as_deref(), Some("ours"));
        let future = SystemTime::now() + std::time::Duration::from_secs(3600);
        assert!(read_criterion(dir.path(), Some(future)).unwrap().is_empty());
        assert!(matches!(
            read_criterion(&dir.path().join("absent"), None),
            Err(Error::Io { .. })
        ));
    }
}
