//! External checkers from `PyPI` that the tests run on the shipped files the
//! way a user's own tooling would: `kubernetes-validate` (the Kubernetes
//! schemas, carried by the package, so it runs offline) and
//! `check-jsonschema` (with the schemas it carries, such as the Compose
//! specification's).
//!
//! Both are looked up on `PATH`, like `promtool`: `cargo xtask gates`
//! installs them into `target/pr-gates/venv` and puts its `bin/`
//! first on the tests' `PATH`. A missing tool fails the test with a message
//! naming it and how to install it; it never skips.

use std::path::Path;
use std::process::Command;

/// The `kubernetes-validate` version the gates install (the root
/// `Cargo.toml`'s `[workspace.metadata.pr-gates.system-tools]`).
pub const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";

/// The `check-jsonschema` version the gates install (the root
/// `Cargo.toml`'s `[workspace.metadata.pr-gates.system-tools]`).
pub const CHECK_JSONSCHEMA: &str = "check-jsonschema==0.39.0";

/// A command running the `PyPI` tool `program`, installed from `requirement`.
///
/// # Panics
///
/// When `program` is not installed: the message names it and the pip
/// command that installs it.
#[must_use]
pub fn python_tool(program: &str, requirement: &str) -> Command {
    assert!(
        Command::new(program).arg("--version").output().is_ok(),
        "{program} is missing: `cargo xtask gates` installs the PyPI tools into \
         target/pr-gates/venv, whose bin/ the gates put first on PATH; by hand: `python3 -m venv \
         target/pr-gates/venv && target/pr-gates/venv/bin/pip install '{requirement}'`, then \
         PATH=\"$PWD/target/pr-gates/venv/bin:$PATH\""
    );
    Command::new(program)
}

/// Runs `command` in `dir`: what it printed, or (when it exits
/// unsuccessfully) its exit status and what it printed.
pub(crate) fn run(mut command: Command, what: &str, dir: &Path) -> Result<String, String> {
    let output = command
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(said)
    } else {
        Err(format!("{what}: {} {said}", output.status))
    }
}

/// Runs `kubernetes-validate --strict` (unknown fields are errors, not
/// ignored) against the schemas of Kubernetes `version` (such as `1.34.0`)
/// on `files`, in `dir`.
///
/// # Errors
///
/// The exit status and what the tool printed, when a file does not validate.
///
/// # Panics
///
/// When `kubernetes-validate` is not installed or cannot be run.
pub fn kubernetes_validate(version: &str, files: &[&Path], dir: &Path) -> Result<String, String> {
    let mut command = python_tool("kubernetes-validate", KUBERNETES_VALIDATE);
    command.args(["--strict", "--kubernetes-version", version]);
    command.args(files);
    run(command, "kubernetes-validate", dir)
}

/// Runs `check-jsonschema --builtin-schema schema` (one of the schemas the
/// tool carries, such as `vendor.compose-spec`) on `file`, in `dir`.
///
/// # Errors
///
/// The exit status and what the tool printed, when the file does not match.
///
/// # Panics
///
/// When `check-jsonschema` is not installed or cannot be run.
pub fn check_jsonschema(schema: &str, file: &Path, dir: &Path) -> Result<String, String> {
    let mut command = python_tool("check-jsonschema", CHECK_JSONSCHEMA);
    command.args(["--builtin-schema", schema]).arg(file);
    run(command, "check-jsonschema", dir)
}
