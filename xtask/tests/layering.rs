//! The layering picture of `docs/STYLE.md` (section "Layering"), checked against `cargo metadata`:
//! which of our crates each crate may depend on. A member missing from the table fails the test, so
//! every new crate is placed in the picture when it lands; a crate in the table but not yet in the
//! workspace is fine. Change the table here and the one in `docs/STYLE.md` together.

use std::collections::BTreeMap;
use std::path::Path;

use pr_gates::Workspace;
use pr_gates::cargo_metadata::DependencyKind;

/// Any crate of ours may be depended on.
const ANY: &[&str] = &["*"];

/// Crates any crate of ours may name as a dev-dependency (and only so): the unpublished test
/// support.
const DEV_ONLY: &[&str] = &["pr-test-support"];

/// `(crate, may depend on, may depend on only as an optional dependency)`.
const LAYERS: &[(&str, &[&str], &[&str])] = &[
    ("pr-core", &[], &[]),
    ("pr-errors", &["pr-core"], &[]),
    ("pr-logging", &["pr-core", "pr-errors"], &[]),
    ("pr-metrics", &["pr-core", "pr-errors"], &[]),
    ("pr-security", &["pr-core", "pr-errors"], &[]),
    ("pr-health", &["pr-core", "pr-errors"], &[]),
    ("pr-telemetry", &["pr-core", "pr-errors"], &[]),
    (
        "pr-config",
        &["pr-core", "pr-errors", "pr-security"],
        &["pr-health"],
    ),
    ("pr-cache", &["pr-core", "pr-errors"], &["pr-health"]),
    ("pr-resilience", &["pr-core", "pr-errors"], &["pr-health"]),
    ("pr-resources", &["pr-core", "pr-errors"], &["pr-health"]),
    (
        "pr-http",
        &["pr-core", "pr-errors"],
        &["pr-health", "pr-resilience", "pr-telemetry"],
    ),
    ("pr-facade", ANY, &[]),
    ("pr-gates", &[], &[]),
    ("xtask", &["pr-gates"], &[]),
    ("pr-benches", ANY, &[]),
    ("pr-test-support", &[], &[]),
];

/// One edge that breaks the picture, in words.
fn violations(workspace: &Workspace) -> Vec<String> {
    let members = workspace.member_names();
    let layers: BTreeMap<&str, (&[&str], &[&str])> =
        LAYERS.iter().map(|(c, a, o)| (*c, (*a, *o))).collect();
    let mut problems = Vec::new();
    for package in workspace.members() {
        let name = package.name.as_str();
        let Some((allowed, optional_only)) = layers.get(name) else {
            problems.push(format!(
                "`{name}` is not in the layering table of xtask/tests/layering.rs; place it"
            ));
            continue;
        };
        for dep in &package.dependencies {
            if !members.contains(&dep.name) || *allowed == ANY {
                continue;
            }
            let target = dep.name.as_str();
            if allowed.contains(&target) {
                continue;
            }
            if DEV_ONLY.contains(&target) {
                if dep.kind != DependencyKind::Development {
                    problems.push(format!(
                        "`{name}` may depend on `{target}` only as a dev-dependency"
                    ));
                }
                continue;
            }
            if optional_only.contains(&target) {
                if dep.kind == DependencyKind::Normal && !dep.optional {
                    problems.push(format!(
                        "`{name}` may depend on `{target}` only as an optional dependency"
                    ));
                }
                continue;
            }
            problems.push(format!(
                "`{name}` depends on `{target}` ({:?}), outside the picture in docs/STYLE.md (allowed: {})",
                dep.kind,
                if allowed.is_empty() { "nothing of ours".to_owned() } else { allowed.join(", ") }
            ));
        }
    }
    problems
}

fn workspace() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Workspace::load(&root).expect("cargo metadata reads this workspace")
}

#[test]
fn every_dependency_edge_follows_the_layering() {
    let problems = violations(&workspace());
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_table_names_each_crate_once() {
    let mut names: Vec<&str> = LAYERS.iter().map(|(c, _, _)| *c).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a crate appears twice in LAYERS");
}

#[test]
fn the_rule_catches_an_upward_edge() {
    // Plant a fault in the metadata: pr-gates depending on xtask (a copy of one of its
    // dependencies, renamed).
    let mut metadata = workspace().metadata().clone();
    let some_dep = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == "pr-gates")
        .and_then(|p| p.dependencies.first().cloned());
    let gates_index = metadata
        .packages
        .iter()
        .position(|p| p.name.as_str() == "pr-gates");
    let (Some(mut dep), Some(index)) = (some_dep, gates_index) else {
        panic!("pr-gates and its dependencies are in the workspace");
    };
    dep.name = "xtask".to_owned();
    metadata.packages[index].dependencies.push(dep);
    let problems = violations(&Workspace::from_metadata(metadata));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("`pr-gates` depends on `xtask`"),
        "{problems:?}"
    );
}

#[test]
fn the_test_support_is_a_dev_dependency_only() {
    // Plant a fault: pr-errors depending on pr-test-support as a normal dependency.
    let mut metadata = workspace().metadata().clone();
    let errors_index = metadata
        .packages
        .iter()
        .position(|p| p.name.as_str() == "pr-errors");
    let some_dep = errors_index.and_then(|i| metadata.packages[i].dependencies.first().cloned());
    let (Some(mut dep), Some(index)) = (some_dep, errors_index) else {
        panic!("pr-errors and its dependencies are in the workspace");
    };
    dep.name = "pr-test-support".to_owned();
    dep.kind = DependencyKind::Normal;
    metadata.packages[index].dependencies.push(dep.clone());
    let problems = violations(&Workspace::from_metadata(metadata.clone()));
    assert_eq!(
        problems,
        ["`pr-errors` may depend on `pr-test-support` only as a dev-dependency"]
    );
    // As a dev-dependency it is fine.
    let last = metadata.packages[index].dependencies.len() - 1;
    metadata.packages[index].dependencies[last].kind = DependencyKind::Development;
    assert!(violations(&Workspace::from_metadata(metadata)).is_empty());
}
