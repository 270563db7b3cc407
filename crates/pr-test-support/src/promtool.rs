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
