//! Prometheus' `promtool` (Debian's `prometheus` package), on real
//! exposition text.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// A `promtool` command.
///
/// # Panics
///
/// When `promtool` is not installed (`.ci/run` installs it).
#[must_use]
pub fn promtool() -> Command {
    assert!(
        Command::new("promtool").arg("--version").output().is_ok(),
        "promtool is missing: install Debian's `prometheus` package (.ci/run does)"
    );
    Command::new("promtool")
}

/// Runs `promtool check metrics` on `text` (the Prometheus text format).
///
/// # Errors
///
/// What promtool said, when it refuses the text (a syntax error, or a
/// lint finding such as a metric without help text), or when it accepts it
/// but says anything at all (a finding a later promtool might only warn
/// about).
///
/// # Panics
///
/// When `promtool` is not installed or cannot be run.
pub fn check_metrics(text: &str) -> Result<(), String> {
    let mut child = promtool()
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("promtool's stdin is piped"))
        .write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("cannot write to promtool: {e}"));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("promtool did not finish: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{} {said}", output.status))
    }
}

/// Runs `promtool` with `args` in the directory `dir` (so that relative
/// paths, and the `rule_files` a rule test names, resolve there).
///
/// # Errors
///
/// The exit status and what promtool printed, when it exits unsuccessfully.
///
/// # Panics
///
/// When `promtool` is not installed or cannot be run.
pub fn promtool_run(args: &[&str], dir: &Path) -> Result<String, String> {
    let mut command = promtool();
    command.args(args);
    crate::tools::run(command, &format!("promtool {}", args.join(" ")), dir)
}

/// Parses `text` (`OpenMetrics` 1.0, exemplars included) with promtool's
/// `OpenMetrics` parser: `promtool tsdb create-blocks-from openmetrics`, the
/// one promtool command that reads the format (`check metrics` reads only
/// Prometheus text 0.0.4, and refuses any exemplar). The importer needs a
/// timestamp on every sample, so each gets the same one, before its
/// exemplar when it has one.
///
/// # Errors
///
/// What promtool said, with the text it read, when it refuses the text.
///
/// # Panics
///
/// When `promtool` is not installed, or a temporary directory cannot be
/// made or written.
pub fn check_openmetrics(text: &str) -> Result<(), String> {
    let stamped: String = text
        .lines()
        .map(|line| {
            if line.starts_with('#') {
                format!("{line}\n")
            } else if let Some((sample, exemplar)) = line.split_once(" # ") {
                format!("{sample} 1700000000 # {exemplar}\n")
            } else {
                format!("{line} 1700000000\n")
            }
        })
        .collect();
    let dir = crate::temp_dir("openmetrics");
    let file = dir.path().join("metrics.om");
    std::fs::write(&file, &stamped)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
    let blocks = dir.path().join("blocks");
    let output = promtool()
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&file)
        .arg(&blocks)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    if output.status.success() && blocks.exists() {
        Ok(())
    } else {
        Err(format!(
            "{} {}{}\n{stamped}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_openmetrics;

    const VALID: &str = "# TYPE rpc_calls counter\n\
        rpc_calls_total 2 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 1 1700000000.123\n\
        # EOF\n";

    #[test]
    fn openmetrics_with_an_exemplar_parses_and_a_broken_one_does_not() {
        check_openmetrics(VALID).unwrap();
        let broken = VALID.replace("{trace_id=", "trace_id=");
        assert!(check_openmetrics(&broken).is_err(), "{broken}");
    }
}
