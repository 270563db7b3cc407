//! This workspace's `cargo xtask`: `gates` (pr-gates plus this workspace's tidy commands) and
//! `bench` (run the criterion benches and write `docs/PERFORMANCE.md`).
//!
//! The layering rules of `STYLE.md` are `#[test]`s in `tests/layering.rs`, which the tidy gate runs
//! through `cargo test -p xtask`.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::SystemTime;

use pr_gates::{Gates, Step, bench};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  gates [OPTIONS]    run the quality gates (see `cargo xtask gates --help`)
  bench [ARGS]       run `cargo bench -p pr-benches [ARGS]` and write docs/PERFORMANCE.md
";

/// The note at the top of `docs/PERFORMANCE.md`.
const PERFORMANCE_NOTE: &str = "Measured with `cargo xtask bench` on a shared 2-core machine: \
absolute times move from run to run and machine to machine; the ratios, taken in one run, are what \
to compare against the goals in the README.";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    match args.next().as_ref().and_then(|a| a.to_str()) {
        Some("gates") => pr_gates::main_with(gates(), args),
        Some("bench") => report(run_bench(args.collect())),
        Some("-h" | "--help" | "help") => {
            say(USAGE);
            ExitCode::SUCCESS
        }
        other => {
            say(&format!(
                "error: unknown command `{}`\n{USAGE}",
                other.unwrap_or("")
            ));
            ExitCode::from(2)
        }
    }
}

/// The gates of this workspace: pr-gates' built-in gates plus our own tidy commands.
fn gates() -> pr_gates::GatesBuilder {
    Gates::builder()
        // The layering picture of STYLE.md, read from `cargo metadata`.
        .tidy_command("layering", ["cargo", "test", "--quiet", "-p", "xtask"])
        // docs/error-codes.md is generated from the catalogue and must be up to date.
        .tidy_command(
            "error-code catalogue",
            [
                "cargo",
                "test",
                "--quiet",
                "-p",
                "pr-facade",
                "--all-features",
                "--test",
                "it",
                "--",
                "catalogue",
            ],
        )
}

/// `cargo xtask bench [ARGS]`: runs the benches, then writes `docs/PERFORMANCE.md`.
fn run_bench(extra: Vec<OsString>) -> Result<(), String> {
    let dir =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let workspace = pr_gates::Workspace::load(&dir).map_err(|e| e.to_string())?;
    let started = SystemTime::now();
    // A filter in the arguments runs some benches only: keep the others' earlier results then.
    let since = extra.is_empty().then_some(started);
    let step = Step::cargo()
        .args(["bench", "-p", "pr-benches"])
        .args(extra)
        .echo(true);
    let out = step
        .run(workspace.root(), &mut std::io::stderr())
        .map_err(|e| e.to_string())?;
    if !out.success {
        return Err(format!("`{}` failed ({})", out.command, out.status));
    }
    let results = bench::read_criterion(&workspace.target_dir().join("criterion"), since)
        .map_err(|e| e.to_string())?;
    let markdown = bench::render_markdown(&results, PERFORMANCE_NOTE);
    let path = workspace.root().join("docs").join("PERFORMANCE.md");
    std::fs::write(&path, markdown)
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    say(&format!(
        "wrote {} ({} benchmarks)",
        path.display(),
        results.len()
    ));
    Ok(())
}

fn report(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn say(text: &str) {
    // Messages for the person at the terminal; nothing useful can be done if stderr is gone.
    let _ = writeln!(std::io::stderr(), "{}", text.trim_end());
}
