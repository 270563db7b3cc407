//! pr-gates as a user adopts it: throwaway workspaces whose own `xtask` depends on this crate by
//! path, and `cargo xtask gates` run there as a subprocess, exactly as in that project's CI.
//!
//! First a workspace with two crates with planted faults (a clippy warning in one, a misformatted
//! file and a function no test calls in the other): the gates must fail with the right reasons in
//! the table, the JSON report and the `JUnit` report (one test case per test), then pass once the
//! faults are fixed. Then an application fresh from `cargo new`, given what it needs by
//! `gates init`: `cargo xtask gates --install-tools` and every gate must pass on the first run, and
//! a second `cargo xtask gates init` must change nothing.
//!
//! Both are one test, so that they take turns on one target dir (nextest runs tests as parallel
//! processes): the second reuses what the first built (pr-gates and its dependencies, the cargo
//! tools), which keeps it to seconds. That target dir is kept under cargo's `CARGO_TARGET_TMPDIR`,
//! so a rerun compiles only what changed; each scratch gets a copy of this workspace's
//! `Cargo.lock`, so it resolves to the versions already downloaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Scratch;

/// The gates this test drives: those the planted faults trip, and the test gate that must pass.
const GATES: &str = "fmt,clippy,test,coverage";

/// Environment a cargo run of ours (or tarpaulin's) leaves behind that must not leak into the
/// scratch project's builds: instrumentation flags, a target dir, profile output paths.
const LEAKY_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "LLVM_PROFILE_FILE",
    "CARGO_LLVM_COV",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "NEXTEST_RUN_ID",
    "NEXTEST_EXECUTION_MODE",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
];

fn pr_gates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The adopting project: root manifest with its pr-gates configuration, the cargo alias, and an
/// xtask that is the three lines the docs show.
fn adopting_workspace() -> Scratch {
    let scratch = Scratch::new("");
    scratch.write(
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\", \"xtask\"]\n\n\
         [workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\nlicense = \"MIT\"\n\
         repository = \"https://example.com/x\"\n\n\
         [workspace.lints.rust]\nmissing_docs = \"warn\"\n\n\
         [workspace.metadata.pr-gates.coverage]\nthreshold = 90.0\n",
    );
    scratch.write(
        ".cargo/config.toml",
        "[alias]\nxtask = \"run --quiet --package xtask --\"\n",
    );
    scratch.write(
        "xtask/Cargo.toml",
        &format!(
            "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\npr-gates = {{ path = {:?} }}\n",
            pr_gates_dir().display().to_string()
        ),
    );
    scratch.write(
        "xtask/src/main.rs",
        "//! The project's xtask.\n\nfn main() -> std::process::ExitCode {\n    pr_gates::main()\n}\n",
    );
    let lock = pr_gates_dir().join("../../Cargo.lock");
    if let Ok(text) = std::fs::read_to_string(lock) {
        scratch.write("Cargo.lock", &text);
    }

    scratch.good_crate("lint");
    // A planted clippy warning (`needless_return`), denied by the gates' `-D warnings`.
    scratch.write(
        "crates/lint/src/lib.rs",
        "//! A crate with a lint.\n\n/// Adds one.\npub fn add_one(x: u32) -> u32 {\n    return x + 1;\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add_one(1), 2);\n    }\n}\n",
    );
    scratch.good_crate("calc");
    // Misformatted, and `halve` is never called by a test: coverage falls under 90%.
    scratch.write(
        "crates/calc/src/lib.rs",
        "//! A calculator.\n\n/// Doubles.\npub fn double(x: u64) -> u64 {\n    x * 2\n}\n\n\
         /// Halves.\npub fn   halve( x: u64 ) -> u64 {\n    let half = x / 2;\n    let rest = x % 2;\n    \
         let _ = rest;\n    half\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        \
         assert_eq!(super::double(2), 4);\n    }\n}\n",
    );
    scratch
}

/// `cargo ARGS` in `root`, building into `target`, with nothing of our own run's environment:
/// (exit code, stdout and stderr). `PR_GATES_E2E_ECHO` shows each command's output.
#[expect(
    clippy::print_stderr,
    reason = "the echo is asked for, to see what the scratch projects' commands said"
)]
fn cargo(root: &Path, target: &Path, args: &[&str]) -> (i32, String) {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root).args(args);
    for name in LEAKY_ENV {
        command.env_remove(name);
    }
    command
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never");
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if std::env::var_os("PR_GATES_E2E_ECHO").is_some() {
        eprintln!("$ cargo {}\n{text}", args.join(" "));
    }
    (out.status.code().unwrap_or(-1), text)
}

/// `cargo xtask gates ARGS --json … --junit …` in `root`: (exit code, output, JSON, `JUnit`).
fn run_gates(
    root: &Path,
    target: &Path,
    args: &[&str],
) -> (i32, String, serde_json::Value, String) {
    let json = root.join("gates.json");
    let junit = root.join("gates.xml");
    let mut all = vec!["xtask", "gates"];
    all.extend_from_slice(args);
    let (json_arg, junit_arg) = (json.to_str().unwrap(), junit.to_str().unwrap());
    all.extend(["--json", json_arg, "--junit", junit_arg]);
    let (code, text) = cargo(root, target, &all);
    let report = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report at {}: {e}\n{text}", json.display()));
    let junit = std::fs::read_to_string(&junit)
        .unwrap_or_else(|e| panic!("no JUnit report at {}: {e}\n{text}", junit.display()));
    (code, text, serde_json::from_str(&report).unwrap(), junit)
}

/// The JSON report's entry for `gate`.
fn gate<'a>(report: &'a serde_json::Value, gate: &str) -> &'a serde_json::Value {
    report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == gate)
        .unwrap_or_else(|| panic!("no gate {gate} in {report:#}"))
}

fn tail_text(entry: &serde_json::Value) -> String {
    entry["log_tail"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn cargo_xtask_gates_in_adopting_workspaces() {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pr-gates-e2e");
    let faulty = planted_faults_fail_the_gates_then_pass(&target);
    a_cargo_new_app_passes_after_gates_init(&target, faulty.path());
}

/// The workspace with planted faults; returned for its xtask, which the next part runs.
fn planted_faults_fail_the_gates_then_pass(target: &Path) -> Scratch {
    let scratch = adopting_workspace();
    let root = scratch.path();

    let (code, text, report, junit) = run_gates(root, target, &["--only", GATES]);
    assert_eq!(code, 1, "planted faults must fail the gates:\n{text}");
    assert_eq!(report["success"], false);

    let fmt = gate(&report, "fmt");
    assert_eq!(fmt["status"], "fail", "{report:#}");
    assert!(
        tail_text(fmt).contains("crates/calc/src/lib.rs"),
        "fmt names the misformatted file: {fmt:#}"
    );

    let clippy = gate(&report, "clippy");
    assert_eq!(clippy["status"], "fail", "{report:#}");
    assert!(
        tail_text(clippy).contains("needless_return")
            || tail_text(clippy).contains("unneeded `return` statement"),
        "clippy names the lint: {clippy:#}"
    );

    assert_eq!(gate(&report, "test")["status"], "pass", "{report:#}");

    let coverage = gate(&report, "coverage");
    assert_eq!(coverage["status"], "fail", "{report:#}");
    let reason = coverage["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("line coverage ") && reason.ends_with("is below the threshold 90%"),
        "coverage says why: {reason}"
    );

    // The JUnit report says the same: three failures, each with its reason; and the test gate's
    // tests, one test case each, from nextest's own report.
    assert!(junit.contains("failures=\"3\""), "{junit}");
    for (binary, test) in [("lint", "tests::adds"), ("calc", "tests::doubles")] {
        assert!(
            junit.contains(&format!("<testcase name=\"{test}\" classname=\"{binary}\"")),
            "{junit}"
        );
    }
    assert!(
        junit.contains("<testcase name=\"clippy\"")
            && junit.contains("<failure message=\"`cargo clippy"),
        "{junit}"
    );
    assert!(junit.contains("is below the threshold 90%"), "{junit}");
    // The table on the terminal.
    assert!(text.contains("FAIL"), "{text}");

    // Fix the faults: format, drop the `return`, test `halve`.
    scratch.write(
        "crates/lint/src/lib.rs",
        "//! A crate with a lint.\n\n/// Adds one.\npub fn add_one(x: u32) -> u32 {\n    x + 1\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add_one(1), 2);\n    }\n}\n",
    );
    scratch.write(
        "crates/calc/src/lib.rs",
        "//! A calculator.\n\n/// Doubles.\npub fn double(x: u64) -> u64 {\n    x * 2\n}\n\n\
         /// Halves.\npub fn halve(x: u64) -> u64 {\n    let half = x / 2;\n    let rest = x % 2;\n    \
         let _ = rest;\n    half\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        \
         assert_eq!(super::double(2), 4);\n    }\n\n    #[test]\n    fn halves() {\n        \
         assert_eq!(super::halve(5), 2);\n    }\n}\n",
    );
    let (code, text, report, junit) = run_gates(root, target, &["--only", GATES]);
    assert_eq!(code, 0, "fixed workspace must pass:\n{text}");
    assert_eq!(report["success"], true, "{report:#}");
    for name in ["fmt", "clippy", "test", "coverage"] {
        assert_eq!(gate(&report, name)["status"], "pass", "{name}: {report:#}");
    }
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(
        junit.contains("<testcase name=\"tests::halves\" classname=\"calc\""),
        "{junit}"
    );
    scratch
}

/// Every file under `dir` but `target/`, by path, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    walk(&path, out);
                }
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// An application made by `cargo new`, and `gates init` run there by an xtask from elsewhere (the
/// one in `bootstrap`), as a project without one would: `--install-tools`, then every gate passes
/// on the first run, and a second `gates init`, now the project's own, changes nothing.
fn a_cargo_new_app_passes_after_gates_init(target: &Path, bootstrap: &Path) {
    let dir = pr_test_support::temp_dir("gates-e2e-app");
    let (code, text) = cargo(dir.path(), target, &["new", "--vcs", "none", "app"]);
    assert_eq!(code, 0, "{text}");
    let root = dir.path().join("app");
    if let Ok(lock) = std::fs::read(pr_gates_dir().join("../../Cargo.lock")) {
        std::fs::write(root.join("Cargo.lock"), lock).unwrap();
    }

    let manifest = bootstrap.join("xtask/Cargo.toml");
    let pr_gates = pr_gates_dir();
    let (code, text) = cargo(
        &root,
        target,
        &[
            "run",
            "--quiet",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--",
            "gates",
            "init",
            "--pr-gates-path",
            pr_gates.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "gates init:\n{text}");
    for file in [
        "deny.toml",
        "xtask/Cargo.toml",
        "xtask/src/main.rs",
        ".cargo/config.toml",
        ".github/workflows/gates.yml",
    ] {
        assert!(
            text.contains(&format!("  wrote    {file}\n")),
            "{file}:\n{text}"
        );
    }

    let (code, text) = cargo(&root, target, &["xtask", "gates", "--install-tools"]);
    assert_eq!(code, 0, "--install-tools:\n{text}");
    assert!(!text.contains("==> fmt"), "no gate ran:\n{text}");

    let (code, text, report, junit) = run_gates(&root, target, &[]);
    assert_eq!(code, 0, "a fresh app must pass every gate:\n{text}");
    for name in ["fmt", "clippy", "test", "docs", "features", "tidy"] {
        assert_eq!(gate(&report, name)["status"], "pass", "{name}: {report:#}");
    }
    // deny passes, or skips only its advisories when no database can be had here.
    let deny = gate(&report, "deny");
    assert!(
        deny["status"] == "pass"
            || deny["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("licenses, bans and sources pass;")),
        "{deny:#}"
    );
    // Nothing in the app is published or measured, and the tools were installed by the step
    // before: no install row.
    assert_eq!(gate(&report, "package")["status"], "skip", "{report:#}");
    assert_eq!(gate(&report, "coverage")["status"], "skip", "{report:#}");
    assert_eq!(report["installs"], serde_json::json!([]), "{report:#}");
    assert!(junit.contains("failures=\"0\""), "{junit}");

    let before = snapshot(&root);
    let (code, text) = cargo(&root, target, &["xtask", "gates", "init"]);
    assert_eq!(code, 0, "gates init again:\n{text}");
    assert!(!text.contains("  wrote "), "{text}");
    assert!(!text.contains("  edited "), "{text}");
    assert_eq!(text.matches("  skipped  ").count(), 5, "{text}");
    assert_eq!(snapshot(&root), before, "a second init changes no file");
}
