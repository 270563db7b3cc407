//! The runner end to end on a throwaway workspace, with the gates that need no compilation
//! (fmt, tidy) and the ones that skip themselves (deny without deny.toml, bench without benches).

use pr_gates::{Args, Config, Gate, GateStatus, GateVerdict, Gates, TidyFinding};

use crate::support::Scratch;

fn args(list: &[&str]) -> Args {
    Args::parse(list.iter().copied()).unwrap()
}

/// A builder over a scratch workspace with a `good` crate and the `gates.toml` text `config`.
fn with_config(config: &str) -> (Scratch, pr_gates::GatesBuilder) {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let config = Config::from_toml_str(config, std::path::Path::new("gates.toml")).unwrap();
    let builder = Gates::builder().root(scratch.path()).config(config);
    (scratch, builder)
}

fn status(summary: &pr_gates::Summary, gate: &str) -> (GateStatus, String) {
    let report = summary.gates.iter().find(|g| g.name == gate).unwrap();
    (
        report.verdict.status,
        report.verdict.reason.clone().unwrap_or_default(),
    )
}

#[test]
fn fmt_fails_on_a_misformatted_file_and_passes_once_fixed() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    scratch.write(
        "crates/good/src/lib.rs",
        "//! Docs.\n\n/// F.\npub fn   f( ) -> u32 { 1 }\n",
    );
    let gates = Gates::builder().root(scratch.path()).build().unwrap();
    let mut log = Vec::new();
    let summary = gates.run(&args(&["--only", "fmt"]), &mut log).unwrap();
    assert!(!summary.success());
    let (st, reason) = status(&summary, "fmt");
    assert_eq!(st, GateStatus::Fail);
    assert!(
        reason.starts_with("`cargo fmt --check -p good` failed"),
        "{reason}"
    );
    assert!(!summary.gates[0].verdict.log_tail.is_empty());
    assert_eq!(
        status(&summary, "clippy"),
        (GateStatus::Skip, "not in --only".to_owned())
    );
    let junit = summary.to_junit();
    assert!(junit.contains("<testcase name=\"fmt\""), "{junit}");
    assert!(
        junit.contains("<failure message=\"`cargo fmt --check -p good` failed"),
        "{junit}"
    );
    let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
    assert_eq!(json["gates"][0]["status"], "fail");

    scratch.write(
        "crates/good/src/lib.rs",
        "//! Docs.\n\n/// F.\npub fn f() -> u32 {\n    1\n}\n",
    );
    let summary = gates
        .run(&args(&["--only", "fmt"]), &mut Vec::new())
        .unwrap();
    assert!(summary.success(), "{}", summary.table());
    let log = String::from_utf8(log).unwrap();
    assert!(log.contains("==> fmt:"), "{log}");
}

#[test]
fn tidy_runs_the_project_rules_and_commands() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let gates = Gates::builder()
        .root(scratch.path())
        .tidy_rule("no-good", |ws| {
            ws.members()
                .iter()
                .filter(|p| p.name.as_str() == "good")
                .map(|p| TidyFinding::new("no-good", p.name.as_str(), "is called good"))
                .collect()
        })
        .tidy_command("fails", ["sh", "-c", "echo broken layering; exit 3"])
        .build()
        .unwrap();
    let summary = gates
        .run(&args(&["--only", "tidy"]), &mut Vec::new())
        .unwrap();
    let (st, reason) = status(&summary, "tidy");
    assert_eq!(st, GateStatus::Fail);
    assert!(
        reason.contains("1 tidy finding(s), first: good: is called good [no-good]"),
        "{reason}"
    );
    assert!(
        reason.contains("tidy command `fails` failed (exit status 3)"),
        "{reason}"
    );
    let tail = &summary
        .gates
        .iter()
        .find(|g| g.name == "tidy")
        .unwrap()
        .verdict
        .log_tail;
    assert!(tail.iter().any(|l| l == "broken layering"), "{tail:?}");
}

#[test]
fn gates_that_do_not_apply_skip_with_a_reason() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let gates = Gates::builder().root(scratch.path()).build().unwrap();
    let summary = gates
        .run(&args(&["--only", "deny,bench,tidy"]), &mut Vec::new())
        .unwrap();
    assert!(summary.success(), "{}", summary.table());
    assert_eq!(
        status(&summary, "deny"),
        (
            GateStatus::Skip,
            "no deny.toml at the workspace root".to_owned()
        )
    );
    assert_eq!(
        status(&summary, "bench"),
        (
            GateStatus::Skip,
            "the workspace has no bench targets".to_owned()
        )
    );
    assert_eq!(status(&summary, "tidy").0, GateStatus::Pass);
}

#[test]
fn configuration_disables_gates_and_adds_tidy_commands() {
    let scratch = Scratch::new(
        "\n[workspace.metadata.pr-gates]\ndisabled = [\"fmt\"]\n\
         [workspace.metadata.pr-gates.tidy]\ncommands = [{ name = \"ok\", command = [\"true\"] }, { name = \"no\", command = [\"false\"] }]\n",
    );
    scratch.good_crate("good");
    let gates = Gates::builder().root(scratch.path()).build().unwrap();
    assert_eq!(gates.config().disabled, ["fmt"]);
    let summary = gates
        .run(&args(&["--only", "fmt,tidy"]), &mut Vec::new())
        .unwrap();
    let (st, reason) = status(&summary, "fmt");
    assert_eq!(st, GateStatus::Skip);
    assert!(
        reason.starts_with("disabled in ") && reason.ends_with("Cargo.toml"),
        "{reason}"
    );
    let (st, reason) = status(&summary, "tidy");
    assert_eq!(st, GateStatus::Fail);
    assert_eq!(reason, "tidy command `no` failed (exit status 1)");
}

#[test]
fn bad_configuration_and_unknown_gates_are_errors() {
    let scratch = Scratch::new("\n[workspace.metadata.pr-gates]\ndisabled = [\"lint\"]\n");
    scratch.good_crate("good");
    let gates = Gates::builder().root(scratch.path()).build().unwrap();
    let err = gates
        .run(&Args::default(), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("unknown gate `lint` in `disabled` of "),
        "{err}"
    );

    let scratch =
        Scratch::new("\n[workspace.metadata.pr-gates]\ncoverage = { threshold = \"high\" }\n");
    scratch.good_crate("good");
    let err = Gates::builder()
        .root(scratch.path())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid pr-gates configuration in "),
        "{err}"
    );
}

#[test]
fn custom_gates_run_after_the_builtin_ones_and_names_are_unique() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let gates = Gates::builder()
        .root(scratch.path())
        .config(Config::default())
        .gate(Gate::new("custom", "a project gate", |ctx| {
            ctx.say("custom ran");
            GateVerdict::pass_with("all good")
        }))
        .build()
        .unwrap();
    assert_eq!(gates.gates().last().unwrap().name(), "custom");
    let mut log = Vec::new();
    let summary = gates.run(&args(&["--only", "custom"]), &mut log).unwrap();
    assert_eq!(
        status(&summary, "custom"),
        (GateStatus::Pass, "all good".to_owned())
    );
    assert!(String::from_utf8(log).unwrap().contains("custom ran"));

    let err = Gates::builder()
        .root(scratch.path())
        .gate(Gate::new("fmt", "again", |_| GateVerdict::pass()))
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("already registered"), "{err}");
}

#[test]
fn time_budget_skips_what_is_left() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    // A budget already used up (the configuration file would reject 0; the builder takes it), so
    // that the test needs no sleep.
    let mut config = Config::default();
    config.time_budget_secs = Some(0);
    let gates = Gates::builder()
        .root(scratch.path())
        .config(config)
        .gate(Gate::new("late", "never starts", |_| GateVerdict::pass()))
        .build()
        .unwrap();
    let summary = gates
        .run(&args(&["--only", "late"]), &mut Vec::new())
        .unwrap();
    assert_eq!(
        status(&summary, "late"),
        (GateStatus::Skip, "time budget of 0s used up".to_owned())
    );
}

#[test]
fn compiling_gates_catch_a_clippy_warning_and_pass_once_fixed() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    scratch.good_crate("other");
    // A planted clippy warning (`needless_return`), and a unit test so the test gate has one.
    scratch.write(
        "crates/other/src/lib.rs",
        "//! Other.\n\n/// Two.\npub fn two() -> u32 {\n    return 2;\n}\n\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn two() {\n        assert_eq!(super::two(), 2);\n    }\n}\n",
    );
    let gates = Gates::builder().root(scratch.path()).build().unwrap();
    let only = args(&["--only", "clippy,test,docs,package"]);
    let mut log = Vec::new();
    let summary = gates.run(&only, &mut log).unwrap();
    let log = String::from_utf8(log).unwrap();
    let (st, reason) = status(&summary, "clippy");
    assert_eq!(st, GateStatus::Fail, "{log}");
    assert!(
        reason.starts_with(
            "`cargo clippy --workspace --all-targets --all-features -- -D warnings` failed"
        ),
        "{reason}"
    );
    let tail = &summary
        .gates
        .iter()
        .find(|g| g.name == "clippy")
        .unwrap()
        .verdict
        .log_tail;
    assert!(
        tail.iter()
            .any(|l| l.contains("needless_return") || l.contains("unneeded `return`")),
        "{tail:?}"
    );
    assert_eq!(
        status(&summary, "test"),
        (GateStatus::Pass, "1 test(s) passed".to_owned()),
        "{log}"
    );
    assert!(
        log.contains("1 test run: 1 passed") || log.contains("test result: ok. 1 passed"),
        "{log}"
    );
    // The test gate read nextest's own report: one test case per test.
    let test = summary.gates.iter().find(|g| g.name == "test").unwrap();
    let tests: Vec<(&str, &str, GateStatus)> = test
        .verdict
        .tests
        .iter()
        .map(|t| (t.classname.as_str(), t.name.as_str(), t.status))
        .collect();
    assert_eq!(tests, [("other", "tests::two", GateStatus::Pass)]);
    assert!(
        summary
            .to_junit()
            .contains("<testcase name=\"tests::two\" classname=\"other\""),
        "{}",
        summary.to_junit()
    );
    assert_eq!(status(&summary, "docs").0, GateStatus::Pass, "{log}");
    assert_eq!(status(&summary, "package").0, GateStatus::Pass, "{log}");

    scratch.write(
        "crates/other/src/lib.rs",
        "//! Other.\n\n/// Two.\npub fn two() -> u32 {\n    2\n}\n",
    );
    let summary = gates
        .run(&args(&["--only", "clippy"]), &mut Vec::new())
        .unwrap();
    assert!(summary.success(), "{}", summary.table());
}

#[test]
fn changed_since_narrows_the_per_crate_gates() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    scratch.good_crate("other");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(scratch.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "start"]);
    let gates = Gates::builder()
        .root(scratch.path())
        .gate(
            Gate::new("crates", "records the selected crates", |ctx| {
                GateVerdict::pass_with(ctx.package_args().join(" "))
            })
            .per_crate(true),
        )
        .build()
        .unwrap();
    let run = |list: &[&str]| {
        let mut log = Vec::new();
        let summary = gates.run(&args(list), &mut log).unwrap();
        (status(&summary, "crates"), String::from_utf8(log).unwrap())
    };

    let ((st, reason), log) = run(&["--only", "crates", "--changed-since", "HEAD"]);
    assert_eq!(
        (st, reason.as_str()),
        (GateStatus::Skip, "no crate changed since HEAD"),
        "{log}"
    );
    assert!(log.contains("no crate"), "{log}");

    scratch.write("crates/other/src/extra.rs", "//! New file.\n");
    let ((st, reason), _) = run(&["--only", "crates", "--changed-since", "HEAD"]);
    assert_eq!((st, reason.as_str()), (GateStatus::Pass, "-p other"));

    scratch.write("Cargo.lock", "# changed\n");
    git(&["add", "Cargo.lock"]);
    let ((_, reason), _) = run(&["--only", "crates", "--changed-since", "HEAD"]);
    assert_eq!(reason, "--workspace");

    let err = gates
        .run(
            &args(&["--only", "crates", "--changed-since", "no-such-ref"]),
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid command line argument `--changed-since no-such-ref`"),
        "{err}"
    );
}

#[test]
fn tools_that_are_present_are_not_installed() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let gates = Gates::builder()
        .root(scratch.path())
        .gate(Gate::new("tools", "checks tools", |ctx| {
            assert!(ctx.has_tool("cargo-fmt"));
            assert!(!ctx.has_tool("cargo-pr-gates-absent"));
            ctx.ensure_tool("cargo-fmt").unwrap();
            match ctx.ensure_tool("cargo-pr-gates-absent") {
                Err(e) => GateVerdict::pass_with(e.to_string()),
                Ok(()) => GateVerdict::fail("an unpinned tool was installed"),
            }
        }))
        .build()
        .unwrap();
    let summary = gates
        .run(&args(&["--only", "tools"]), &mut Vec::new())
        .unwrap();
    let (st, reason) = status(&summary, "tools");
    assert_eq!(st, GateStatus::Pass, "{reason}");
    assert!(reason.contains("has no pinned version"), "{reason}");
}

#[test]
fn missing_system_tools_stop_the_gates_before_a_gate_that_needs_them() {
    let (_scratch, builder) = with_config(
        "[system-tools]\npr-gates-absent-tool = { apt = \"pr-gates-absent-package\" }\n\
         sh = { apt = \"dash\" }\n",
    );
    let gates = builder.build().unwrap();
    let mut log = Vec::new();
    let err = gates
        .run(&args(&["--only", "tidy", "--no-install"]), &mut log)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the gates need programs that are missing"),
        "{err}"
    );
    assert!(
        err.contains(
            "  - pr-gates-absent-tool: install the Debian package `pr-gates-absent-package` \
             (`sudo apt-get install -y pr-gates-absent-package`) (not installed: --no-install)"
        ),
        "{err}"
    );
    assert!(!err.contains("  - sh:"), "sh is on PATH: {err}");
    let log = String::from_utf8(log).unwrap();
    assert!(!log.contains("==> tidy"), "no gate ran: {log}");
    // Gates that never run the project's code do not need them.
    let summary = gates
        .run(&args(&["--only", "fmt", "--no-install"]), &mut Vec::new())
        .unwrap();
    assert!(summary.success(), "{}", summary.table());
}

#[test]
fn pip_tools_in_the_gates_venv_are_found_and_first_on_every_command_path() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_scratch, builder) =
        with_config("[system-tools]\npr-gates-venv-tool = { pip = \"pr-gates-venv-tool==1.0\" }\n");
    let gates = builder
        .gate(Gate::new("uses-tool", "runs the venv tool", |ctx| {
            let step = pr_gates::Step::new("pr-gates-venv-tool");
            ctx.run_all(vec![step])
        }))
        .build()
        .unwrap();
    // Already installed in the venv (as an earlier run would have left it): nothing to install.
    let bin = gates.workspace().target_dir().join("pr-gates/venv/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tool = bin.join("pr-gates-venv-tool");
    std::fs::write(&tool, "#!/bin/sh\necho from the venv\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut log = Vec::new();
    let summary = gates
        .run(&args(&["--only", "uses-tool", "--no-install"]), &mut log)
        .unwrap();
    assert_eq!(
        status(&summary, "uses-tool").0,
        GateStatus::Pass,
        "{}",
        String::from_utf8_lossy(&log)
    );
    let log = String::from_utf8(log).unwrap();
    assert!(
        log.contains("  $ pr-gates-venv-tool\n"),
        "PATH is not shown: {log}"
    );
}

#[test]
fn a_configured_advisory_database_that_holds_none_fails_the_deny_gate() {
    let (scratch, builder) = with_config("[deny]\nadvisory-db = \"empty-db\"\n");
    scratch.write("deny.toml", "[advisories]\nversion = 2\n");
    std::fs::create_dir_all(scratch.path().join("empty-db")).unwrap();
    let gates = builder.build().unwrap();
    let summary = gates
        .run(&args(&["--only", "deny"]), &mut Vec::new())
        .unwrap();
    let (st, reason) = status(&summary, "deny");
    assert_eq!(st, GateStatus::Fail, "{reason}");
    assert!(
        reason.contains("empty-db (from [deny] advisory-db) holds no advisory database"),
        "{reason}"
    );
}

#[test]
fn a_gate_sees_the_verdicts_of_the_gates_before_it() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let gates = Gates::builder()
        .root(scratch.path())
        .gate(Gate::new("probe", "reads the earlier verdicts", |ctx| {
            let fmt = ctx.earlier("fmt").map(|g| g.verdict.status);
            let clippy = ctx.earlier("clippy").map(|g| g.verdict.status);
            match (fmt, clippy, ctx.earlier("probe")) {
                (Some(GateStatus::Pass), Some(GateStatus::Skip), None) => GateVerdict::pass(),
                other => GateVerdict::fail(format!("saw {other:?}")),
            }
        }))
        .build()
        .unwrap();
    let summary = gates
        .run(&args(&["--only", "fmt,probe"]), &mut Vec::new())
        .unwrap();
    assert!(summary.success(), "{}", summary.table());
    assert!(summary.installs.is_empty(), "nothing installed");
}

#[test]
fn disabled_tidy_rules_do_not_fail_the_gate_and_the_others_still_do() {
    let (scratch, builder) = with_config("[tidy]\ndisabled-rules = [\"doc-comment\"]\n");
    scratch.write("crates/good/src/extra.rs", "// no doc comment\n");
    scratch.write(
        "crates/good/src/lib.rs",
        "//! A good crate.\n\nmod extra;\n\n/// Adds one.\npub fn add_one(x: u32) -> u32 {\n    x + 1\n}\n",
    );
    let gates = builder.build().unwrap();
    let summary = gates
        .run(&args(&["--only", "tidy"]), &mut Vec::new())
        .unwrap();
    assert!(summary.success(), "{}", summary.table());
    // The debug macro, assembled so that this file does not trip the rule itself.
    let text = format!("// no doc comment\n// {}1)\n", concat!("db", "g!("));
    scratch.write("crates/good/src/extra.rs", &text);
    let summary = gates
        .run(&args(&["--only", "tidy"]), &mut Vec::new())
        .unwrap();
    let (st, reason) = status(&summary, "tidy");
    assert_eq!(st, GateStatus::Fail);
    assert!(reason.contains("[forbidden-text]"), "{reason}");
    assert!(!reason.contains("[doc-comment]"), "{reason}");
}

#[test]
fn install_tools_names_what_the_selected_gates_need_and_runs_no_gate() {
    let (scratch, builder) = with_config("[system-tools]\nsh = { apt = \"dash\" }\n");
    let gates = builder.build().unwrap();
    // A publishable library without deny.toml: coverage needs tarpaulin, deny nothing.
    assert_eq!(
        gates.tools_needed(&args(&[])).unwrap(),
        ["cargo-nextest", "cargo-hack", "cargo-tarpaulin"]
    );
    scratch.write("deny.toml", "");
    let gates = Gates::builder().root(scratch.path()).build().unwrap();
    assert_eq!(
        gates.tools_needed(&args(&["--skip", "coverage"])).unwrap(),
        ["cargo-nextest", "cargo-hack", "cargo-deny"]
    );
    assert!(
        gates
            .tools_needed(&args(&["--only", "fmt,clippy,tidy"]))
            .unwrap()
            .is_empty()
    );
    assert!(gates.tools_needed(&args(&["--only", "lint"])).is_err());
    // Nothing to install: the system tool is on PATH and the gates selected need no cargo tool.
    let (_scratch, builder) = with_config("[system-tools]\nsh = { apt = \"dash\" }\n");
    let gates = builder.build().unwrap();
    let mut log = Vec::new();
    let installs = gates
        .install_tools(&args(&["--install-tools", "--only", "tidy"]), &mut log)
        .unwrap();
    assert!(installs.is_empty(), "{installs:?}");
    let log = String::from_utf8(log).unwrap();
    assert!(!log.contains("==> tidy"), "no gate ran: {log}");
}
