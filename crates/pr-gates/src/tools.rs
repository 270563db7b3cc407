//! The cargo tools the gates use, their pinned versions, and installing them when missing.
//!
//! An install is timed on its own and reported as an [`InstallReport`], so the run charges it to
//! its `install` row instead of to the gate that needed the tool first; `--install-tools` installs
//! them all up front, as a step of its own.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::report::InstallReport;
use crate::step::{Step, TAIL_LINES};
use crate::{Config, Error};

/// The cargo tools the built-in gates may install, with the versions they install:
/// `(crate, version)`. `[workspace.metadata.pr-gates.tools]` overrides a version.
pub const PINNED_TOOLS: &[(&str, &str)] = &[
    ("cargo-hack", "0.6.46"),
    ("cargo-deny", "0.20.2"),
    ("cargo-tarpaulin", "0.37.5"),
    ("cargo-nextest", "0.9.143"),
];

/// The cargo subcommand of a tool crate: `cargo-hack` → `hack`.
fn subcommand(tool: &str) -> &str {
    tool.strip_prefix("cargo-").unwrap_or(tool)
}

pub(crate) fn is_installed(root: &Path, tool: &str) -> bool {
    Step::cargo()
        .args([subcommand(tool), "--version"])
        .run(root, &mut std::io::sink())
        .is_ok_and(|out| out.success)
}

/// The version of `tool` to install: the configuration's, else the pinned one.
pub(crate) fn pinned_version(config: &Config, tool: &str) -> Option<String> {
    config.tools.get(tool).cloned().or_else(|| {
        PINNED_TOOLS
            .iter()
            .find(|(name, _)| *name == tool)
            .map(|(_, version)| (*version).to_owned())
    })
}

/// Makes sure the cargo tool `tool` is installed, installing its pinned version when it is missing.
///
/// Returns the install's report when one was attempted (`None` when the tool was there), beside
/// the result: an install that failed is reported too, with its time.
pub(crate) fn ensure(
    root: &Path,
    config: &Config,
    tool: &str,
    search_path: Option<&OsString>,
    log: &mut dyn Write,
) -> (Option<InstallReport>, Result<(), Error>) {
    if is_installed(root, tool) {
        return (None, Ok(()));
    }
    let Some(version) = pinned_version(config, tool) else {
        return (
            None,
            Err(Error::ToolInstall {
                tool: tool.to_owned(),
                version: "(none)".to_owned(),
                reason: "it is missing and has no pinned version; add one under [workspace.metadata.pr-gates.tools]"
                    .to_owned(),
            }),
        );
    };
    let _ = writeln!(
        log,
        "  {tool} is missing: installing {tool} {version} with `cargo install --locked {tool}@{version}`"
    );
    let step = Step::cargo()
        .args(["install", "--locked"])
        .arg(format!("{tool}@{version}"))
        .echo(true)
        .search_path(search_path.cloned());
    let _ = writeln!(log, "  $ {}", step.display());
    let started = Instant::now();
    let out = step.run(root, log);
    let what = format!("{tool} {version}");
    let report = |success: bool| InstallReport::new(what.clone(), started.elapsed(), success);
    match out {
        Ok(out) if out.success => (Some(report(true)), Ok(())),
        Ok(out) => (
            Some(report(false)),
            Err(Error::ToolInstall {
                tool: tool.to_owned(),
                version,
                reason: format!(
                    "{}: {}",
                    out.status,
                    out.tail(TAIL_LINES.min(5)).join(" / ")
                ),
            }),
        ),
        Err(e) => (Some(report(false)), Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommand_strips_the_prefix() {
        assert_eq!(subcommand("cargo-hack"), "hack");
        assert_eq!(subcommand("nextest"), "nextest");
    }

    #[test]
    fn every_pin_is_a_version() {
        for (tool, version) in PINNED_TOOLS {
            assert!(tool.starts_with("cargo-"), "{tool}");
            assert_eq!(version.split('.').count(), 3, "{tool} {version}");
        }
    }

    #[test]
    fn unknown_tool_is_not_installed() {
        assert!(!is_installed(Path::new("."), "cargo-pr-gates-no-such-tool"));
    }

    #[test]
    fn a_tool_without_a_pin_is_an_error_and_no_install() {
        let mut log = Vec::new();
        let (install, result) = ensure(
            Path::new("."),
            &Config::default(),
            "cargo-pr-gates-no-such-tool",
            None,
            &mut log,
        );
        assert_eq!(install, None);
        let err = result.unwrap_err().to_string();
        assert!(err.contains("has no pinned version"), "{err}");
    }

    #[test]
    fn the_configuration_overrides_a_pin() {
        let config =
            Config::from_toml_str("[tools]\ncargo-hack = \"0.6.1\"\n", Path::new("gates.toml"))
                .unwrap();
        assert_eq!(
            pinned_version(&config, "cargo-hack").as_deref(),
            Some("0.6.1")
        );
        assert_eq!(
            pinned_version(&Config::default(), "cargo-hack").as_deref(),
            Some("0.6.46")
        );
    }
}
