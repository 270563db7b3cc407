//! `cargo xtask gates init`: what a workspace needs to run the gates, written into one that has
//! none, so that a workspace fresh from `cargo new` passes `cargo xtask gates` on its first run.
//!
//! It writes a starter `deny.toml` ([`DENY_TOML`]), the `xtask` crate (its `Cargo.toml` and
//! [`XTASK_MAIN`]), the cargo alias ([`CARGO_CONFIG`]) and a CI workflow ([`WORKFLOW`], at
//! [`WORKFLOW_PATH`]). It never overwrites a file: one that exists is left as it is and reported
//! as skipped.
//!
//! It also edits manifests, each edit an insertion placed by the TOML parser's spans (never by
//! scanning lines), checked by reading the result back as TOML, and reported; an edit that would
//! not read back is not made and becomes a note saying what to add by hand:
//!
//! - `xtask` joins the root manifest's `[workspace] members` (a `[workspace]` table is added to a
//!   lone package's manifest);
//! - a member whose manifest says nothing about publishing and names no license gets
//!   `publish = false`: crates.io refuses a crate without a license, so it is not publishable
//!   already, and saying so lets cargo-deny pass over it (`[licenses.private] ignore`) and keeps
//!   the publish checks (`publish-metadata`, `versioned-path-deps`, the package gate) off. The
//!   gates decide publishability from `cargo metadata` at each run, so a crate that gets a license
//!   and loses the line is checked from then on;
//! - the built-in tidy rules the workspace does not meet yet (a `main.rs` without a `//!` line) are
//!   listed in `[workspace.metadata.pr-gates.tidy] disabled-rules`, with the count of findings:
//!   the adoption starts green, and each rule is turned on once its findings are fixed.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::{Config, Error, Workspace};

/// The starter `deny.toml`: the common OSI licenses, `publish = false` crates exempt from the
/// license check, crates.io as the only source.
pub const DENY_TOML: &str = r#"# cargo-deny's configuration, written by `cargo xtask gates init`. The deny gate runs
# `cargo deny check licenses bans sources`, then the advisories check against the RustSec database.
# Every key: https://embarkstudios.github.io/cargo-deny/checks/cfg.html

[graph]
all-features = true

[advisories]
yanked = "warn"

[licenses]
confidence-threshold = 0.9
# The common OSI-approved licenses; add the ones your dependencies need.
allow = [
    "MIT",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "BSL-1.0",
    "CC0-1.0",
    "MPL-2.0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
]

[licenses.private]
# Crates with `publish = false` (the application, xtask) need no license.
ignore = true

[bans]
multiple-versions = "warn"
wildcards = "deny"
# A path dependency without a version is fine in a crate that is never published.
allow-wildcard-paths = true

[sources]
unknown-registry = "deny"
unknown-git = "deny"
allow-registry = ["https://github.com/rust-lang/crates.io-index"]
"#;

/// The xtask's `src/main.rs`: the gates with no configuration in code, and the `//!` line the
/// tidy gate's `doc-comment` rule asks of every file.
pub const XTASK_MAIN: &str = r"//! This workspace's `cargo xtask`: `cargo xtask gates` runs the quality gates of pr-gates
//! (`cargo xtask gates --help` lists the options).

fn main() -> std::process::ExitCode {
    pr_gates::main()
}
";

/// The cargo alias that makes `cargo xtask` run the xtask crate (`.cargo/config.toml`).
pub const CARGO_CONFIG: &str = r#"[alias]
xtask = "run --package xtask --"
"#;

/// Where [`WORKFLOW`] is written.
pub const WORKFLOW_PATH: &str = ".github/workflows/gates.yml";

/// The GitHub Actions workflow: install the gates' tools as a step of their own, run the gates,
/// keep their reports.
pub const WORKFLOW: &str = r"# The quality gates (pr-gates' `cargo xtask gates`) on each push to main and each pull request,
# with the gates' JSON and JUnit reports kept as artifacts. Written by `cargo xtask gates init`.
name: gates

on:
  push:
    branches: [main]
  pull_request:

permissions:
  contents: read

env:
  # A CI checkout is built once: incremental caches would only fill the disk.
  CARGO_INCREMENTAL: 0
  CARGO_TERM_COLOR: always

jobs:
  gates:
    name: cargo xtask gates
    runs-on: ubuntu-latest
    timeout-minutes: 60
    steps:
      - uses: actions/checkout@v4

      # A rust-toolchain.toml names the toolchain; since rustup 1.28 it is not installed on first use.
      - name: Install the toolchain
        run: |
          if [ -f rust-toolchain.toml ] || [ -f rust-toolchain ]; then rustup toolchain install; fi
          rustup component add clippy rustfmt
          rustup show

      - name: Cache the cargo home and target/
        uses: actions/cache@v4
        with:
          path: |
            ~/.cargo/bin
            ~/.cargo/registry
            ~/.cargo/git
            target
          key: ${{ runner.os }}-cargo-${{ hashFiles('**/Cargo.lock', 'rust-toolchain.toml') }}
          restore-keys: |
            ${{ runner.os }}-cargo-

      # The cargo tools the gates use, at their pinned versions (kept in ~/.cargo/bin by the cache),
      # so that the gates' own timings are the gates' work.
      - name: Install the gates' tools
        run: cargo xtask gates --install-tools

      - name: cargo xtask gates
        run: cargo xtask gates --json target/gates.json --junit target/gates.xml

      - name: Upload the gates' reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: gates-reports
          path: |
            target/gates.json
            target/gates.xml
          if-no-files-found: warn
";

/// How `gates init` writes the xtask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitOptions {
    /// Where the xtask takes pr-gates from: `None` for crates.io, at the version of the pr-gates
    /// that runs; a path (relative to the current directory) for a local checkout of the crate.
    pub pr_gates_path: Option<PathBuf>,
}

impl InitOptions {
    /// The xtask takes pr-gates from crates.io.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The xtask takes pr-gates from the checkout at `path` (the folder of its `Cargo.toml`).
    #[must_use]
    pub fn pr_gates_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.pr_gates_path = Some(path.into());
        self
    }
}

/// What `gates init` did: the files it wrote, the ones it left alone, the manifest edits it made,
/// and what is left to do by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitReport {
    /// The workspace root.
    pub root: PathBuf,
    /// The files written, relative to the root.
    pub written: Vec<PathBuf>,
    /// The files that existed and were left as they were, relative to the root.
    pub skipped: Vec<PathBuf>,
    /// The manifest edits, one line each (`Cargo.toml: ...`).
    pub edited: Vec<String>,
    /// What init could not do and a person should.
    pub notes: Vec<String>,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "gates init in {}:", self.root.display())?;
        for path in &self.written {
            writeln!(f, "  wrote    {}", path.display())?;
        }
        for path in &self.skipped {
            writeln!(
                f,
                "  skipped  {} (it exists; left as it is)",
                path.display()
            )?;
        }
        for edit in &self.edited {
            writeln!(f, "  edited   {edit}")?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        writeln!(
            f,
            "next: `cargo xtask gates --install-tools`, then `cargo xtask gates`"
        )
    }
}

/// Writes what the gates need into `workspace` (see the [module](self) doc) and says what it did.
///
/// # Errors
///
/// [`Error::Io`] when a file cannot be read or written, [`Error::Usage`] when
/// [`InitOptions::pr_gates_path`] holds no pr-gates crate, [`Error::Metadata`] when `cargo
/// metadata` fails on the edited workspace, [`Error::Config`] for a bad gates configuration.
pub fn run(workspace: &Workspace, options: &InitOptions) -> Result<InitReport, Error> {
    let root = workspace.root().to_path_buf();
    let mut report = InitReport {
        root: root.clone(),
        ..InitReport::default()
    };
    let pr_gates = pr_gates_dependency(&root, options)?;

    mark_unpublishable(workspace, &mut report)?;

    write_new(&root, "deny.toml", DENY_TOML, &mut report)?;
    let xtask_elsewhere = workspace
        .members()
        .into_iter()
        .find(|p| p.name == "xtask")
        .map(|p| Workspace::package_dir(p).to_path_buf())
        .filter(|dir| *dir != root.join("xtask"));
    match xtask_elsewhere {
        Some(dir) => report.notes.push(format!(
            "the workspace has an `xtask` member at {}: no second one written; make it call \
             `pr_gates::main()` for `cargo xtask gates`",
            dir.display()
        )),
        None => {
            let lints = read_toml(&root.join("Cargo.toml"))?
                .get("workspace")
                .and_then(|w| w.get("lints"))
                .is_some();
            write_new(
                &root,
                "xtask/Cargo.toml",
                &xtask_manifest(&pr_gates, lints),
                &mut report,
            )?;
            write_new(&root, "xtask/src/main.rs", XTASK_MAIN, &mut report)?;
        }
    }
    if write_new(&root, ".cargo/config.toml", CARGO_CONFIG, &mut report)? == Written::Skipped {
        add_alias(&root.join(".cargo/config.toml"), &mut report)?;
    }
    write_new(&root, WORKFLOW_PATH, WORKFLOW, &mut report)?;

    let mut workspace = Workspace::load(&root)?;
    let has_xtask = |ws: &Workspace| ws.members().iter().any(|p| p.name == "xtask");
    if !has_xtask(&workspace) && root.join("xtask/Cargo.toml").is_file() {
        add_member(&root.join("Cargo.toml"), &mut report)?;
        workspace = Workspace::load(&root)?;
    }
    baseline_tidy(&workspace, &mut report)?;
    Ok(report)
}

/// How the xtask names its pr-gates dependency: the TOML value after `pr-gates = `.
fn pr_gates_dependency(root: &Path, options: &InitOptions) -> Result<String, Error> {
    let Some(given) = &options.pr_gates_path else {
        return Ok(format!("\"{}\"", env!("CARGO_PKG_VERSION")));
    };
    let bad = |reason: String| Error::Usage {
        arg: format!("--pr-gates-path {}", given.display()),
        reason,
    };
    let dir = given
        .canonicalize()
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    let manifest = read_toml(&dir.join("Cargo.toml"))
        .map_err(|_| bad("holds no readable Cargo.toml".to_owned()))?;
    let name = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str);
    if name != Some("pr-gates") {
        return Err(bad("is not the pr-gates crate's folder".to_owned()));
    }
    // Inside the workspace, relative to the xtask's folder, so the checkout can move.
    let root = root
        .canonicalize()
        .map_err(|e| Error::io("read", root, e))?;
    let path = match dir.strip_prefix(&root) {
        Ok(inside) => Path::new("..").join(inside),
        Err(_) => dir,
    };
    let path = toml::Value::String(path.to_string_lossy().into_owned());
    Ok(format!("{{ path = {path} }}"))
}

/// The xtask's `Cargo.toml`; `lints` when the root has `[workspace.lints]` (the tidy rule
/// `workspace-lints` then asks every member to inherit them).
fn xtask_manifest(pr_gates: &str, lints: bool) -> String {
    let mut text = format!(
        "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\npr-gates = {pr_gates}\n"
    );
    if lints {
        text.push_str("\n[lints]\nworkspace = true\n");
    }
    text
}

/// Whether [`write_new`] wrote the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    Written,
    Skipped,
}

/// Writes `text` to `rel` under `root` unless a file is there already.
fn write_new(
    root: &Path,
    rel: &str,
    text: &str,
    report: &mut InitReport,
) -> Result<Written, Error> {
    use std::io::Write as _;
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    // `create_new`: a file that appeared since we looked is still not overwritten.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(text.as_bytes())
                .map_err(|e| Error::io("write", &path, e))?;
            report.written.push(PathBuf::from(rel));
            Ok(Written::Written)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            report.skipped.push(PathBuf::from(rel));
            Ok(Written::Skipped)
        }
        Err(e) => Err(Error::io("write", &path, e)),
    }
}

/// `publish = false` for each member that says nothing about publishing and has no license.
fn mark_unpublishable(workspace: &Workspace, report: &mut InitReport) -> Result<(), Error> {
    for package in workspace.members() {
        if package.publish.is_some() || package.license.is_some() || package.license_file.is_some()
        {
            continue;
        }
        let manifest = package.manifest_path.as_std_path();
        let rel = relative(workspace.root(), manifest);
        let done = edit(
            manifest,
            |text| insert_in_table(text, "package", "publish = false"),
            |table| {
                table
                    .get("package")
                    .and_then(|p| p.get("publish"))
                    .and_then(toml::Value::as_bool)
                    == Some(false)
            },
        )?;
        if done {
            report.edited.push(format!(
                "{rel}: `publish = false` for `{}` (it has no license, which crates.io requires; \
                 the publish checks and cargo-deny's license check pass over it)",
                package.name
            ));
        } else {
            report.notes.push(format!(
                "`{}` has no license and no `publish` key: add `publish = false` to [package] of \
                 {rel}, or its license and crates.io metadata",
                package.name
            ));
        }
    }
    Ok(())
}

/// Adds `xtask` to the root manifest's workspace members.
fn add_member(manifest: &Path, report: &mut InitReport) -> Result<(), Error> {
    let done = edit(
        manifest,
        |text| {
            let doc = DeTable::parse(text).ok()?;
            let members = doc
                .get_ref()
                .get("workspace")
                .and_then(|w| w.get_ref().as_table())
                .and_then(|w| w.get("members"));
            match members {
                Some(members) => insert_in_array(text, members, "\"xtask\""),
                None => insert_in_table(text, "workspace", "members = [\"xtask\"]"),
            }
        },
        |table| {
            table
                .get("workspace")
                .and_then(|w| w.get("members"))
                .and_then(toml::Value::as_array)
                .is_some_and(|m| m.iter().any(|v| v.as_str() == Some("xtask")))
        },
    )?;
    if done {
        report
            .edited
            .push("Cargo.toml: `xtask` added to the workspace members".to_owned());
    } else {
        report.notes.push(
            "add \"xtask\" to `members` of [workspace] in Cargo.toml: init could not".to_owned(),
        );
    }
    Ok(())
}

/// Adds the `xtask` alias to an existing `.cargo/config.toml` that has none.
fn add_alias(config: &Path, report: &mut InitReport) -> Result<(), Error> {
    let has_alias = |table: &toml::Table| table.get("alias").and_then(|a| a.get("xtask")).is_some();
    if read_toml(config).is_ok_and(|t| has_alias(&t)) {
        return Ok(());
    }
    let line = "xtask = \"run --package xtask --\"";
    if edit(
        config,
        |text| insert_in_table(text, "alias", line),
        has_alias,
    )? {
        report
            .edited
            .push(format!(".cargo/config.toml: the alias `{line}`"));
    } else {
        report.notes.push(format!(
            "add `{line}` under [alias] of .cargo/config.toml: init could not"
        ));
    }
    Ok(())
}

/// Lists the built-in tidy rules with findings in `disabled-rules` of the root manifest's gates
/// configuration, so the first run passes; each is turned on again once its findings are fixed.
fn baseline_tidy(workspace: &Workspace, report: &mut InitReport) -> Result<(), Error> {
    let root = workspace.root();
    let config = Config::load(root)?;
    let findings = crate::tidy::check(workspace, &config.tidy.exclude)?;
    let mut broken: Vec<(&str, usize, String)> = Vec::new();
    for rule in crate::tidy::RULES {
        if config.tidy.disabled_rules.iter().any(|r| r == rule) {
            continue;
        }
        let found: Vec<_> = findings.iter().filter(|f| f.rule == *rule).collect();
        if let Some(first) = found.first() {
            broken.push((rule, found.len(), first.location.clone()));
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = broken.iter().map(|(r, _, _)| format!("\"{r}\"")).collect();
    let counts: Vec<String> = broken
        .iter()
        .map(|(rule, n, first)| format!("{rule}: {n} finding(s), first in {first}"))
        .collect();
    let manifest = root.join("Cargo.toml");
    let configured = root.join(crate::CONFIG_FILE).is_file()
        || read_toml(&manifest)?
            .get("workspace")
            .and_then(|w| w.get("metadata"))
            .and_then(|m| m.get("pr-gates"))
            .and_then(|g| g.get("tidy"))
            .is_some();
    let done = !configured
        && edit(
            &manifest,
            |text| {
                let mut text = text.to_owned();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&format!(
                    "\n# Written by `cargo xtask gates init`: built-in tidy rules this workspace does not meet\n\
                     # yet ({}). To turn one on, take it off the list and fix what\n\
                     # `cargo xtask gates --only tidy` finds.\n\
                     [workspace.metadata.pr-gates.tidy]\ndisabled-rules = [{}]\n",
                    counts.join("; "),
                    names.join(", ")
                ));
                Some(text)
            },
            |table| {
                table
                    .get("workspace")
                    .and_then(|w| w.get("metadata"))
                    .and_then(|m| m.get("pr-gates"))
                    .and_then(|g| g.get("tidy"))
                    .and_then(|t| t.get("disabled-rules"))
                    .and_then(toml::Value::as_array)
                    .is_some_and(|rules| rules.len() == broken.len())
            },
        )?;
    if done {
        report.edited.push(format!(
            "Cargo.toml: tidy rules not met yet, off until fixed ([workspace.metadata.pr-gates.tidy] \
             disabled-rules): {}",
            counts.join("; ")
        ));
    } else {
        report.notes.push(format!(
            "the tidy gate will fail on rules this workspace does not meet yet ({}): fix those, or \
             add `disabled-rules = [{}]` to the [tidy] table of the gates configuration",
            counts.join("; "),
            names.join(", ")
        ));
    }
    Ok(())
}

/// Applies `change` to the file at `path` and writes the result when it reads back as TOML that
/// `check` accepts; returns whether it did.
fn edit(
    path: &Path,
    change: impl FnOnce(&str) -> Option<String>,
    check: impl FnOnce(&toml::Table) -> bool,
) -> Result<bool, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let Some(changed) = change(&text) else {
        return Ok(false);
    };
    match toml::from_str::<toml::Table>(&changed) {
        Ok(table) if check(&table) => {
            std::fs::write(path, changed).map_err(|e| Error::io("write", path, e))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `text` with `line` added to the top-level table `name`: after the last key of its `[name]`
/// section, or right after the header when it has none; a new `[name]` table at the end when there
/// is none. `None` when `name` is not a table.
pub(crate) fn insert_in_table(text: &str, name: &str, line: &str) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let Some(table) = doc.get_ref().get(name) else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{name}]\n{line}\n"));
        return Some(out);
    };
    let header = table.span();
    let entries = table.get_ref().as_table()?;
    // The keys written in the `[name]` section itself: after its header, with a value of their own
    // (a sub-table's span is its own header, somewhere else).
    let last = entries
        .iter()
        .filter(|(key, value)| key.span().start > header.start && !value.get_ref().is_table())
        .map(|(_, value)| value.span().end)
        .max()
        .unwrap_or(header.end);
    Some(insert_line_after(text, last, line))
}

/// `text` with `line` on a line of its own after the line holding byte `at`.
fn insert_line_after(text: &str, at: usize, line: &str) -> String {
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let mut out = String::with_capacity(text.len() + line.len() + 2);
    out.push_str(&text[..end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out.push_str(&text[end..]);
    out
}

/// `text` with `item` first in the array `array` (its span in `text`): on a line of its own with
/// the next item's indentation when the array is written one item per line.
fn insert_in_array(text: &str, array: &toml::Spanned<DeValue<'_>>, item: &str) -> Option<String> {
    let items = array.get_ref().as_array()?;
    let open = array.span().start;
    if !text[open..].starts_with('[') {
        return None;
    }
    let Some(first) = items.iter().next() else {
        return Some(format!("{}{item}{}", &text[..=open], &text[open + 1..]));
    };
    let start = first.span().start;
    let before = &text[open + 1..start];
    let insertion = match before.rfind('\n') {
        Some(newline) => {
            let indent = &before[newline + 1..];
            format!("{item},\n{indent}")
        }
        None => format!("{item}, "),
    };
    Some(format!("{}{insertion}{}", &text[..start], &text[start..]))
}

/// A TOML file as a table.
fn read_toml(path: &Path) -> Result<toml::Table, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    toml::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: format!("not valid TOML: {}", e.to_string().trim_end()),
    })
}

/// `path` relative to `root` for messages (as it is when it is outside).
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests;
