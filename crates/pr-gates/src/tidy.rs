//! The built-in tidy rules, run in-process over the workspace's files and manifests.
//!
//! - `doc-comment`: every `.rs` file of a member starts with a `//!` doc comment;
//! - `forbidden-text`: no `.rs` file contains the to-do or debug-print macros or the attribute that
//!   turns a test off (the needles are assembled at run time so this file does not trip itself);
//! - `workspace-lints`: every member has `[lints] workspace = true` (when the root has
//!   `[workspace.lints]`);
//! - `publish-metadata`: every publishable member has a README, a `CHANGELOG.md` with an `Unreleased`
//!   section, and the crates.io metadata (description, license, repository, readme, keywords,
//!   categories);
//! - `versioned-path-deps`: every path dependency of a publishable member also carries a `version`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use cargo_metadata::Package;

use crate::workspace::is_publishable;
use crate::{Error, Workspace};

/// One thing a tidy rule found wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Finding {
    /// The rule, e.g. `doc-comment`.
    pub rule: String,
    /// Where: a path relative to the workspace root, with `:line` when there is one, or a package.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    /// A finding of `rule` at `location`.
    #[must_use]
    pub fn new(
        rule: impl Into<String>,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            rule: rule.into(),
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.location, self.message, self.rule)
    }
}

/// The text the `forbidden-text` rule looks for, with what to say about each.
fn forbidden_needles() -> [(&'static str, &'static str); 3] {
    [
        (concat!("to", "do!("), "unfinished code (the to-do macro)"),
        (concat!("db", "g!("), "debug print left in (the dbg macro)"),
        (
            concat!("#[ig", "nore"),
            "a test switched off (the ignore attribute)",
        ),
    ]
}

/// Runs every built-in rule over `workspace`, skipping text files under the `exclude` paths
/// (relative to the root). Findings are sorted.
///
/// # Errors
///
/// [`Error::Io`] when a member's files or manifest cannot be read.
pub fn check(workspace: &Workspace, exclude: &[String]) -> Result<Vec<Finding>, Error> {
    let root = workspace.root();
    let mut findings = Vec::new();
    for file in rust_files(workspace, exclude)? {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
        check_text(&relative(root, &file), &text, &mut findings);
    }
    let root_manifest = read_toml(&root.join("Cargo.toml"))?;
    let has_workspace_lints = root_manifest
        .get("workspace")
        .and_then(|w| w.get("lints"))
        .is_some();
    for package in workspace.members() {
        let manifest_path = package.manifest_path.as_std_path();
        let location = relative(root, manifest_path);
        if has_workspace_lints {
            let manifest = read_toml(manifest_path)?;
            let inherits = manifest
                .get("lints")
                .and_then(|l| l.get("workspace"))
                .and_then(toml::Value::as_bool)
                == Some(true);
            if !inherits {
                findings.push(Finding::new(
                    "workspace-lints",
                    &location,
                    "missing `[lints] workspace = true`",
                ));
            }
        }
        if is_publishable(package) {
            check_publish_metadata(root, package, &location, &mut findings)?;
            check_path_deps(package, &location, &mut findings);
        }
    }
    findings.sort();
    Ok(findings)
}

/// Checks one `.rs` file's text; `location` is its path for messages.
pub(crate) fn check_text(location: &str, text: &str, findings: &mut Vec<Finding>) {
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|l| !l.trim().is_empty());
    if !first.is_some_and(|l| l.trim_start().starts_with("//!")) {
        findings.push(Finding::new(
            "doc-comment",
            location,
            "does not start with a `//!` doc comment",
        ));
    }
    for (number, line) in text.lines().enumerate() {
        for (needle, what) in forbidden_needles() {
            if line.contains(needle) {
                findings.push(Finding::new(
                    "forbidden-text",
                    format!("{location}:{}", number + 1),
                    format!("`{needle}`: {what}"),
                ));
            }
        }
    }
}

fn check_publish_metadata(
    root: &Path,
    package: &Package,
    location: &str,
    findings: &mut Vec<Finding>,
) -> Result<(), Error> {
    let dir = Workspace::package_dir(package);
    let mut missing = Vec::new();
    if package
        .description
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        missing.push("description");
    }
    if package.license.is_none() && package.license_file.is_none() {
        missing.push("license");
    }
    if package.repository.is_none() {
        missing.push("repository");
    }
    if package.keywords.is_empty() {
        missing.push("keywords");
    }
    if package.categories.is_empty() {
        missing.push("categories");
    }
    match &package.readme {
        None => missing.push("readme"),
        Some(readme) => {
            let path = dir.join(readme.as_std_path());
            if !path.is_file() {
                findings.push(Finding::new(
                    "publish-metadata",
                    location,
                    format!(
                        "readme `{readme}` does not exist at {}",
                        relative(root, &path)
                    ),
                ));
            }
        }
    }
    if !missing.is_empty() {
        findings.push(Finding::new(
            "publish-metadata",
            location,
            format!("missing crates.io metadata: {}", missing.join(", ")),
        ));
    }
    let changelog = dir.join("CHANGELOG.md");
    match std::fs::read_to_string(&changelog) {
        Ok(text) => {
            let has_unreleased = text
                .lines()
                .any(|l| l.trim_start().starts_with('#') && l.contains("Unreleased"));
            if !has_unreleased {
                findings.push(Finding::new(
                    "publish-metadata",
                    relative(root, &changelog),
                    "has no `Unreleased` section (a `## [Unreleased]` heading)",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => findings.push(Finding::new(
            "publish-metadata",
            location,
            "has no CHANGELOG.md beside it",
        )),
        Err(e) => return Err(Error::io("read", changelog, e)),
    }
    Ok(())
}

fn check_path_deps(package: &Package, location: &str, findings: &mut Vec<Finding>) {
    for dep in &package.dependencies {
        if dep.path.is_some() && dep.req.comparators.is_empty() {
            findings.push(Finding::new(
                "versioned-path-deps",
                location,
                format!(
                    "path dependency `{}` has no `version`, so the crate cannot publish",
                    dep.name
                ),
            ));
        }
    }
}

/// Every `.rs` file under the members' directories, except under `target`, hidden directories and
/// the excluded paths; sorted and without duplicates.
fn rust_files(workspace: &Workspace, exclude: &[String]) -> Result<BTreeSet<PathBuf>, Error> {
    let root = workspace.root();
    let excluded: Vec<PathBuf> = exclude.iter().map(|e| root.join(e)).collect();
    let mut files = BTreeSet::new();
    for package in workspace.members() {
        walk(Workspace::package_dir(package), &excluded, &mut files)?;
    }
    Ok(files)
}

fn walk(dir: &Path, excluded: &[PathBuf], files: &mut BTreeSet<PathBuf>) -> Result<(), Error> {
    if excluded.iter().any(|e| dir.starts_with(e)) {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type().map_err(|e| Error::io("list", &path, e))?;
        if kind.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, excluded, files)?;
            }
        } else if kind.is_file()
            && name.ends_with(".rs")
            && !excluded.iter().any(|e| path.starts_with(e))
        {
            files.insert(path);
        }
    }
    Ok(())
}

fn read_toml(path: &Path) -> Result<toml::Table, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    toml::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: format!("not a valid manifest: {}", e.to_string().trim_end()),
    })
}

/// `path` relative to `root` when it is under it, for messages.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_findings(text: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        check_text("src/lib.rs", text, &mut findings);
        findings
    }

    #[test]
    fn doc_comment_first() {
        assert!(text_findings("//! Docs.\nfn f() {}\n").is_empty());
        assert!(text_findings("\n\n//! Docs after blank lines.\n").is_empty());
        let findings = text_findings("// plain comment\n//! Docs.\n");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "doc-comment");
        assert_eq!(text_findings("").len(), 1, "an empty file has no docs");
    }

    #[test]
    fn forbidden_text_is_found_with_line_numbers() {
        let text = format!(
            "//! Docs.\nfn f() {{\n    {}\n}}\n{}]\nfn g() {{ {}1); }}\n",
            concat!("to", "do!()"),
            concat!("#[ig", "nore"),
            concat!("db", "g!("),
        );
        let findings = text_findings(&text);
        let locations: Vec<&str> = findings.iter().map(|f| f.location.as_str()).collect();
        assert_eq!(locations, ["src/lib.rs:3", "src/lib.rs:5", "src/lib.rs:6"]);
        assert!(findings.iter().all(|f| f.rule == "forbidden-text"));
        assert!(
            findings[0].to_string().starts_with("src/lib.rs:3: `"),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a"), Path::new("/a/b/c.rs")), "b/c.rs");
        assert_eq!(relative(Path::new("/a"), Path::new("/x/c.rs")), "/x/c.rs");
    }
}
