//! This workspace's `cargo xtask`: `gates` (pr-gates plus this workspace's tidy commands) and
//! `bench` (run the criterion benches and write `docs/PERFORMANCE.md`).
//!
//! The layering rules of `docs/STYLE.md` (section "Layering") are `#[test]`s in
//! `tests/layering.rs`, which the tidy gate runs through `cargo test -p xtask`.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::SystemTime;

use pr_gates::{Gates, Step, bench};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  gates [OPTIONS]    run the quality gates (see `cargo xtask gates --help`)
  bench [ARGS]       run `cargo bench -p pr-benches [ARGS]`, time a no-change rerun of the gates
                     (full runs only), and write docs/PERFORMANCE.md
  bench --gates-only time a no-change rerun of the gates again and rewrite docs/PERFORMANCE.md
  bench --load-only  run the demo service under load again (examples/load.rs, full runs do it
                     too) and rewrite docs/PERFORMANCE.md
  fuzz [TARGET] [--seconds N]
                     build the cargo-fuzz targets of crates/*/fuzz on this stable toolchain and run
                     each (or TARGET) for N seconds (default 60) on its corpus
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
        Some("fuzz") => report(run_fuzz(args.collect())),
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
        // The layering picture of docs/STYLE.md, read from `cargo metadata`.
        .tidy_command("layering", ["cargo", "test", "--quiet", "-p", "xtask"])
        // docs/error-codes.md is generated from the catalogue and must be up to date.
        .tidy_command("error-code catalogue", facade_test("catalogue"))
        // docs/config/ holds templates generated from the crates' config types.
        .tidy_command("config templates", facade_test("templates"))
        // The CI workflow users copy must be one GitHub accepts; check-jsonschema carries the
        // schema, so this runs offline (the gates install it as a system tool).
        .tidy_command(
            "workflow schema",
            [
                "check-jsonschema",
                "--builtin-schema",
                "vendor.github-workflows",
                ".github/workflows/ci.yml",
            ],
        )
}

/// `cargo test` of pr-facade's integration tests whose names contain `filter`.
fn facade_test(filter: &str) -> [&str; 10] {
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
        filter,
    ]
}

/// `cargo xtask bench [ARGS]`: runs the benches, then writes `docs/PERFORMANCE.md`.
///
/// A full run (no arguments) also times a no-change rerun of the gates; a filtered run keeps the
/// other benches' earlier results and the earlier gates figures; `--gates-only` runs no bench and
/// times the gates again.
fn run_bench(extra: Vec<OsString>) -> Result<(), String> {
    let dir =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let workspace = pr_gates::Workspace::load(&dir).map_err(|e| e.to_string())?;
    let gates_only = extra.len() == 1 && extra[0] == "--gates-only";
    let load_only = extra.len() == 1 && extra[0] == "--load-only";
    let since = extra.is_empty().then(SystemTime::now);
    let time_gates = extra.is_empty() || gates_only;
    let load = extra.is_empty() || load_only;
    if !gates_only && !load_only {
        let step = Step::cargo()
            .args(["bench", "-p", "pr-benches"])
            .args(extra)
            // Error reports capture a backtrace when it is on; the peers are measured without one.
            .env("RUST_BACKTRACE", "0")
            .echo(true);
        let out = step
            .run(workspace.root(), &mut std::io::stderr())
            .map_err(|e| e.to_string())?;
        if !out.success {
            return Err(format!("`{}` failed ({})", out.command, out.status));
        }
    }
    let results = bench::read_criterion(&workspace.target_dir().join("criterion"), since)
        .map_err(|e| e.to_string())?;
    let gates_section = workspace.target_dir().join("pr-gates").join("rerun.md");
    let load_section = workspace.target_dir().join("pr-gates").join("load.md");
    let loaded = if load {
        run_load(workspace.root(), workspace.target_dir(), &load_section)
    } else {
        Ok(())
    };
    // The bench figures are written even when the gates cannot be timed.
    let timed = if time_gates {
        gates_rerun(workspace.root()).and_then(|section| {
            if let Some(dir) = gates_section.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
            }
            std::fs::write(&gates_section, section)
                .map_err(|e| format!("could not write {}: {e}", gates_section.display()))
        })
    } else {
        Ok(())
    };
    let mut markdown = bench::render_markdown(&results, PERFORMANCE_NOTE);
    if let Ok(section) = std::fs::read_to_string(&load_section) {
        markdown.push('\n');
        markdown.push_str(&section);
    }
    if let Ok(section) = std::fs::read_to_string(&gates_section) {
        markdown.push('\n');
        markdown.push_str(&section);
    }
    let path = workspace.root().join("docs").join("PERFORMANCE.md");
    std::fs::write(&path, markdown)
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    say(&format!(
        "wrote {} ({} benchmarks)",
        path.display(),
        results.len()
    ));
    loaded.and(timed)
}

/// Builds the demo service and its load generator in release mode and runs the load, which writes
/// its Markdown section to `out`.
fn run_load(
    root: &std::path::Path,
    target_dir: &std::path::Path,
    out: &std::path::Path,
) -> Result<(), String> {
    let build = Step::cargo()
        .args(["build", "--release", "-p", "pr-facade", "--examples"])
        .echo(true)
        .run(root, &mut std::io::stderr())
        .map_err(|e| e.to_string())?;
    if !build.success {
        return Err(format!("`{}` failed ({})", build.command, build.status));
    }
    let examples = target_dir.join("release").join("examples");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    }
    say("bench: the demo service under load");
    let status = std::process::Command::new(examples.join("load"))
        .arg(examples.join("service"))
        .arg(out)
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not run the load generator: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the load generator failed ({status})"))
    }
}

/// The flags cargo-fuzz passes to rustc for libFuzzer's coverage feedback, less the sanitizer
/// (`-Zsanitizer` needs nightly, which this workspace's pinned toolchain is not).
const FUZZ_RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// `cargo xtask fuzz [TARGET] [--seconds N]`: every `crates/*/fuzz` package (cargo-fuzz layout, its
/// own workspace) is built in release mode with libFuzzer's coverage flags, then each target runs
/// on `fuzz/corpus/<target>` for the given time; a crash fails the command and leaves the input
/// in `fuzz/artifacts/<target>/`.
fn run_fuzz(args: Vec<OsString>) -> Result<(), String> {
    let mut only = None;
    let mut seconds = 60_u64;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg.into_string().map_err(|a| format!("not UTF-8: {a:?}"))?;
        if arg == "--seconds" {
            let value = args.next().and_then(|v| v.into_string().ok());
            seconds = value
                .as_deref()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("--seconds needs a whole number, got {value:?}"))?;
        } else {
            only = Some(arg);
        }
    }
    let dir =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let workspace = pr_gates::Workspace::load(&dir).map_err(|e| e.to_string())?;
    let target_dir = workspace.target_dir().join("fuzz");
    // With an explicit `--target`, RUSTFLAGS reach the fuzzed code only, not build scripts (which
    // would not link against libFuzzer's hooks), as cargo-fuzz does it.
    let host = host_triple()?;
    let mut ran = 0;
    for package in workspace.members() {
        let Some(crate_dir) = package.manifest_path.parent() else {
            continue;
        };
        let fuzz_dir = crate_dir.as_std_path().join("fuzz");
        let Ok(manifest) = std::fs::read_to_string(fuzz_dir.join("Cargo.toml")) else {
            continue;
        };
        let targets: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.trim().strip_prefix("name = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .skip(1) // the package's own name
            .filter(|t| only.as_deref().is_none_or(|o| o == *t))
            .collect();
        for target in targets {
            let build = Step::cargo()
                .args(["build", "--release", "--bin", target, "--manifest-path"])
                .arg(fuzz_dir.join("Cargo.toml"))
                .args(["--target", &host, "--target-dir"])
                .arg(&target_dir)
                .env("RUSTFLAGS", FUZZ_RUSTFLAGS)
                .echo(true);
            let out = build
                .run(&fuzz_dir, &mut std::io::stderr())
                .map_err(|e| e.to_string())?;
            if !out.success {
                return Err(format!("`{}` failed ({})", out.command, out.status));
            }
            let corpus = fuzz_dir.join("corpus").join(target);
            let artifacts = fuzz_dir.join("artifacts").join(target);
            std::fs::create_dir_all(&corpus)
                .and_then(|()| std::fs::create_dir_all(&artifacts))
                .map_err(|e| format!("could not create the fuzz folders: {e}"))?;
            say(&format!("fuzz: {} for {seconds}s", package.name));
            let run = Step::new(target_dir.join(&host).join("release").join(target))
                .arg(format!("-max_total_time={seconds}"))
                .arg(format!("-artifact_prefix={}/", artifacts.display()))
                .arg(&corpus)
                .echo(true);
            let out = run
                .run(&fuzz_dir, &mut std::io::stderr())
                .map_err(|e| e.to_string())?;
            if !out.success {
                return Err(format!(
                    "fuzz target `{target}` of {} failed ({}); the input is in {}",
                    package.name,
                    out.status,
                    artifacts.display()
                ));
            }
            ran += 1;
        }
    }
    if ran == 0 {
        return Err(match only {
            Some(t) => format!("no fuzz target named `{t}` under crates/*/fuzz"),
            None => "no fuzz targets under crates/*/fuzz".to_owned(),
        });
    }
    say(&format!("fuzz: {ran} target(s) ran clean"));
    Ok(())
}

/// The target triple of this toolchain's host, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("could not run `rustc -vV`: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "`rustc -vV` printed no host line".to_owned())
}

/// Runs every gate twice in a row and renders the second, no-change run: each gate's time, how
/// much of it the tools took, and the runner's own time.
fn gates_rerun(root: &std::path::Path) -> Result<String, String> {
    let gates = gates().root(root).build().map_err(|e| e.to_string())?;
    let args = pr_gates::Args::parse(["gates"]).map_err(|e| e.to_string())?;
    let mut log = std::io::stderr();
    say("bench: running the gates once to warm every cache");
    let warm = gates.run(&args, &mut log).map_err(|e| e.to_string())?;
    if !warm.success() {
        return Err(format!(
            "the gates fail, so a rerun is not worth timing:\n{}",
            warm.table()
        ));
    }
    say("bench: timing a no-change rerun of the gates");
    let rerun = gates.run(&args, &mut log).map_err(|e| e.to_string())?;
    let mut out = String::from(
        "## Quality gates: a no-change rerun\n\n\
         `cargo xtask gates` run a second time with nothing changed (every cache warm). \
         \"tools\" is the time spent in the commands a gate runs; the rest is the runner's own.\n\n\
         | gate | result | seconds | tools |\n|---|---|---:|---:|\n",
    );
    for g in &rerun.gates {
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} |\n",
            g.name,
            g.outcome.status,
            g.duration.as_secs_f64(),
            g.tools.as_secs_f64()
        ));
    }
    out.push_str(&format!(
        "| **total** | | **{:.2}** | |\n\nThe runner's own time: {:.3} s.\n",
        rerun.total().as_secs_f64(),
        rerun.runner_overhead().as_secs_f64()
    ));
    Ok(out)
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
