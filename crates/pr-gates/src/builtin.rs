//! The built-in gates, in the order they run.
//!
//! The test gate runs nextest with a profile of the gates' own (see `nextest.rs`) so that its
//! verdict carries every test from nextest's `JUnit` report. The coverage gate runs the tests again
//! under instrumentation, so when the test gate failed it is skipped ("test failed"): one failing
//! test fails one gate. [`cargo_tools`] says which cargo tools each gate will need in a workspace,
//! for `--install-tools`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::ADVISORY_DB_ENV;
use crate::nextest::NextestFiles;
use crate::step::{Step, TAIL_LINES};
use crate::tidy::{self, TidyFinding};
use crate::workspace::is_publishable;
use crate::{Config, Gate, GateContext, GateStatus, GateVerdict, TestCase, Workspace};

/// The names of the built-in gates, in the order they run.
pub const BUILTIN_GATES: &[&str] = &[
    "fmt", "clippy", "test", "docs", "features", "deny", "tidy", "coverage", "package", "bench",
];

/// An extra tidy rule: reads the workspace, returns what it found wrong.
pub type TidyRuleFn = dyn Fn(&Workspace) -> Vec<TidyFinding> + Send + Sync;

/// What the tidy gate runs besides the built-in rules.
#[derive(Default, Clone)]
pub(crate) struct TidyExtras {
    pub(crate) rules: Vec<(String, Arc<TidyRuleFn>)>,
    pub(crate) commands: Vec<(String, Vec<String>)>,
}

/// The built-in gates, the tidy gate carrying `extras`.
pub(crate) fn gates(extras: TidyExtras) -> Vec<Gate> {
    vec![
        Gate::new("fmt", "cargo fmt --check on every workspace member", fmt).fast(true),
        Gate::new("clippy", "clippy on all targets and features, then each crate without default features, -D warnings", clippy).fast(true).per_crate(true),
        Gate::new("test", "every test with all features (nextest), then the doc tests", test).fast(true).per_crate(true),
        Gate::new("docs", "cargo doc --no-deps with RUSTDOCFLAGS=-D warnings", docs).per_crate(true),
        Gate::new("features", "every feature of every crate builds on its own (cargo hack --each-feature)", features).per_crate(true),
        Gate::new("deny", "cargo deny: licenses, bans, sources, and advisories (the live database, or a local one); skipped when no database can be had", deny),
        Gate::new("tidy", "built-in tidy rules and the project's own tidy commands", move |ctx| tidy_gate(ctx, &extras)).fast(true),
        Gate::new("coverage", "line coverage of the library crates over the threshold (cargo tarpaulin --engine llvm)", coverage).per_crate(true),
        Gate::new("package", "cargo package of every publishable crate (what crates.io would receive builds)", package).per_crate(true),
        Gate::new("bench", "every bench runs once in test mode", bench_smoke).per_crate(true),
    ]
}

fn fmt(ctx: &mut GateContext<'_>) -> GateVerdict {
    // Each member by name rather than `--all`, which also formats path dependencies outside the
    // workspace (a shared crate checked out beside it): their style is not this workspace's to judge.
    let mut step = ctx.cargo().args(["fmt", "--check"]);
    for package in ctx.workspace().members() {
        step = step.args(["-p", package.name.as_str()]);
    }
    ctx.run_all(vec![step])
}

fn clippy(ctx: &mut GateContext<'_>) -> GateVerdict {
    let mut steps = vec![ctx.cargo().arg("clippy").args(ctx.package_args()).args([
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ])];
    // Without default features, one crate at a time so that no sibling's features leak in; a crate
    // without features builds the same as above and is not repeated.
    for package in selected_members(ctx) {
        if !package.features.is_empty() {
            steps.push(ctx.cargo().args([
                "clippy",
                "-p",
                package.name.as_str(),
                "--no-default-features",
                "--",
                "-D",
                "warnings",
            ]));
        }
    }
    ctx.run_all(steps)
}

fn test(ctx: &mut GateContext<'_>) -> GateVerdict {
    if let Err(e) = ctx.ensure_tool("cargo-nextest") {
        return e.into();
    }
    let files = match NextestFiles::prepare(ctx.workspace().target_dir()) {
        Ok(files) => files,
        Err(e) => return e.into(),
    };
    // `--no-tests=warn`: a workspace without tests yet (a fresh `cargo new`) is not a failure.
    let run = ctx
        .cargo()
        .args(["nextest", "run"])
        .args(ctx.package_args())
        .args(["--all-features", "--no-fail-fast", "--no-tests=warn"])
        .args(files.args())
        .echo(true);
    let out = match ctx.run(&run) {
        Ok(out) => out,
        Err(e) => return e.into(),
    };
    let tests = files.take();
    if !out.success {
        let failed = ctx.failed(&run, &out);
        return match &tests {
            Some(tests) if tests.iter().any(|t| t.status == GateStatus::Fail) => {
                GateVerdict::fail(format!(
                    "`cargo nextest run` failed ({}): {}",
                    out.status,
                    failing_tests(tests)
                ))
                .with_tail(failed.log_tail)
            }
            _ => failed,
        }
        .with_tests(tests.unwrap_or_default());
    }
    let tests = tests.unwrap_or_default();
    if selected_members(ctx)
        .iter()
        .any(|p| p.targets.iter().any(cargo_metadata::Target::is_lib))
    {
        let doc = ctx
            .cargo()
            .arg("test")
            .args(ctx.package_args())
            .args(["--all-features", "--doc"])
            .echo(true);
        let verdict = ctx.run_all(vec![doc]);
        if verdict.status != GateStatus::Pass {
            return verdict.with_tests(tests);
        }
    }
    let passed = tests
        .iter()
        .filter(|t| t.status == GateStatus::Pass)
        .count();
    let skipped = tests
        .iter()
        .filter(|t| t.status == GateStatus::Skip)
        .count();
    let note = match (passed, skipped) {
        (0, 0) => "no tests to run".to_owned(),
        (passed, 0) => format!("{passed} test(s) passed"),
        (passed, skipped) => format!("{passed} test(s) passed, {skipped} skipped"),
    };
    GateVerdict::pass_with(note).with_tests(tests)
}

/// `2 of 40 tests failed: calc tests::halves, ...`, naming the first few.
pub(crate) fn failing_tests(tests: &[TestCase]) -> String {
    const NAMED: usize = 3;
    let failing: Vec<String> = tests
        .iter()
        .filter(|t| t.status == GateStatus::Fail)
        .map(|t| format!("{} {}", t.classname, t.name))
        .collect();
    let more = failing.len().saturating_sub(NAMED);
    let mut named = failing
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        named.push_str(&format!(" and {more} more"));
    }
    format!("{} of {} tests failed: {named}", failing.len(), tests.len())
}

fn docs(ctx: &mut GateContext<'_>) -> GateVerdict {
    let step = ctx
        .cargo()
        .arg("doc")
        .args(ctx.package_args())
        .args(["--all-features", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    ctx.run_all(vec![step])
}

fn features(ctx: &mut GateContext<'_>) -> GateVerdict {
    if let Err(e) = ctx.ensure_tool("cargo-hack") {
        return e.into();
    }
    let step = ctx
        .cargo()
        .args(["hack", "check"])
        .args(ctx.package_args())
        .args(["--each-feature", "--no-dev-deps"]);
    ctx.run_all(vec![step])
}

/// An advisory database cargo-deny fetched earlier into its default place, `~/.cargo/advisory-dbs`.
fn advisory_db() -> Option<PathBuf> {
    advisory_db_under(&cargo_home()?.join("advisory-dbs"))
}

/// Cargo's home: `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// The advisory database in cargo-deny's `db_path`: one of its folders (cargo-deny keeps one per
/// database URL, `advisory-db-<hash>`) holding the database's `crates/` tree. A failed fetch leaves
/// a lock file or an empty clone behind, which is not one.
fn advisory_db_under(db_path: &Path) -> Option<PathBuf> {
    std::fs::read_dir(db_path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .find(|db| db.join("crates").is_dir())
}

fn deny(ctx: &mut GateContext<'_>) -> GateVerdict {
    let root = ctx.workspace().root().to_path_buf();
    let deny_toml = root.join("deny.toml");
    if !deny_toml.is_file() {
        return GateVerdict::skip("no deny.toml at the workspace root");
    }
    // A local database that is named but holds none is a mistake to report before any work.
    let deny = &ctx.config().deny;
    let configured = deny.advisory_db.as_ref().map(|p| {
        let source = if deny.advisory_db_from_env {
            format!("${ADVISORY_DB_ENV}")
        } else {
            "[deny] advisory-db".to_owned()
        };
        (root.join(p), source)
    });
    let local = match configured {
        Some((db_path, source)) => match advisory_db_under(&db_path) {
            Some(db) => Some((db_path, db, source)),
            None => {
                return GateVerdict::fail(format!(
                    "the advisory database path {} (from {source}) holds no advisory database: \
                     it must be cargo-deny's db-path, the folder holding a git clone of the RustSec \
                     database (`advisory-db-<hash>/crates/...`)",
                    db_path.display()
                ));
            }
        },
        None => None,
    };
    if let Err(e) = ctx.ensure_tool("cargo-deny") {
        return e.into();
    }
    let base = ctx.run_all(vec![ctx.cargo().args([
        "deny",
        "--all-features",
        "check",
        "licenses",
        "bans",
        "sources",
    ])]);
    if base.status != GateStatus::Pass {
        return base;
    }
    match local {
        Some((db_path, db, source)) => advisories_offline(ctx, &deny_toml, &db_path, &db, &source),
        None => advisories_live(ctx),
    }
}

/// Checks advisories against the local database under `db_path` (cargo-deny's `db-path`).
fn advisories_offline(
    ctx: &mut GateContext<'_>,
    deny_toml: &Path,
    db_path: &Path,
    db: &Path,
    source: &str,
) -> GateVerdict {
    let config = match deny_config_with_db_path(ctx, deny_toml, db_path) {
        Ok(config) => config,
        Err(e) => return e.into(),
    };
    let step = ctx
        .cargo()
        .args(["deny", "--all-features", "--offline", "--config"])
        .arg(&config)
        .args(["check", "advisories"]);
    let verdict = ctx.run_all(vec![step]);
    match verdict.status {
        GateStatus::Pass => GateVerdict::pass_with(format!(
            "advisories checked offline against {} (from {source})",
            db.display()
        )),
        _ => verdict,
    }
}

/// Checks advisories against the live database (cargo-deny fetches it); when it cannot be
/// fetched, against one fetched earlier, and otherwise reports the check as skipped.
fn advisories_live(ctx: &mut GateContext<'_>) -> GateVerdict {
    let step = ctx
        .cargo()
        .args(["deny", "--all-features", "check", "advisories"]);
    let out = match ctx.run(&step) {
        Ok(out) => out,
        Err(e) => return e.into(),
    };
    if out.success {
        return GateVerdict::pass_with("advisories checked against the live database");
    }
    if !is_fetch_failure(&out.output) {
        return ctx.failed(&step, &out);
    }
    // The tool's last line says why (`Could not resolve host: ...`); the rest is in the log.
    let reason = out.tail(1).join("");
    match advisory_db() {
        Some(db) => {
            ctx.say(format_args!(
                "  the live advisory database could not be fetched; checking against {}",
                db.display()
            ));
            let offline =
                ctx.cargo()
                    .args(["deny", "--all-features", "--offline", "check", "advisories"]);
            let verdict = ctx.run_all(vec![offline]);
            match verdict.status {
                GateStatus::Pass => GateVerdict::pass_with(format!(
                    "advisories checked against the database fetched earlier at {} (the live one could not be fetched)",
                    db.display()
                )),
                _ => verdict,
            }
        }
        None => GateVerdict::skip(format!(
            "licenses, bans and sources pass; advisories not checked: no advisory database and no \
             network (fetching it failed: {reason}); name a local one with ${ADVISORY_DB_ENV} or \
             [deny] advisory-db"
        )),
    }
}

/// Whether cargo-deny failed because it could not fetch the advisory database (rather than
/// because it found something).
pub(crate) fn is_fetch_failure(output: &str) -> bool {
    let text = output.to_ascii_lowercase();
    [
        "failed to fetch advisory database",
        "failed to fetch",
        "unable to fetch",
        "failed to open advisory database",
        "failed to load advisory database",
        "could not resolve host",
        "failed to connect",
        "failed to resolve address",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// A copy of `deny.toml` under the target directory with `[advisories] db-path` set to `db_path`:
/// cargo-deny takes the database's place from its configuration only.
fn deny_config_with_db_path(
    ctx: &GateContext<'_>,
    deny_toml: &Path,
    db_path: &Path,
) -> Result<PathBuf, crate::Error> {
    let text =
        std::fs::read_to_string(deny_toml).map_err(|e| crate::Error::io("read", deny_toml, e))?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| crate::Error::Config {
        path: deny_toml.to_path_buf(),
        message: format!("not valid TOML: {}", e.to_string().trim_end()),
    })?;
    let advisories = table
        .entry("advisories")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(advisories) = advisories.as_table_mut() else {
        return Err(crate::Error::Config {
            path: deny_toml.to_path_buf(),
            message: "`advisories` is not a table".to_owned(),
        });
    };
    advisories.insert(
        "db-path".to_owned(),
        toml::Value::String(db_path.display().to_string()),
    );
    let dir = ctx.workspace().target_dir().join("pr-gates");
    std::fs::create_dir_all(&dir).map_err(|e| crate::Error::io("create", &dir, e))?;
    let path = dir.join("deny-offline.toml");
    let out = toml::to_string(&table).map_err(|e| crate::Error::Config {
        path: deny_toml.to_path_buf(),
        message: format!("cannot write it back: {e}"),
    })?;
    std::fs::write(&path, out).map_err(|e| crate::Error::io("write", &path, e))?;
    Ok(path)
}

fn tidy_gate(ctx: &mut GateContext<'_>, extras: &TidyExtras) -> GateVerdict {
    let workspace = ctx.workspace();
    let mut findings = match tidy::check(workspace, &ctx.config().tidy.exclude) {
        Ok(findings) => findings,
        Err(e) => return e.into(),
    };
    let disabled = &ctx.config().tidy.disabled_rules;
    findings.retain(|f| !disabled.contains(&f.rule));
    for (_, rule) in &extras.rules {
        findings.extend(rule(workspace));
    }
    for finding in &findings {
        ctx.say(format_args!("  {finding}"));
    }
    let mut failures: Vec<String> = Vec::new();
    let mut tail: Vec<String> = findings
        .iter()
        .take(TAIL_LINES)
        .map(ToString::to_string)
        .collect();
    if !findings.is_empty() {
        failures.push(format!(
            "{} tidy finding(s), first: {}",
            findings.len(),
            findings[0]
        ));
    }
    let commands = ctx
        .config()
        .tidy
        .commands
        .iter()
        .map(|c| (c.name.clone(), c.command.clone()))
        .chain(extras.commands.iter().cloned());
    for (name, command) in commands.collect::<Vec<_>>() {
        let Some((program, args)) = command.split_first() else {
            continue;
        };
        let step = if program == "cargo" {
            Step::cargo()
        } else {
            Step::new(program)
        }
        .args(args);
        ctx.say(format_args!("  tidy command `{name}`"));
        match ctx.run(&step) {
            Ok(out) if out.success => {}
            Ok(out) => {
                let failed = ctx.failed(&step, &out);
                failures.push(format!("tidy command `{name}` failed ({})", out.status));
                tail.extend(failed.log_tail);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        GateVerdict::pass()
    } else {
        GateVerdict::fail(failures.join("; ")).with_tail(tail)
    }
}

/// The crates the coverage gate measures: the publishable library crates among `members`, less the
/// configuration's exclusions.
fn coverage_crates(members: Vec<&cargo_metadata::Package>, config: &Config) -> Vec<String> {
    members
        .into_iter()
        .filter(|p| is_publishable(p) && p.targets.iter().any(cargo_metadata::Target::is_lib))
        .map(|p| p.name.to_string())
        .filter(|name| !config.coverage.exclude.contains(name))
        .collect()
}

fn coverage(ctx: &mut GateContext<'_>) -> GateVerdict {
    // Coverage runs the same tests again: a test that failed there would fail here too.
    if ctx
        .earlier("test")
        .is_some_and(|g| g.verdict.status == GateStatus::Fail)
    {
        return GateVerdict::skip("test failed");
    }
    let workspace = ctx.workspace();
    let config = &ctx.config().coverage;
    let included = coverage_crates(selected_members(ctx), ctx.config());
    if included.is_empty() {
        return GateVerdict::skip("no library crate to measure");
    }
    if let Err(e) = ctx.ensure_tool("cargo-tarpaulin") {
        return e.into();
    }
    let threshold = config.threshold;
    let target_dir = workspace.target_dir().join("coverage");
    let mut step = ctx
        .cargo()
        .args([
            "tarpaulin",
            "--engine",
            "llvm",
            "--all-features",
            "--skip-clean",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--fail-under", &format!("{threshold}")])
        // The target dirs hold copies of sources (`target/package`) that are not ours to measure.
        .args(["--exclude-files", "target/*"]);
    for name in &included {
        step = step.args(["-p", name]);
    }
    if let Some(secs) = config.timeout_secs {
        step = step.args(["--timeout", &secs.to_string()]);
    }
    match ctx.run(&step) {
        Ok(out) => {
            let measured = parse_tarpaulin_coverage(&out.output);
            let percent = measured.map_or_else(String::new, |p| format!("{p:.2}% "));
            if out.success {
                GateVerdict::pass_with(format!(
                    "{percent}of lines covered (threshold {threshold}%)"
                ))
            } else {
                let failed = ctx.failed(&step, &out);
                match measured {
                    Some(p) if p < threshold => GateVerdict::fail(format!(
                        "line coverage {p:.2}% is below the threshold {threshold}%"
                    ))
                    .with_tail(failed.log_tail),
                    _ => failed,
                }
            }
        }
        Err(e) => e.into(),
    }
}

/// The coverage tarpaulin reports on its `NN.NN% coverage, X/Y lines covered` line.
pub(crate) fn parse_tarpaulin_coverage(output: &str) -> Option<f64> {
    output.lines().rev().find_map(|line| {
        line.trim()
            .split_once("% coverage,")
            .and_then(|(p, _)| p.trim().parse().ok())
    })
}

fn package(ctx: &mut GateContext<'_>) -> GateVerdict {
    let publishable: Vec<&cargo_metadata::Package> = selected_members(ctx)
        .into_iter()
        .filter(|p| is_publishable(p))
        .collect();
    if publishable.is_empty() {
        return GateVerdict::skip("no publishable crate (every member has `publish = false`)");
    }
    if let Some(home) = cargo_home() {
        let packaged: Vec<String> = publishable
            .iter()
            .map(|p| format!("{}-{}", p.name, p.version))
            .collect();
        forget_overlay_extractions(&home.join("registry").join("src"), &packaged);
    }
    let publishable: Vec<String> = publishable.iter().map(|p| p.name.to_string()).collect();
    // A target directory of its own, whose builds of our crates are cleaned first: cargo
    // fingerprints a registry package by name and version, not content, so a crate verified
    // earlier at the same version would otherwise be linked as it was then.
    let target = ctx.workspace().target_dir().join("pr-gates-package");
    let target = target.to_string_lossy().into_owned();
    let mut clean = ctx.cargo().args(["clean", "--target-dir", &target]);
    // All publishable crates in one call: cargo packages them together, resolving their path
    // dependencies on each other against a local overlay instead of crates.io.
    let mut package = ctx
        .cargo()
        .args(["package", "--allow-dirty", "--target-dir", &target]);
    for name in &publishable {
        clean = clean.args(["-p", name]);
        package = package.args(["-p", name]);
    }
    ctx.run_all(vec![clean, package])
}

/// Removes what cargo unpacked from an earlier run's local overlay for the crates about to be
/// packaged again.
///
/// Cargo unpacks each `.crate` of the overlay into `registry/src/-<hash>/<name>-<version>` and
/// reuses that folder whenever it finds it complete, whatever the new `.crate` holds, and the
/// hash is the same for every run from the same path. So without this a later packaging of the
/// same version is verified against the sources of the first one (a CI machine that keeps its
/// cargo home built pr-health with a dependency its manifest had dropped). Overlays are the
/// host-less folders (`-<hash>`; crates.io's is `index.crates.io-<hash>`), and cargo unpacks
/// again what is missing, so removing is always safe.
pub(crate) fn forget_overlay_extractions(registry_src: &Path, packaged: &[String]) {
    let Ok(overlays) = std::fs::read_dir(registry_src) else {
        return;
    };
    for overlay in overlays.flatten() {
        if !overlay.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in packaged {
            let unpacked = overlay.path().join(name);
            if unpacked.is_dir() {
                let _ = std::fs::remove_dir_all(&unpacked);
            }
        }
    }
}

fn bench_smoke(ctx: &mut GateContext<'_>) -> GateVerdict {
    let selected: Vec<String> = selected_members(ctx)
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let benches: Vec<(String, Vec<String>)> = ctx
        .workspace()
        .bench_targets()
        .into_iter()
        .filter(|(p, _)| selected.iter().any(|s| *s == p.name.as_str()))
        .map(|(p, b)| {
            (
                p.name.to_string(),
                b.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
    if benches.is_empty() {
        return GateVerdict::skip("the workspace has no bench targets");
    }
    // `cargo test --bench` runs each criterion bench once in test mode, on the test profile's
    // build (much cheaper than the bench profile's), and fails when a bench panics.
    let mut step = ctx.cargo().args(["test", "--all-features"]);
    for (package, targets) in &benches {
        step = step.args(["-p", package]);
        for target in targets {
            step = step.args(["--bench", target]);
        }
    }
    ctx.run_all(vec![step.echo(true)])
}

/// The cargo tools the built-in gate `gate` will need in `workspace`: none for a gate that does not
/// apply there (no `deny.toml`, no library crate to measure) or uses no tool.
pub(crate) fn cargo_tools(gate: &str, workspace: &Workspace, config: &Config) -> Vec<&'static str> {
    match gate {
        "test" => vec!["cargo-nextest"],
        "features" => vec!["cargo-hack"],
        "deny" if workspace.root().join("deny.toml").is_file() => vec!["cargo-deny"],
        "coverage" if !coverage_crates(workspace.members(), config).is_empty() => {
            vec!["cargo-tarpaulin"]
        }
        _ => Vec::new(),
    }
}

/// The members the per-crate gates cover (all, or those `--changed-since` selected).
fn selected_members<'a>(ctx: &GateContext<'a>) -> Vec<&'a cargo_metadata::Package> {
    let members = ctx.workspace().members();
    match ctx.packages() {
        None => members,
        Some(selected) => members
            .into_iter()
            .filter(|p| selected.iter().any(|s| *s == p.name.as_str()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_match_the_gates() {
        let names: Vec<String> = gates(TidyExtras::default())
            .iter()
            .map(|g| g.name().to_owned())
            .collect();
        assert_eq!(names, BUILTIN_GATES);
        let fast: Vec<String> = gates(TidyExtras::default())
            .iter()
            .filter(|g| g.is_fast())
            .map(|g| g.name().to_owned())
            .collect();
        assert_eq!(fast, ["fmt", "clippy", "test", "tidy"]);
    }

    #[test]
    fn advisory_db_needs_a_fetched_database_not_a_leftover_lock() {
        let home = std::env::temp_dir().join(format!("pr-gates-advisory-{}", std::process::id()));
        let dbs = home.join("advisory-dbs");
        std::fs::create_dir_all(dbs.join("advisory-db-1234")).unwrap();
        std::fs::write(dbs.join("db.lock"), "").unwrap();
        assert_eq!(advisory_db_under(&dbs), None);
        std::fs::create_dir_all(dbs.join("advisory-db-1234/crates/ring")).unwrap();
        assert_eq!(advisory_db_under(&dbs), Some(dbs.join("advisory-db-1234")));
        assert_eq!(advisory_db_under(&home.join("none")), None);
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn packaging_forgets_only_the_overlays_unpacked_crates_it_packages_again() {
        let src = pr_test_support::temp_dir("gates-registry-src");
        let overlay = src.path().join("-22c3805da5a543b4");
        let crates_io = src.path().join("index.crates.io-1949cf8c6b5b557f");
        for dir in [
            overlay.join("pr-health-0.1.0/src"),
            overlay.join("other-0.1.0"),
            crates_io.join("pr-health-0.1.0"),
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(overlay.join("pr-health-0.1.0/.cargo-ok"), "{\"v\":1}").unwrap();
        forget_overlay_extractions(src.path(), &["pr-health-0.1.0".to_owned()]);
        assert!(!overlay.join("pr-health-0.1.0").exists());
        assert!(overlay.join("other-0.1.0").exists());
        assert!(crates_io.join("pr-health-0.1.0").exists());
        // No registry at all (a cargo home that never packaged) is not an error.
        forget_overlay_extractions(&src.path().join("missing"), &["x-1.0.0".to_owned()]);
    }

    #[test]
    fn a_failed_fetch_is_told_from_a_finding() {
        // cargo-deny 0.20's output without a network.
        let offline = "2026-12-02 04:48:20 [ERROR] failed to fetch advisory database \
                       https://github.com/RustSec/advisory-db with cli: failed to clone: [...]\n\
                       fatal: unable to access 'https://github.com/RustSec/advisory-db/': Could \
                       not resolve host: github.com\n";
        assert!(is_fetch_failure(offline));
        let finding = "error[vulnerability]: Denial of service in some-crate\n\
                       ID: RUSTSEC-2099-0001\nadvisories FAILED\n";
        assert!(!is_fetch_failure(finding));
    }

    #[test]
    fn failing_tests_are_counted_and_the_first_few_named() {
        let case = |name: &str, status: GateStatus| {
            let mut case = TestCase::new("calc", name, std::time::Duration::ZERO);
            case.status = status;
            case
        };
        let mut tests = vec![case("a", GateStatus::Pass), case("b", GateStatus::Fail)];
        assert_eq!(failing_tests(&tests), "1 of 2 tests failed: calc b");
        tests.extend(["c", "d", "e", "f"].map(|n| case(n, GateStatus::Fail)));
        assert_eq!(
            failing_tests(&tests),
            "5 of 6 tests failed: calc b, calc c, calc d and 2 more"
        );
    }

    /// A workspace of one publishable library crate `lib`, with a `deny.toml` when `deny`.
    fn one_lib(deny: bool) -> (pr_test_support::TempDir, Workspace) {
        let dir = pr_test_support::temp_dir("gates-builtin");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"lib\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "//! A library.\n").unwrap();
        if deny {
            std::fs::write(dir.path().join("deny.toml"), "").unwrap();
        }
        let workspace = Workspace::load(dir.path()).unwrap();
        (dir, workspace)
    }

    #[test]
    fn each_gate_needs_its_tools_only_where_it_applies() {
        let (_dir, workspace) = one_lib(false);
        let config = Config::default();
        let tools = |gate: &str| cargo_tools(gate, &workspace, &config);
        assert_eq!(tools("test"), ["cargo-nextest"]);
        assert_eq!(tools("features"), ["cargo-hack"]);
        assert_eq!(tools("coverage"), ["cargo-tarpaulin"]);
        assert!(tools("deny").is_empty(), "no deny.toml");
        for gate in [
            "fmt", "clippy", "docs", "tidy", "package", "bench", "custom",
        ] {
            assert!(tools(gate).is_empty(), "{gate}");
        }
        let config =
            Config::from_toml_str("[coverage]\nexclude = [\"lib\"]\n", Path::new("gates.toml"))
                .unwrap();
        assert!(cargo_tools("coverage", &workspace, &config).is_empty());
        let (_dir, workspace) = one_lib(true);
        assert_eq!(
            cargo_tools("deny", &workspace, &Config::default()),
            ["cargo-deny"]
        );
    }

    #[test]
    fn coverage_is_skipped_when_the_test_gate_failed() {
        let (_dir, workspace) = one_lib(false);
        let config = Config::default();
        let earlier = [crate::GateReport::new(
            "test",
            GateVerdict::fail("`cargo nextest run` failed (exit status 100): 1 of 1 tests failed"),
            std::time::Duration::from_secs(1),
        )];
        let mut log = Vec::new();
        let mut ctx = GateContext::new(&workspace, &config, &mut log, None).with_earlier(&earlier);
        assert_eq!(coverage(&mut ctx), GateVerdict::skip("test failed"));
        assert!(log.is_empty(), "nothing ran");
    }

    #[test]
    fn tarpaulin_coverage_line_is_parsed() {
        let out = "|| src/lib.rs: 10/12\n|| \n84.31% coverage, 1234/1463 lines covered\n";
        assert_eq!(parse_tarpaulin_coverage(out), Some(84.31));
        assert_eq!(parse_tarpaulin_coverage("no numbers here"), None);
    }
}
