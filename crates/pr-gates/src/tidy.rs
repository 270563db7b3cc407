//! The built-in tidy rules, run in-process over the workspace's files and manifests.
//!
//! - `doc-comment`: every `.rs` file of a member starts with a `//!` doc comment;
//! - `forbidden-text`: no `.rs` file contains the to-do or debug-print macros or the attribute that
//!   turns a test off (the needles are assembled at run time so this file does not trip itself);
//! - `workspace-lints`: every member has `[lints] workspace = true` (when the root has
//!   `[workspace.lints]`);
//! - `publish-metadata`: every publishable member has a README, a `CHANGELOG.md` with an `Unreleased`
//!   section, and the crates.io metadata (description, license, repository, readme, keywords,
//!   categories) in the shape crates.io accepts: at most 5 keywords, each at most 20 ASCII letters,
//!   digits, `_`, `-` or `+` starting with a letter; at most 5 categories, each one of crates.io's
//!   category slugs (`data/crates-io-categories.txt`);
//! - `versioned-path-deps`: every path dependency of a publishable member also carries a `version`
//!   (dev-dependencies excepted: publishing strips a path-only dev-dependency, which is how an
//!   unpublished test-support crate is used);
//! - `markdown-links`: every relative link in the workspace's Markdown files (outside `target`,
//!   hidden directories and the excluded paths) points to a file or directory that exists inside the
//!   workspace. Links with a scheme (`https:`, `mailto:`), pure `#anchors` and links inside code are
//!   not checked;
//! - `merge-conflict`: no `.rs` or Markdown file keeps a merge conflict's `<<<<<<<` or `>>>>>>>`
//!   line.
//!
//! Manifests are read through `cargo metadata` and the `toml` crate, never line by line, so every
//! spelling Cargo accepts (inline tables, `[dependencies.name]`, dotted keys, target tables) counts.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use cargo_metadata::Package;

use crate::workspace::is_publishable;
use crate::{Error, Workspace};

/// The names of the built-in tidy rules, in the order the module's doc describes them;
/// `[tidy] disabled-rules` of the configuration takes these.
pub const RULES: &[&str] = &[
    "doc-comment",
    "forbidden-text",
    "workspace-lints",
    "publish-metadata",
    "versioned-path-deps",
    "markdown-links",
    "merge-conflict",
];

/// One thing a tidy rule found wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct TidyFinding {
    /// The rule, e.g. `doc-comment`.
    pub rule: String,
    /// Where: a path relative to the workspace root, with `:line` when there is one, or a package.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl TidyFinding {
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

impl fmt::Display for TidyFinding {
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
pub fn check(workspace: &Workspace, exclude: &[String]) -> Result<Vec<TidyFinding>, Error> {
    let root = workspace.root();
    let mut findings = Vec::new();
    for file in rust_files(workspace, exclude)? {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
        let location = relative(root, &file);
        check_text(&location, &text, &mut findings);
        check_conflict_markers(&location, &text, &mut findings);
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
                findings.push(TidyFinding::new(
                    "workspace-lints",
                    &location,
                    "missing `[lints] workspace = true`",
                ));
            }
        }
        if is_publishable(package) {
            check_publish_metadata(root, package, &location, &mut findings)?;
            check_crates_io_rules(package, &location, &mut findings);
            check_path_deps(package, &location, &mut findings);
        }
    }
    for file in markdown_files(root, exclude)? {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
        check_markdown_links(root, &file, &text, &mut findings);
        check_conflict_markers(&relative(root, &file), &text, &mut findings);
    }
    findings.sort();
    Ok(findings)
}

/// Finds the markers a merge leaves around a conflict it could not resolve
/// (`<<<<<<< ours` and `>>>>>>> theirs`; the `=======` between them is
/// also a Markdown heading underline, so it is not a marker on its own).
pub(crate) fn check_conflict_markers(location: &str, text: &str, findings: &mut Vec<TidyFinding>) {
    for (number, line) in text.lines().enumerate() {
        let marker = ["<<<<<<<", ">>>>>>>"].into_iter().find(|m| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        });
        if let Some(marker) = marker {
            findings.push(TidyFinding::new(
                "merge-conflict",
                format!("{location}:{}", number + 1),
                format!("`{marker}`: a merge conflict's marker left in"),
            ));
        }
    }
}

/// Checks one `.rs` file's text; `location` is its path for messages.
pub(crate) fn check_text(location: &str, text: &str, findings: &mut Vec<TidyFinding>) {
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|l| !l.trim().is_empty());
    if !first.is_some_and(|l| l.trim_start().starts_with("//!")) {
        findings.push(TidyFinding::new(
            "doc-comment",
            location,
            "does not start with a `//!` doc comment",
        ));
    }
    for (number, line) in text.lines().enumerate() {
        for (needle, what) in forbidden_needles() {
            if line.contains(needle) {
                findings.push(TidyFinding::new(
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
    findings: &mut Vec<TidyFinding>,
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
                findings.push(TidyFinding::new(
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
        findings.push(TidyFinding::new(
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
                findings.push(TidyFinding::new(
                    "publish-metadata",
                    relative(root, &changelog),
                    "has no `Unreleased` section (a `## [Unreleased]` heading)",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => findings.push(TidyFinding::new(
            "publish-metadata",
            location,
            "has no CHANGELOG.md beside it",
        )),
        Err(e) => return Err(Error::io("read", changelog, e)),
    }
    Ok(())
}

/// crates.io's limits on keywords and categories: at most this many of each.
const MAX_KEYWORDS: usize = 5;
const MAX_CATEGORIES: usize = 5;
/// crates.io's longest keyword, in characters.
const MAX_KEYWORD_LEN: usize = 20;

/// The category slugs crates.io accepts, from its `src/boot/categories.toml`.
fn crates_io_categories() -> impl Iterator<Item = &'static str> {
    include_str!("../data/crates-io-categories.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Why crates.io would refuse `keyword`, if it would.
pub(crate) fn keyword_problem(keyword: &str) -> Option<String> {
    let len = keyword.chars().count();
    if len > MAX_KEYWORD_LEN {
        return Some(format!(
            "keyword `{keyword}` has {len} characters; crates.io takes at most {MAX_KEYWORD_LEN}"
        ));
    }
    if !keyword.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some(format!(
            "keyword `{keyword}` does not start with an ASCII letter, as crates.io requires"
        ));
    }
    if let Some(bad) = keyword
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')))
    {
        return Some(format!(
            "keyword `{keyword}` has `{bad}`; crates.io takes only ASCII letters, digits, `_`, `-` and `+`"
        ));
    }
    None
}

/// What crates.io checks on publishing that `cargo package` does not: keywords and categories.
fn check_crates_io_rules(package: &Package, location: &str, findings: &mut Vec<TidyFinding>) {
    let mut problems: Vec<String> = Vec::new();
    if package.keywords.len() > MAX_KEYWORDS {
        problems.push(format!(
            "{} keywords; crates.io takes at most {MAX_KEYWORDS}",
            package.keywords.len()
        ));
    }
    problems.extend(package.keywords.iter().filter_map(|k| keyword_problem(k)));
    if package.categories.len() > MAX_CATEGORIES {
        problems.push(format!(
            "{} categories; crates.io takes at most {MAX_CATEGORIES}",
            package.categories.len()
        ));
    }
    for category in &package.categories {
        if !crates_io_categories().any(|known| known == category) {
            problems.push(format!(
                "category `{category}` is not one of crates.io's category slugs (see https://crates.io/category_slugs)"
            ));
        }
    }
    findings.extend(
        problems
            .into_iter()
            .map(|p| TidyFinding::new("publish-metadata", location, p)),
    );
}

fn check_path_deps(package: &Package, location: &str, findings: &mut Vec<TidyFinding>) {
    for dep in &package.dependencies {
        if dep.path.is_some()
            && dep.req.comparators.is_empty()
            && dep.kind != cargo_metadata::DependencyKind::Development
        {
            findings.push(TidyFinding::new(
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
        walk_files(
            Workspace::package_dir(package),
            &excluded,
            &|name| name.ends_with(".rs"),
            &mut files,
        )?;
    }
    Ok(files)
}

/// The files under `dir` whose name `wanted` accepts, except under `target`, hidden directories
/// and the `excluded` paths.
fn walk_files(
    dir: &Path,
    excluded: &[PathBuf],
    wanted: &dyn Fn(&str) -> bool,
    files: &mut BTreeSet<PathBuf>,
) -> Result<(), Error> {
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
                walk_files(&path, excluded, wanted, files)?;
            }
        } else if kind.is_file() && wanted(&name) && !excluded.iter().any(|e| path.starts_with(e)) {
            files.insert(path);
        }
    }
    Ok(())
}

/// Every `.md` file under `root`, except under `target`, hidden directories and the excluded paths.
fn markdown_files(root: &Path, exclude: &[String]) -> Result<BTreeSet<PathBuf>, Error> {
    let excluded: Vec<PathBuf> = exclude.iter().map(|e| root.join(e)).collect();
    let mut files = BTreeSet::new();
    walk_files(root, &excluded, &|name| name.ends_with(".md"), &mut files)?;
    Ok(files)
}

/// Checks the relative links of one Markdown file: each must name a file or directory inside
/// `root` that exists.
pub(crate) fn check_markdown_links(
    root: &Path,
    file: &Path,
    text: &str,
    findings: &mut Vec<TidyFinding>,
) {
    let dir = file.parent().unwrap_or(root);
    let location = relative(root, file);
    for (number, target) in markdown_link_targets(text) {
        let Some(path) = local_link_path(&target) else {
            continue;
        };
        let resolved = if let Some(from_root) = path.strip_prefix('/') {
            root.join(from_root)
        } else {
            dir.join(&path)
        };
        let Some(normal) = normalize(&resolved) else {
            findings.push(TidyFinding::new(
                "markdown-links",
                format!("{location}:{number}"),
                format!("link `{target}` climbs above the filesystem root"),
            ));
            continue;
        };
        let message = if !normal.starts_with(root) {
            format!("link `{target}` points outside the repository")
        } else if !normal.exists() {
            format!(
                "link `{target}` points to {}, which does not exist",
                relative(root, &normal)
            )
        } else {
            continue;
        };
        findings.push(TidyFinding::new(
            "markdown-links",
            format!("{location}:{number}"),
            message,
        ));
    }
}

/// The link targets of a Markdown text with their 1-based line numbers: inline links and images
/// `[text](target "title")`, and reference definitions `[name]: target`. Fenced code blocks and
/// code spans are skipped.
pub(crate) fn markdown_link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        if let Some(c) = marker {
            let run = trimmed.chars().take_while(|x| *x == c).count();
            if run >= 3 {
                match fence {
                    None => fence = Some((c, run)),
                    Some((open, len)) if open == c && run >= len => fence = None,
                    Some(_) => {}
                }
                continue;
            }
        }
        if fence.is_some() {
            continue;
        }
        let line = without_code_spans(line);
        if let Some(target) = reference_definition(&line) {
            targets.push((number, target));
            continue;
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let (target, used) = inline_target(after);
            if !target.is_empty() {
                targets.push((number, target));
            }
            rest = &after[used..];
        }
    }
    targets
}

/// `line` with its code spans (text between runs of backticks) blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|c| *c == '`').count();
        let ticks = &rest[start..start + run];
        let body = &rest[start + run..];
        match body.find(ticks) {
            Some(end) => rest = &body[end + run..],
            None => {
                // An unclosed run is literal text.
                out.push_str(ticks);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The target of `[name]: target` when `line` is a reference definition.
fn reference_definition(line: &str) -> Option<String> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = line[indent..].strip_prefix('[').filter(|_| indent <= 3)?;
    let close = rest.find("]:")?;
    if rest[..close].is_empty() || rest[..close].starts_with('^') {
        return None; // footnotes are not links
    }
    let target = rest[close + 2..].split_whitespace().next()?;
    Some(
        target
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
    )
}

/// The destination of an inline link whose `(` was just consumed, and how many bytes of `after`
/// it used up (up to and including the closing `)`).
fn inline_target(after: &str) -> (String, usize) {
    if let Some(angle) = after.strip_prefix('<') {
        return match angle.find('>') {
            Some(end) => (angle[..end].to_owned(), end + 2),
            None => (String::new(), 1),
        };
    }
    // Balanced parentheses belong to the destination; a space starts the title.
    let mut depth = 0usize;
    for (i, c) in after.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return (after[..i].trim().to_owned(), i + 1),
            ')' => depth -= 1,
            ' ' | '\t' if depth == 0 => {
                let end = after[i..].find(')').map_or(after.len(), |e| i + e + 1);
                return (after[..i].to_owned(), end);
            }
            _ => {}
        }
    }
    (String::new(), after.len())
}

/// The local path a link target names, decoded, without its fragment or query; `None` for a
/// link with a scheme or a pure fragment.
fn local_link_path(target: &str) -> Option<String> {
    let scheme_end = target.find(':');
    let has_scheme = scheme_end.is_some_and(|end| {
        end > 0
            && target[..end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            && target.starts_with(|c: char| c.is_ascii_alphabetic())
    });
    if has_scheme || target.starts_with("//") {
        return None;
    }
    let path = target.split(['#', '?']).next().unwrap_or("");
    if path.is_empty() {
        return None;
    }
    // `%XX` escapes decoded (a link to `a%20b.md` names `a b.md`); malformed escapes stay as
    // written.
    Some(
        percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// `path` with `.` and `..` resolved lexically (symbolic links are not followed, as a browser
/// resolves a link); `None` when `..` climbs above the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
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

    fn text_findings(text: &str) -> Vec<TidyFinding> {
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
    fn merge_conflict_markers_are_found() {
        let (ours, theirs) = (concat!("<<<<", "<<< HEAD"), concat!(">>>>", ">>> topic"));
        let text = format!("# Title\n=======\n{ours}\na\n=======\nb\n{theirs}\n<<<<<<<<\n");
        let mut findings = Vec::new();
        check_conflict_markers("CHANGELOG.md", &text, &mut findings);
        let locations: Vec<&str> = findings.iter().map(|f| f.location.as_str()).collect();
        assert_eq!(locations, ["CHANGELOG.md:3", "CHANGELOG.md:7"]);
        assert!(findings.iter().all(|f| f.rule == "merge-conflict"));
    }

    #[test]
    fn keywords_follow_crates_io_rules() {
        assert_eq!(keyword_problem("cache"), None);
        assert_eq!(keyword_problem("c++"), None);
        assert_eq!(keyword_problem("no_std-2"), None);
        assert_eq!(keyword_problem(&"a".repeat(20)), None);
        let long = keyword_problem("stale-while-revalidat").unwrap();
        assert!(long.contains("has 21 characters"), "{long}");
        assert!(
            keyword_problem("2fa")
                .unwrap()
                .contains("does not start with an ASCII letter")
        );
        assert!(keyword_problem("-x").is_some());
        assert!(keyword_problem("").is_some());
        assert!(keyword_problem("a b").unwrap().contains("has ` `"));
        assert!(keyword_problem("caché").is_some());
    }

    #[test]
    fn the_category_list_holds_the_slugs_crates_io_knows() {
        let slugs: Vec<&str> = crates_io_categories().collect();
        assert!(slugs.len() > 60, "{}", slugs.len());
        for known in [
            "caching",
            "development-tools::testing",
            "web-programming::http-server",
        ] {
            assert!(slugs.contains(&known), "{known}");
        }
        assert!(!slugs.contains(&"web"));
        assert!(slugs.iter().all(|s| !s.contains(' ')));
    }

    #[test]
    fn markdown_link_targets_skip_code_and_read_every_form() {
        let text = "\
# Title [a](one.md) and ![img](img/two.png \"title\") and [web](https://x.org/a.md)
`[not](code.md)` but [b](<three four.md>) and [c](five.md#part) [d](#anchor)
```rust
[fenced](six.md)
```
~~~~
```
[still fenced](seven.md)
~~~~
[ref]: eight.md \"title\"
   [other]: <nine.md>
[^note]: a footnote, not a link
[nested](a_(b).md) then [e](ten.md?x=1)
";
        let targets = markdown_link_targets(text);
        let expected: Vec<(usize, String)> = [
            (1, "one.md"),
            (1, "img/two.png"),
            (1, "https://x.org/a.md"),
            (2, "three four.md"),
            (2, "five.md#part"),
            (2, "#anchor"),
            (10, "eight.md"),
            (11, "nine.md"),
            (13, "a_(b).md"),
            (13, "ten.md?x=1"),
        ]
        .into_iter()
        .map(|(n, t)| (n, t.to_owned()))
        .collect();
        assert_eq!(targets, expected);
    }

    #[test]
    fn local_link_paths_drop_schemes_fragments_and_decode() {
        assert_eq!(local_link_path("https://x.org/a.md"), None);
        assert_eq!(local_link_path("mailto:a@b.c"), None);
        assert_eq!(local_link_path("//cdn.example/x.md"), None);
        assert_eq!(local_link_path("#anchor"), None);
        assert_eq!(local_link_path("a%20b.md#x").as_deref(), Some("a b.md"));
        assert_eq!(local_link_path("../x.md?y").as_deref(), Some("../x.md"));
        assert_eq!(local_link_path("100%.md").as_deref(), Some("100%.md"));
        assert_eq!(local_link_path("C:x").as_deref(), None);
    }

    #[test]
    fn broken_and_escaping_links_are_findings() {
        let dir = pr_test_support::temp_dir("gates-md-links");
        let root = dir.path();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/there.md"), "").unwrap();
        let file = root.join("docs/README.md");
        let text = "[ok](there.md) [up](../docs) [root](/docs/there.md)\n\
                    [gone](missing.md#x)\n[out](../../elsewhere.md)\n";
        let mut findings = Vec::new();
        check_markdown_links(root, &file, text, &mut findings);
        let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "docs/README.md:2: link `missing.md#x` points to docs/missing.md, which does not exist [markdown-links]",
                "docs/README.md:3: link `../../elsewhere.md` points outside the repository [markdown-links]",
            ]
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a"), Path::new("/a/b/c.rs")), "b/c.rs");
        assert_eq!(relative(Path::new("/a"), Path::new("/x/c.rs")), "/x/c.rs");
    }
}
