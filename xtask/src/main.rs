//! This workspace's `cargo xtask`: `gates` (pr-gates plus this workspace's tidy commands) and
//! `bench` (run the criterion benches and write `docs/PERFORMANCE.md`).
//!
//! The layering rules of `docs/STYLE.md` (section "Layering") are `#[test]`s in
//! `tests/layering.rs`, which the tidy gate runs through `cargo test -p xtask`.
//!
//! Arguments are read with `lexopt`; what follows `gates` goes to pr-gates untouched, which parses
//! it the same way. The fuzz packages' manifests are read with the `toml` crate.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::SystemTime;

use pr_gates::{Gates, Step, bench};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  gates [OPTIONS]    run the quality gates (see `cargo xtask gates --help`)
  gates --install-tools
                     install the cargo tools the gates use, at their pinned versions
  gates init [--pr-gates-path PATH]
                     run in another workspace's root: write what it needs to run the gates
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
    let mut parser = lexopt::Parser::from_env();
    match command(&mut parser) {
        Ok(Command::Gates) => pr_gates::main_with(gates(), rest(&mut parser)),
        Ok(Command::Bench) => report(bench_args(rest(&mut parser)).and_then(run_bench)),
        Ok(Command::Fuzz) => {
            report(fuzz_args(&mut parser).and_then(|(target, seconds)| run_fuzz(target, seconds)))
        }
        Ok(Command::Help) => {
            say(USAGE);
            ExitCode::SUCCESS
        }
        Err(other) => {
            say(&format!("error: unknown command `{other}`\n{USAGE}"));
            ExitCode::from(2)
        }
    }
}

/// The subcommands of `cargo xtask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Gates,
    Bench,
    Fuzz,
    Help,
}

/// Reads the subcommand; the error is the argument as written (empty when there is none).
fn command(parser: &mut lexopt::Parser) -> Result<Command, String> {
    use lexopt::Arg::{Long, Short, Value};
    let shown = match parser.next() {
        Ok(Some(Value(v))) => v.to_string_lossy().into_owned(),
        Ok(Some(Long(name))) => format!("--{name}"),
        Ok(Some(Short(c))) => format!("-{c}"),
        Ok(None) => return Err(String::new()),
        Err(e) => return Err(e.to_string()),
    };
    match shown.as_str() {
        "gates" => Ok(Command::Gates),
        "bench" => Ok(Command::Bench),
        "fuzz" => Ok(Command::Fuzz),
        // `--help=x` or `-hx` is not a request for help.
        "help" | "-h" | "--help" if parser.optional_value().is_none() => Ok(Command::Help),
        _ => Err(shown),
    }
}

/// The arguments after the subcommand, untouched: `gates` hands them to pr-gates, which parses
/// them itself, and `bench` mostly to `cargo bench`.
fn rest(parser: &mut lexopt::Parser) -> Vec<OsString> {
    // After a subcommand (an operand) lexopt holds no half-read option, so this cannot fail.
    parser.raw_args().map(Iterator::collect).unwrap_or_default()
}

/// What `cargo xtask bench` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bench {
    /// No arguments: every bench, the gates' rerun and the load.
    Full,
    /// Arguments for `cargo bench` (a filter, criterion's options after `--`): those benches only.
    Filtered(Vec<OsString>),
    /// `--gates-only`.
    GatesOnly,
    /// `--load-only`.
    LoadOnly,
}

/// Parses the arguments of `cargo xtask bench`: `--gates-only` or `--load-only` alone, or
/// anything `cargo bench` takes.
fn bench_args(args: Vec<OsString>) -> Result<Bench, String> {
    use lexopt::Arg::Long;
    let mut parser = lexopt::Parser::from_args(args.clone());
    let (mode, flag) = match parser.next() {
        Ok(None) => return Ok(Bench::Full),
        Ok(Some(Long("gates-only"))) => (Bench::GatesOnly, "--gates-only"),
        Ok(Some(Long("load-only"))) => (Bench::LoadOnly, "--load-only"),
        // Not ours: `cargo bench` (and criterion after `--`) judge them.
        _ => return Ok(Bench::Filtered(args)),
    };
    match parser.next() {
        Ok(None) => Ok(mode),
        // `--gates-only=x` or `--gates-only filter`: passed on, cargo would refuse the flag.
        Ok(Some(_)) | Err(_) => Err(format!(
            "`{flag}` takes no value and no other arguments; see `cargo xtask --help`"
        )),
    }
}

/// Parses the arguments of `cargo xtask fuzz`: `[TARGET] [--seconds N]`, in any order.
fn fuzz_args(parser: &mut lexopt::Parser) -> Result<(Option<String>, u64), String> {
    use lexopt::Arg::{Long, Value};
    let mut target: Option<String> = None;
    let mut seconds = 60_u64;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("seconds") => {
                let value = parser.value().ok();
                seconds = value
                    .as_ref()
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| match &value {
                        Some(v) => format!(
                            "--seconds needs a whole number, got `{}`",
                            v.to_string_lossy()
                        ),
                        None => "--seconds needs a whole number, got nothing".to_owned(),
                    })?;
            }
            Value(v) => {
                let v = v.into_string().map_err(|a| format!("not UTF-8: {a:?}"))?;
                if let Some(first) = &target {
                    return Err(format!("one TARGET at most, got `{first}` and `{v}`"));
                }
                target = Some(v);
            }
            other => {
                return Err(format!("{}; see `cargo xtask --help`", other.unexpected()));
            }
        }
    }
    Ok((target, seconds))
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
fn run_bench(mode: Bench) -> Result<(), String> {
    let dir =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let workspace = pr_gates::Workspace::load(&dir).map_err(|e| e.to_string())?;
    let full = mode == Bench::Full;
    let since = full.then(SystemTime::now);
    let time_gates = full || mode == Bench::GatesOnly;
    let load = full || mode == Bench::LoadOnly;
    let extra = match mode {
        Bench::Full => Some(Vec::new()),
        Bench::Filtered(extra) => Some(extra),
        Bench::GatesOnly | Bench::LoadOnly => None,
    };
    if let Some(extra) = extra {
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
    // Written by the cache bench's whole-trace run (a filtered run that skips it keeps the last).
    let hit_ratio_section = workspace
        .target_dir()
        .join("pr-benches")
        .join("hit-ratio.md");
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
    append_sections(
        &mut markdown,
        &[&hit_ratio_section, &load_section, &gates_section],
    );
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

/// Appends each section file that can be read, in order, after a blank line: the ones not
/// written yet (no load run, no gates timed, no whole-trace cache bench) are left out.
fn append_sections(markdown: &mut String, sections: &[&std::path::Path]) {
    for path in sections {
        if let Ok(section) = std::fs::read_to_string(path) {
            markdown.push('\n');
            markdown.push_str(&section);
        }
    }
}

/// Builds the demo service and its load generator in release mode and runs the load, which writes
/// its Markdown section to `out`.
fn run_load(
    root: &std::path::Path,
    target_dir: &std::path::Path,
    out: &std::path::Path,
) -> Result<(), String> {
    let build = Step::cargo()
        // The demo needs the facade's `full` features (its examples require them).
        .args([
            "build",
            "--release",
            "-p",
            "pr-facade",
            "--examples",
            "--features",
            "full",
        ])
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
fn run_fuzz(only: Option<String>, seconds: u64) -> Result<(), String> {
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
        let manifest_path = fuzz_dir.join("Cargo.toml");
        let Ok(manifest) = std::fs::read_to_string(&manifest_path) else {
            continue;
        };
        let targets: Vec<String> = fuzz_targets(&manifest)
            .map_err(|e| format!("{}: {e}", manifest_path.display()))?
            .into_iter()
            .filter(|t| only.as_deref().is_none_or(|o| o == t))
            .collect();
        for target in targets {
            let build = Step::cargo()
                .args([
                    "build",
                    "--release",
                    "--bin",
                    target.as_str(),
                    "--manifest-path",
                ])
                .arg(&manifest_path)
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
            let corpus = fuzz_dir.join("corpus").join(&target);
            let artifacts = fuzz_dir.join("artifacts").join(&target);
            std::fs::create_dir_all(&corpus)
                .and_then(|()| std::fs::create_dir_all(&artifacts))
                .map_err(|e| format!("could not create the fuzz folders: {e}"))?;
            say(&format!("fuzz: {} for {seconds}s", package.name));
            let run = Step::new(target_dir.join(&host).join("release").join(&target))
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

/// The fuzz targets of a cargo-fuzz manifest: the names of its `[[bin]]` targets, in order.
///
/// Read as TOML, so every spelling cargo accepts works (`[[bin]]` tables, an inline
/// `bin = [{ name = ... }]`, literal strings), and the package's own name is never taken for one.
fn fuzz_targets(manifest: &str) -> Result<Vec<String>, String> {
    let manifest: toml::Table = manifest
        .parse()
        .map_err(|e: toml::de::Error| format!("not a valid manifest: {}", e.message()))?;
    let Some(bins) = manifest.get("bin") else {
        return Ok(Vec::new());
    };
    let bins = bins
        .as_array()
        .ok_or("`bin` is not an array of tables (`[[bin]]`)")?;
    bins.iter()
        .enumerate()
        .map(|(i, bin)| {
            bin.get("name")
                .and_then(toml::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("bin[{i}] has no `name`"))
        })
        .collect()
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
            g.verdict.status,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust blocks with an `fn main` of a Markdown file: the `xtask/src/main.rs` it shows.
    fn xtask_mains(markdown: &str) -> Vec<String> {
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in markdown.lines() {
            match &mut current {
                None if line.starts_with("```rust") => current = Some(String::new()),
                Some(block) if line.starts_with("```") => {
                    if block.contains("fn main") {
                        blocks.push(std::mem::take(block));
                    }
                    current = None;
                }
                Some(block) => {
                    block.push_str(line);
                    block.push('\n');
                }
                None => {}
            }
        }
        blocks
    }

    #[test]
    fn the_xtask_mains_the_docs_show_pass_the_tidy_gate() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for doc in ["docs/GATES.md", "crates/pr-gates/README.md"] {
            let text = std::fs::read_to_string(root.join(doc)).unwrap();
            let mains = xtask_mains(&text);
            assert!(!mains.is_empty(), "{doc} shows an xtask");
            for main in mains {
                // The tidy rule `doc-comment`: the first line that is not blank is a `//!` line.
                let first = main.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                assert!(first.starts_with("//!"), "{doc}:\n{main}");
            }
        }
        // The one `gates init` writes, too.
        assert!(pr_gates::init::XTASK_MAIN.starts_with("//! "));
    }

    #[test]
    fn the_sections_written_are_appended_in_order() {
        let dir = std::env::temp_dir().join(format!("xtask-sections-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (hit_ratio, load, gates) = (
            dir.join("hit-ratio.md"),
            dir.join("load.md"),
            dir.join("rerun.md"),
        );
        std::fs::write(&hit_ratio, "## Cache hit ratio\n").unwrap();
        std::fs::write(&gates, "## Gates\n").unwrap();
        let mut markdown = String::from("# Performance\n");
        append_sections(&mut markdown, &[&hit_ratio, &load, &gates]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            markdown,
            "# Performance\n\n## Cache hit ratio\n\n## Gates\n"
        );
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn parser(args: &[&str]) -> lexopt::Parser {
        lexopt::Parser::from_args(os(args))
    }

    #[test]
    fn commands_and_what_follows_them() {
        let mut p = parser(&["gates", "--only", "fmt", "--", "x"]);
        assert_eq!(command(&mut p), Ok(Command::Gates));
        // Handed to pr-gates exactly as written, `--` included.
        assert_eq!(rest(&mut p), os(&["--only", "fmt", "--", "x"]));
        for (arg, expected) in [
            ("bench", Command::Bench),
            ("fuzz", Command::Fuzz),
            ("help", Command::Help),
            ("-h", Command::Help),
            ("--help", Command::Help),
        ] {
            assert_eq!(command(&mut parser(&[arg])), Ok(expected), "{arg}");
        }
    }

    #[test]
    fn unknown_commands_are_named_as_written() {
        for (args, shown) in [
            (&["frob"][..], "frob"),
            (&["--frob"], "--frob"),
            (&["-x"], "-x"),
            (&["--help=yes"], "--help"),
            (&[], ""),
        ] {
            assert_eq!(
                command(&mut parser(args)),
                Err(shown.to_owned()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn bench_modes() {
        assert_eq!(bench_args(Vec::new()), Ok(Bench::Full));
        assert_eq!(bench_args(os(&["--gates-only"])), Ok(Bench::GatesOnly));
        assert_eq!(bench_args(os(&["--load-only"])), Ok(Bench::LoadOnly));
        let filtered = os(&["cache", "--", "--quick"]);
        assert_eq!(bench_args(filtered.clone()), Ok(Bench::Filtered(filtered)));
        // Our flags only count first; later they are cargo bench's business.
        let late = os(&["cache", "--gates-only"]);
        assert_eq!(bench_args(late.clone()), Ok(Bench::Filtered(late)));
        for bad in [&["--gates-only", "cache"][..], &["--load-only=1"]] {
            let err = bench_args(os(bad)).unwrap_err();
            assert!(
                err.contains("takes no value and no other arguments"),
                "{err}"
            );
        }
    }

    #[test]
    fn fuzz_arguments() {
        assert_eq!(fuzz_args(&mut parser(&[])), Ok((None, 60)));
        assert_eq!(
            fuzz_args(&mut parser(&["--seconds", "5", "signals"])),
            Ok((Some("signals".to_owned()), 5))
        );
        assert_eq!(
            fuzz_args(&mut parser(&["signals", "--seconds=7"])),
            Ok((Some("signals".to_owned()), 7))
        );
        let err = |args: &[&str]| fuzz_args(&mut parser(args)).unwrap_err();
        assert_eq!(
            err(&["--seconds", "soon"]),
            "--seconds needs a whole number, got `soon`"
        );
        assert_eq!(
            err(&["--seconds"]),
            "--seconds needs a whole number, got nothing"
        );
        assert!(
            err(&["--frob"]).contains("'--frob'"),
            "{}",
            err(&["--frob"])
        );
        assert_eq!(err(&["a", "b"]), "one TARGET at most, got `a` and `b`");
    }

    #[test]
    fn fuzz_targets_are_the_bins_however_they_are_written() {
        // The package's name is not first here, a name is a literal string, and the bins come
        // as an array of tables: a line scraper would have got this wrong.
        let tables = "[[bin]]\nname = 'stored_path'\npath = \"fuzz_targets/stored_path.rs\"\n\n\
                      [package]\nname = \"pr-security-fuzz\"\n\n\
                      [[bin]]\nname   =   \"signals\"\npath = \"fuzz_targets/signals.rs\"\n";
        assert_eq!(fuzz_targets(tables).unwrap(), ["stored_path", "signals"]);
        let inline = "[package]\nname = \"f\"\nbin = []\n";
        assert!(fuzz_targets(inline).unwrap().is_empty());
        let inline = "bin = [{ name = \"a\", path = \"a.rs\" }, { path = \"b.rs\", name = \"b\" }]\n\
                      [package]\nname = \"f\"\n";
        assert_eq!(fuzz_targets(inline).unwrap(), ["a", "b"]);
        assert!(
            fuzz_targets("[package]\nname = \"f\"\n")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            fuzz_targets("[[bin]]\npath = \"a.rs\"\n").unwrap_err(),
            "bin[0] has no `name`"
        );
        assert!(
            fuzz_targets("bin = 1\n")
                .unwrap_err()
                .contains("not an array")
        );
        assert!(
            fuzz_targets("[[bin]\n")
                .unwrap_err()
                .starts_with("not a valid manifest")
        );
    }

    #[test]
    fn this_workspace_s_fuzz_manifests_name_their_targets() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
        for entry in std::fs::read_dir(&crates).unwrap() {
            let manifest = entry.unwrap().path().join("fuzz/Cargo.toml");
            // Most crates have no fuzz package.
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let targets = fuzz_targets(&text).unwrap();
            assert!(!targets.is_empty(), "{}", manifest.display());
            assert!(!targets.iter().any(|t| t.ends_with("-fuzz")), "{targets:?}");
        }
    }
}
