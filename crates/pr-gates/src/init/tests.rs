//! Unit tests of `gates init` on throwaway workspaces: the files written, nothing overwritten, the
//! manifest edits and the publishable crates they leave, and the text edits themselves.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Writes `files` (path from `root`, text) under `root`.
fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

/// Every file under `dir`, by path, with its text.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// What `cargo new app` writes.
const CARGO_NEW_MANIFEST: &str =
    "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n";
const CARGO_NEW_MAIN: &str = "fn main() {\n    println!(\"Hello, world!\");\n}\n";

fn init(root: &Path, options: &InitOptions) -> InitReport {
    run(&Workspace::load(root).unwrap(), options).unwrap()
}

fn paths(list: &[&str]) -> Vec<PathBuf> {
    list.iter().map(PathBuf::from).collect()
}

const ALL_FILES: &[&str] = &[
    "deny.toml",
    "xtask/Cargo.toml",
    "xtask/src/main.rs",
    ".cargo/config.toml",
    WORKFLOW_PATH,
];

#[test]
fn a_fresh_cargo_new_package_gets_every_file_and_becomes_a_workspace_with_xtask() {
    let dir = pr_test_support::temp_dir("gates-init-new");
    let root = dir.path();
    write_files(
        root,
        &[
            ("Cargo.toml", CARGO_NEW_MANIFEST),
            ("src/main.rs", CARGO_NEW_MAIN),
        ],
    );
    let report = init(root, &InitOptions::new());
    assert_eq!(report.written, paths(ALL_FILES), "{report}");
    assert!(report.skipped.is_empty(), "{report}");
    assert!(report.notes.is_empty(), "{report}");
    assert_eq!(report.edited.len(), 3, "{report}");

    assert_eq!(read(root, "deny.toml"), DENY_TOML);
    assert_eq!(read(root, "xtask/src/main.rs"), XTASK_MAIN);
    assert_eq!(read(root, ".cargo/config.toml"), CARGO_CONFIG);
    assert_eq!(read(root, WORKFLOW_PATH), WORKFLOW);
    let xtask: toml::Table = toml::from_str(&read(root, "xtask/Cargo.toml")).unwrap();
    assert_eq!(xtask["package"]["publish"].as_bool(), Some(false));
    assert_eq!(
        xtask["dependencies"]["pr-gates"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(
        xtask.get("lints").is_none(),
        "the root has no workspace lints"
    );

    // The manifest keeps its own lines and gains the edits, each where it belongs.
    assert_eq!(
        read(root, "Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\n\n[workspace]\nmembers = [\"xtask\"]\n\n\
             # Written by `cargo xtask gates init`: built-in tidy rules this workspace does not meet\n\
             # yet (doc-comment: 1 finding(s), first in src/main.rs). To turn one on, take it off the list and fix what\n\
             # `cargo xtask gates --only tidy` finds.\n\
             [workspace.metadata.pr-gates.tidy]\ndisabled-rules = [\"doc-comment\"]\n"
        )
    );

    // What the gates will see: two members, neither publishable, the rule off, no other finding.
    let workspace = Workspace::load(root).unwrap();
    assert_eq!(workspace.member_names(), ["app", "xtask"]);
    assert!(workspace.publishable().is_empty());
    let config = Config::load(root).unwrap();
    assert_eq!(config.tidy.disabled_rules, ["doc-comment"]);
    let findings = crate::tidy::check(&workspace, &[]).unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f.rule == "doc-comment" && f.location == "src/main.rs"),
        "{findings:?}"
    );
}

#[test]
fn nothing_is_overwritten_and_a_second_run_changes_nothing() {
    let dir = pr_test_support::temp_dir("gates-init-again");
    let root = dir.path();
    let own_deny = "# ours\n[licenses]\nallow = [\"MIT\"]\n";
    let own_config = "[build]\njobs = 1\n\n[alias]\nb = \"build\"\n";
    write_files(
        root,
        &[
            ("Cargo.toml", CARGO_NEW_MANIFEST),
            ("src/main.rs", "//! The app.\n\nfn main() {}\n"),
            ("deny.toml", own_deny),
            (".cargo/config.toml", own_config),
        ],
    );
    let report = init(root, &InitOptions::new());
    assert_eq!(
        report.skipped,
        paths(&["deny.toml", ".cargo/config.toml"]),
        "{report}"
    );
    assert_eq!(
        report.written,
        paths(&["xtask/Cargo.toml", "xtask/src/main.rs", WORKFLOW_PATH])
    );
    assert_eq!(read(root, "deny.toml"), own_deny);
    // The alias goes into the project's own cargo configuration, beside its other alias.
    assert_eq!(
        read(root, ".cargo/config.toml"),
        "[build]\njobs = 1\n\n[alias]\nb = \"build\"\nxtask = \"run --package xtask --\"\n"
    );
    // Every file has its `//!` line: no tidy rule is turned off.
    assert!(
        !read(root, "Cargo.toml").contains("disabled-rules"),
        "{report}"
    );
    let shown = report.to_string();
    assert!(
        shown.contains("  skipped  deny.toml (it exists; left as it is)"),
        "{shown}"
    );
    assert!(shown.contains("  wrote    xtask/src/main.rs"), "{shown}");

    let before = snapshot(root);
    let again = init(root, &InitOptions::new());
    assert_eq!(again.skipped, paths(ALL_FILES), "{again}");
    assert!(
        again.written.is_empty() && again.edited.is_empty(),
        "{again}"
    );
    assert!(again.notes.is_empty(), "{again}");
    assert_eq!(snapshot(root), before, "a second init changes no file");
}

#[test]
fn only_unlicensed_crates_without_a_publish_key_are_marked_and_publishable_ones_stay() {
    let dir = pr_test_support::temp_dir("gates-init-publish");
    let root = dir.path();
    let member = |name: &str, extra: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{extra}\n[lints]\nworkspace = true\n"
        )
    };
    let lib = "//! A crate.\n";
    write_files(
        root,
        &[
            (
                "Cargo.toml",
                "[workspace]\nresolver = \"3\"\nmembers = [\n    \"crates/*\",\n]\n\n\
                 [workspace.package]\nlicense = \"MIT\"\n\n[workspace.lints.rust]\nmissing_docs = \"warn\"\n",
            ),
            ("crates/app/Cargo.toml", &member("app", "")),
            ("crates/app/src/lib.rs", lib),
            (
                "crates/tool/Cargo.toml",
                &member("tool", "publish = false\n"),
            ),
            ("crates/tool/src/lib.rs", lib),
            (
                "crates/licensed/Cargo.toml",
                &member("licensed", "license = \"MIT\"\n"),
            ),
            ("crates/licensed/src/lib.rs", lib),
            (
                "crates/inherits/Cargo.toml",
                &member("inherits", "license.workspace = true\n"),
            ),
            ("crates/inherits/src/lib.rs", lib),
        ],
    );
    let before = snapshot(root);
    let report = init(root, &InitOptions::new());
    let after = snapshot(root);
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|(path, text)| after.get(*path) != Some(*text))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        changed,
        [
            &root.join("Cargo.toml"),
            &root.join("crates/app/Cargo.toml")
        ],
        "{report}"
    );
    assert!(read(root, "crates/app/Cargo.toml").contains("edition = \"2024\"\npublish = false\n"));
    // The list written one item a line gets `xtask` the same way.
    assert!(
        read(root, "Cargo.toml").starts_with(
            "[workspace]\nresolver = \"3\"\nmembers = [\n    \"xtask\",\n    \"crates/*\",\n]\n"
        ),
        "{}",
        read(root, "Cargo.toml")
    );
    // The root has workspace lints: the xtask inherits them, as the tidy rule asks.
    assert!(read(root, "xtask/Cargo.toml").ends_with("\n[lints]\nworkspace = true\n"));

    // The gates decide from `cargo metadata` at run time: the licensed crates are publishable.
    let workspace = Workspace::load(root).unwrap();
    let publishable: Vec<&str> = workspace
        .publishable()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(publishable, ["inherits", "licensed"]);
    // So the publish checks (a README, keywords, ...) apply to them and are off for the others,
    // and init turned that rule off until the metadata is written.
    let findings = crate::tidy::check(&workspace, &[]).unwrap();
    let publish: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.rule == "publish-metadata")
        .map(|f| f.location.as_str())
        .collect();
    assert_eq!(
        publish,
        BTreeSet::from(["crates/inherits/Cargo.toml", "crates/licensed/Cargo.toml"])
    );
    assert_eq!(
        Config::load(root).unwrap().tidy.disabled_rules,
        ["publish-metadata"]
    );
}

#[test]
fn the_xtask_takes_pr_gates_from_a_checkout_when_asked() {
    let dir = pr_test_support::temp_dir("gates-init-path");
    let root = dir.path();
    write_files(
        root,
        &[
            ("Cargo.toml", CARGO_NEW_MANIFEST),
            ("src/main.rs", "//! The app.\nfn main() {}\n"),
            (
                "vendor/pr-gates/Cargo.toml",
                "[package]\nname = \"pr-gates\"\nversion = \"0.1.0\"\n",
            ),
            ("vendor/pr-gates/src/lib.rs", "//! A stand-in.\n"),
            ("vendor/other/Cargo.toml", "[package]\nname = \"other\"\n"),
        ],
    );
    // Inside the workspace: relative to the xtask, so the checkout can move with it.
    let options = InitOptions::new().pr_gates_path(root.join("vendor/pr-gates"));
    let text = pr_gates_dependency(root, &options).unwrap();
    assert_eq!(text, "{ path = \"../vendor/pr-gates\" }");
    // Outside it: the absolute path.
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = pr_gates_dependency(root, &InitOptions::new().pr_gates_path(&here)).unwrap();
    let value: toml::Table = toml::from_str(&format!("x = {text}")).unwrap();
    assert_eq!(
        value["x"]["path"].as_str(),
        Some(here.canonicalize().unwrap().to_str().unwrap())
    );
    for wrong in ["vendor/other", "vendor/none"] {
        let err = pr_gates_dependency(root, &InitOptions::new().pr_gates_path(root.join(wrong)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--pr-gates-path"), "{err}");
    }
    let report = init(root, &options);
    assert!(
        read(root, "xtask/Cargo.toml").contains("pr-gates = { path = \"../vendor/pr-gates\" }"),
        "{report}"
    );
}

#[test]
fn an_xtask_elsewhere_is_not_doubled() {
    let dir = pr_test_support::temp_dir("gates-init-xtask");
    let root = dir.path();
    write_files(
        root,
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"tools/xtask\"]\nresolver = \"3\"\n",
            ),
            (
                "tools/xtask/Cargo.toml",
                "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n",
            ),
            ("tools/xtask/src/main.rs", "//! Ours.\nfn main() {}\n"),
        ],
    );
    let report = init(root, &InitOptions::new());
    assert!(!root.join("xtask").exists(), "{report}");
    assert_eq!(
        read(root, "Cargo.toml"),
        "[workspace]\nmembers = [\"tools/xtask\"]\nresolver = \"3\"\n"
    );
    assert_eq!(report.notes.len(), 1, "{report}");
    assert!(
        report.notes[0].contains("has an `xtask` member at"),
        "{report}"
    );
}

#[test]
fn lines_go_into_their_table_and_items_into_their_array() {
    // A table that is missing is added at the end, after a blank line.
    assert_eq!(
        insert_in_table("[package]\nname = \"a\"", "alias", "x = 1").unwrap(),
        "[package]\nname = \"a\"\n\n[alias]\nx = 1\n"
    );
    assert_eq!(
        insert_in_table("", "alias", "x = 1").unwrap(),
        "[alias]\nx = 1\n"
    );
    // After the section's last key, not after its sub-tables or a later table; a value over several
    // lines and a comment stay whole.
    let text = "# top\n[package]\nname = \"a\" # the name\nkeywords = [\n  \"x\",\n]\n\n\
                [dependencies]\nfoo = \"1\"\n\n[package.metadata.docs]\nall = true\n";
    assert_eq!(
        insert_in_table(text, "package", "publish = false").unwrap(),
        "# top\n[package]\nname = \"a\" # the name\nkeywords = [\n  \"x\",\n]\npublish = false\n\n\
         [dependencies]\nfoo = \"1\"\n\n[package.metadata.docs]\nall = true\n"
    );
    // A header without keys: right after it.
    assert_eq!(
        insert_in_table(
            "[workspace]\n\n[dependencies]\n",
            "workspace",
            "members = []"
        )
        .unwrap(),
        "[workspace]\nmembers = []\n\n[dependencies]\n"
    );
    // Not a table: no edit.
    assert_eq!(insert_in_table("alias = 1\n", "alias", "x = 1"), None);

    let in_array = |text: &str| {
        let doc = DeTable::parse(text).unwrap();
        let workspace = doc.get_ref().get("workspace").unwrap().get_ref();
        let members = workspace.as_table().unwrap().get("members").unwrap();
        insert_in_array(text, members, "\"xtask\"").unwrap()
    };
    assert_eq!(
        in_array("[workspace]\nmembers = []\n"),
        "[workspace]\nmembers = [\"xtask\"]\n"
    );
    assert_eq!(
        in_array("[workspace]\nmembers = [\"a\", \"b\"]\n"),
        "[workspace]\nmembers = [\"xtask\", \"a\", \"b\"]\n"
    );
    assert_eq!(
        in_array("[workspace]\nmembers = [\n\t\"a\",\n]\n"),
        "[workspace]\nmembers = [\n\t\"xtask\",\n\t\"a\",\n]\n"
    );
}

#[test]
fn an_edit_that_does_not_read_back_is_not_made() {
    let dir = pr_test_support::temp_dir("gates-init-edit");
    let path = dir.path().join("x.toml");
    std::fs::write(&path, "a = 1\n").unwrap();
    // Broken TOML, or TOML without what the edit was for: the file stays.
    assert!(!edit(&path, |t| Some(format!("{t}[[")), |_| true).unwrap());
    assert!(
        !edit(
            &path,
            |t| Some(format!("{t}b = 2\n")),
            |t| t.contains_key("c")
        )
        .unwrap()
    );
    assert!(!edit(&path, |_| None, |_| true).unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 1\n");
    assert!(
        edit(
            &path,
            |t| Some(format!("{t}b = 2\n")),
            |t| t.contains_key("b")
        )
        .unwrap()
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 1\nb = 2\n");
}
