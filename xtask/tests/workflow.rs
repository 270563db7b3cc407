//! The CI workflow users copy, `.github/workflows/ci.yml`, checked the way GitHub's own tooling
//! would: `check-jsonschema` with the GitHub workflow schema it carries (offline). The real file must
//! pass, and the same file with a misspelt key must fail, naming the key, so the tidy gate's
//! `workflow schema` command is known to catch one. The workflow `cargo xtask gates init` writes
//! into an adopting workspace (`pr_gates::init::WORKFLOW`) must pass too.
//!
//! `check-jsonschema` is a system tool of this workspace: `cargo xtask gates` installs it (into
//! `target/pr-gates/venv`, first on the tests' `PATH`) when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workflow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/ci.yml")
}

fn check(file: &Path) -> Output {
    Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run check-jsonschema ({e}): `cargo xtask gates` installs it, or \
                 `pip install check-jsonschema` (see [workspace.metadata.pr-gates.system-tools])"
            )
        })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_workflow_matches_the_github_schema_and_a_misspelt_key_does_not() {
    let good = workflow();
    let out = check(&good);
    assert!(out.status.success(), "{}", text(&out));

    let original = std::fs::read_to_string(&good).unwrap();
    assert!(
        original.contains("    runs-on: "),
        "the job names its runner"
    );
    let misspelt = original.replacen("    runs-on: ", "    run-on: ", 1);
    let dir = std::env::temp_dir().join(format!("xtask-workflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("ci.yml");
    std::fs::write(&bad, misspelt).unwrap();
    let out = check(&bad);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success(), "a misspelt key passed");
    let said = text(&out);
    assert!(said.contains("run-on"), "the message names the key: {said}");
}

#[test]
fn the_workflow_gates_init_writes_matches_the_github_schema() {
    let dir = std::env::temp_dir().join(format!("xtask-init-workflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gates.yml");
    std::fs::write(&file, pr_gates::init::WORKFLOW).unwrap();
    let out = check(&file);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", text(&out));
    // It installs the tools as a step of its own, then runs the gates.
    let install = pr_gates::init::WORKFLOW
        .find("run: cargo xtask gates --install-tools")
        .unwrap();
    let gates = pr_gates::init::WORKFLOW
        .find("run: cargo xtask gates --json")
        .unwrap();
    assert!(install < gates);
}
