//! `--changed-since`: the members touched since a git ref, and every member that depends on them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::step::Step;
use crate::{Error, Workspace};

/// Root files whose change affects every crate.
const WORKSPACE_WIDE: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain.toml",
    "rust-toolchain",
    "clippy.toml",
    ".clippy.toml",
    "rustfmt.toml",
    ".rustfmt.toml",
    "deny.toml",
    "gates.toml",
    ".cargo/",
];

/// One member as the selection needs it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    /// Directory relative to the workspace root (empty for a root package).
    pub(crate) dir: PathBuf,
    /// Names of the members it depends on (any kind).
    pub(crate) deps: Vec<String>,
}

/// The members the per-crate gates cover after `--changed-since git_ref`: `None` when a
/// workspace-wide file changed (all members), otherwise the changed members and their dependents
/// (possibly none), sorted.
///
/// # Errors
///
/// [`Error::Spawn`] when git cannot run, [`Error::Usage`] when git rejects the ref.
pub(crate) fn packages_changed_since(
    workspace: &Workspace,
    git_ref: &str,
    log: &mut dyn std::io::Write,
) -> Result<Option<Vec<String>>, Error> {
    let root = workspace.root();
    let diff = Step::new("git")
        .args(["diff", "--name-only", "--relative", git_ref, "--"])
        .run(root, log)?;
    if !diff.success {
        return Err(Error::Usage {
            arg: format!("--changed-since {git_ref}"),
            reason: format!(
                "git diff failed ({}): {}",
                diff.status,
                diff.tail(3).join(" / ")
            ),
        });
    }
    let untracked = Step::new("git")
        .args(["ls-files", "--others", "--exclude-standard"])
        .run(root, log)?;
    let files: Vec<PathBuf> = diff
        .output
        .lines()
        .chain(untracked.output.lines())
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect();
    let names = workspace.member_names();
    let members: Vec<Member> = workspace
        .members()
        .into_iter()
        .map(|p| Member {
            name: p.name.to_string(),
            dir: Workspace::package_dir(p)
                .strip_prefix(root)
                .unwrap_or(Path::new(""))
                .to_path_buf(),
            deps: p
                .dependencies
                .iter()
                .filter(|d| names.contains(&d.name))
                .map(|d| d.name.clone())
                .collect(),
        })
        .collect();
    Ok(affected(&members, &files))
}

/// The pure part of [`packages_changed_since`]: which members `changed` (paths relative to the
/// root) touch, closed over reverse dependencies.
pub(crate) fn affected(members: &[Member], changed: &[PathBuf]) -> Option<Vec<String>> {
    let mut touched = BTreeSet::new();
    for file in changed {
        let owner = members
            .iter()
            .filter(|m| file.starts_with(&m.dir))
            .max_by_key(|m| m.dir.components().count());
        match owner {
            // A root package owns every file; only a root-level manifest change is workspace-wide.
            Some(m) if !m.dir.as_os_str().is_empty() => {
                touched.insert(m.name.clone());
            }
            _ => {
                let text = file.to_string_lossy();
                if WORKSPACE_WIDE.iter().any(|w| {
                    if w.ends_with('/') {
                        text.starts_with(w)
                    } else {
                        text == *w
                    }
                }) {
                    return None;
                }
                if let Some(m) = owner {
                    touched.insert(m.name.clone());
                }
            }
        }
    }
    loop {
        let before = touched.len();
        for m in members {
            if m.deps.iter().any(|d| touched.contains(d)) {
                touched.insert(m.name.clone());
            }
        }
        if touched.len() == before {
            break;
        }
    }
    Some(touched.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<Member> {
        let m = |name: &str, dir: &str, deps: &[&str]| Member {
            name: name.to_owned(),
            dir: PathBuf::from(dir),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
        };
        vec![
            m("errors", "crates/errors", &[]),
            m("config", "crates/config", &["errors", "security"]),
            m("security", "crates/security", &["errors"]),
            m("facade", "crates/facade", &["config", "errors", "security"]),
            m("gates", "crates/gates", &[]),
        ]
    }

    fn run(files: &[&str]) -> Option<Vec<String>> {
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        affected(&members(), &files)
    }

    #[test]
    fn a_leaf_change_pulls_in_its_dependents() {
        assert_eq!(
            run(&["crates/security/src/lib.rs"]).unwrap(),
            ["config", "facade", "security"]
        );
        assert_eq!(run(&["crates/gates/README.md"]).unwrap(), ["gates"]);
    }

    #[test]
    fn the_bottom_crate_pulls_in_everything_above() {
        assert_eq!(
            run(&["crates/errors/src/lib.rs"]).unwrap(),
            ["config", "errors", "facade", "security"]
        );
    }

    #[test]
    fn root_manifest_means_everything_docs_mean_nothing() {
        assert_eq!(run(&["Cargo.lock"]), None);
        assert_eq!(run(&[".cargo/config.toml"]), None);
        assert_eq!(
            run(&["docs/GATES.md", "README.md"]).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_directory_prefix_is_not_a_member() {
        // `crates/errors-extra` is not inside `crates/errors`.
        assert_eq!(
            run(&["crates/errors-extra/x.rs"]).unwrap(),
            Vec::<String>::new()
        );
    }
}
