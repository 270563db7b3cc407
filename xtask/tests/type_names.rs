//! One meaning per type name ([STYLE.md](../../docs/STYLE.md#naming)): no public type name is
//! defined by two crates of the toolkit, so a user who imports from several never reads a name and
//! has to ask which crate's it is (`pr_errors::Report` or the security checks' report). Each
//! crate's `Error` is the exception, as `io::Error` and `fmt::Error` are: the path says which.
//!
//! Definitions are read from the source text of `crates/*/src/**/*.rs`: a line that starts with
//! `pub struct`, `pub enum`, `pub trait` or `pub type` (not `pub(crate)` or `pub(super)`; a comment
//! line starts otherwise), before the file's inline test module (test modules come last in this
//! workspace's files). `pr-test-support` is left out: it is a dev-dependency only, never a user's import.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;

use common::rust_files;

/// Names more than one crate may define, each with why.
const ALLOWED: &[(&str, &str)] = &[(
    "Error",
    "each crate's one error enum, as `io::Error` and `fmt::Error`: the crate's path says which",
)];

/// Crates whose types no user imports.
const SKIPPED: &[&str] = &["pr-test-support"];

/// The lines of a file up to its inline test module (`#[cfg(test)]` over `mod tests {`, which
/// comes last in this workspace's files); a `#[cfg(test)] mod tests;` declaration does not end
/// them.
fn code(text: &str) -> impl Iterator<Item = &str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|pair| {
            let next = pair[1].trim();
            pair[0].trim() == "#[cfg(test)]" && next.starts_with("mod ") && next.ends_with('{')
        })
        .unwrap_or(lines.len());
    lines.into_iter().take(end)
}

/// The type a line defines publicly: `pub struct Name`, `pub enum`, `pub trait`
/// (`pub unsafe trait`) or `pub type`, with a name that starts with a capital letter.
fn defined(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("pub ")?;
    let rest = ["struct ", "enum ", "trait ", "unsafe trait ", "type "]
        .iter()
        .find_map(|keyword| rest.strip_prefix(keyword))?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    name.starts_with(|c: char| c.is_ascii_uppercase())
        .then_some(name)
}

/// Each public type name of the workspace's crates, with the crates that define it.
fn definitions() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let krate = entry.file_name().to_string_lossy().into_owned();
        let src = entry.path().join("src");
        if SKIPPED.contains(&krate.as_str()) || !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in code(&text).filter_map(defined) {
                names
                    .entry(name.to_owned())
                    .or_default()
                    .insert(krate.clone());
            }
        }
    }
    names
}

#[test]
fn no_public_type_name_is_defined_by_two_crates() {
    let names = definitions();
    // The scan sees the workspace: a broken walk would find nothing and pass.
    assert_eq!(
        names.get("HealthRegistry").map(BTreeSet::len),
        Some(1),
        "the scan missed pr-health's `HealthRegistry`"
    );
    let allowed: BTreeSet<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
    let clashes: Vec<String> = names
        .iter()
        .filter(|(name, crates)| crates.len() > 1 && !allowed.contains(name.as_str()))
        .map(|(name, crates)| {
            let crates: Vec<&str> = crates.iter().map(String::as_str).collect();
            format!("`{name}`: {}", crates.join(", "))
        })
        .collect();
    assert!(
        clashes.is_empty(),
        "public type names defined by more than one crate (rename all but the crate whose core \
         concept it is, see docs/STYLE.md#naming):\n{}",
        clashes.join("\n")
    );
}

#[test]
fn every_allowed_name_is_still_defined_by_two_crates() {
    let names = definitions();
    let stale: Vec<&str> = ALLOWED
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| names.get(*name).is_none_or(|crates| crates.len() < 2))
        .collect();
    assert!(
        stale.is_empty(),
        "allowed names no longer defined by two crates; remove them from `ALLOWED`: {stale:?}"
    );
}

#[test]
fn only_public_definitions_count() {
    assert_eq!(defined("pub struct Report {"), Some("Report"));
    assert_eq!(defined("    pub enum Status {"), Some("Status"));
    assert_eq!(defined("pub trait Check: Send {"), Some("Check"));
    assert_eq!(
        defined("pub type BoxFuture<'a, T> = ();"),
        Some("BoxFuture")
    );
    assert_eq!(defined("pub struct Value<T>(T);"), Some("Value"));
    assert_eq!(defined("pub(crate) struct Entry {"), None);
    assert_eq!(defined("pub(super) enum State {"), None);
    assert_eq!(defined("struct Entry {"), None);
    assert_eq!(defined("/// pub struct Report {"), None);
    assert_eq!(defined("pub fn status() -> Status {"), None);
}

#[test]
fn an_inline_test_module_ends_the_scan_and_a_declared_one_does_not() {
    let text = "#[cfg(test)]\nmod tests;\npub struct Kept;\n#[cfg(test)]\nmod tests {\n    pub struct Helper;\n}\n";
    let names: Vec<&str> = code(text).filter_map(defined).collect();
    assert_eq!(names, ["Kept"]);
}
