//! The built-in tidy rules on a workspace with planted faults.

use pr_gates::{Workspace, tidy_check};

use crate::support::Scratch;

#[test]
fn a_tidy_workspace_has_no_findings() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    let workspace = Workspace::load(scratch.path()).unwrap();
    assert_eq!(tidy_check(&workspace, &[]).unwrap(), []);
}

#[test]
fn every_planted_fault_is_found() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    scratch.bad_crate();
    let workspace = Workspace::load(scratch.path()).unwrap();
    let findings: Vec<String> = tidy_check(&workspace, &[])
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let expected_parts = [
        (
            "crates/bad/Cargo.toml",
            "has no CHANGELOG.md beside it [publish-metadata]",
        ),
        (
            "crates/bad/Cargo.toml",
            "missing crates.io metadata: keywords, categories, readme [publish-metadata]",
        ),
        (
            "crates/bad/Cargo.toml",
            "missing `[lints] workspace = true` [workspace-lints]",
        ),
        (
            "crates/bad/Cargo.toml",
            "path dependency `good` has no `version`",
        ),
        (
            "crates/bad/src/inner.rs",
            "does not start with a `//!` doc comment [doc-comment]",
        ),
        ("crates/bad/src/lib.rs:7", "[forbidden-text]"),
    ];
    for (location, message) in expected_parts {
        assert!(
            findings
                .iter()
                .any(|f| f.starts_with(location) && f.contains(message)),
            "no `{location}: ...{message}` in {findings:#?}"
        );
    }
    assert_eq!(findings.len(), expected_parts.len(), "{findings:#?}");
}

#[test]
fn what_crates_io_would_refuse_and_broken_links_are_found() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    scratch.write(
        "crates/good/Cargo.toml",
        "[package]\nname = \"good\"\ndescription = \"A good crate.\"\n\
         version.workspace = true\nedition.workspace = true\nlicense.workspace = true\n\
         repository.workspace = true\nreadme = \"README.md\"\n\
         keywords = [\"stale-while-revalidat\", \"ok\"]\n\
         categories = [\"web\", \"caching\"]\n\n[lints]\nworkspace = true\n",
    );
    scratch.write(
        "crates/good/README.md",
        "# good\n\nSee [the guide](../../docs/GUIDE.md), [the code](src/lib.rs) and\n\
         [the web](https://example.com/missing.md); `[code](gone.md)` is not a link.\n",
    );
    let workspace = Workspace::load(scratch.path()).unwrap();
    let findings: Vec<String> = tidy_check(&workspace, &[])
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        findings,
        [
            "crates/good/README.md:3: link `../../docs/GUIDE.md` points to docs/GUIDE.md, which \
             does not exist [markdown-links]",
            "crates/good/Cargo.toml: category `web` is not one of crates.io's category slugs \
             (see https://crates.io/category_slugs) [publish-metadata]",
            "crates/good/Cargo.toml: keyword `stale-while-revalidat` has 21 characters; crates.io \
             takes at most 20 [publish-metadata]",
        ]
    );
    // Once the file exists, the link holds; excluded paths are not read at all.
    scratch.write("docs/GUIDE.md", "# Guide\n");
    let findings = tidy_check(&workspace, &[]).unwrap();
    assert!(
        findings.iter().all(|f| f.rule != "markdown-links"),
        "{findings:?}"
    );
    scratch.write("docs/old/README.md", "[gone](gone.md)\n");
    assert!(
        tidy_check(&workspace, &["docs/old".to_owned()])
            .unwrap()
            .iter()
            .all(|f| f.rule != "markdown-links")
    );
}

#[test]
fn changelog_without_unreleased_and_excluded_paths() {
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    scratch.write("crates/good/CHANGELOG.md", "# Changelog\n\n## 0.1.0\n");
    scratch.write("crates/good/tests/fixtures/raw.rs", "fn no_docs() {}\n");
    let workspace = Workspace::load(scratch.path()).unwrap();
    let findings = tidy_check(&workspace, &[]).unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert_eq!(findings[0].location, "crates/good/tests/fixtures/raw.rs");
    assert!(
        findings[1]
            .to_string()
            .contains("has no `Unreleased` section"),
        "{findings:#?}"
    );

    let findings = tidy_check(&workspace, &["crates/good/tests/fixtures".to_owned()]).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
}

#[test]
fn unpublished_crates_need_no_crates_io_metadata() {
    let scratch = Scratch::new("");
    scratch.write(
        "crates/tool/Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[lints]\nworkspace = true\n",
    );
    scratch.write("crates/tool/src/main.rs", "//! A tool.\nfn main() {}\n");
    let workspace = Workspace::load(scratch.path()).unwrap();
    assert_eq!(tidy_check(&workspace, &[]).unwrap(), []);
    assert!(workspace.publishable().is_empty());
}

#[test]
fn a_path_only_dev_dependency_is_no_finding() {
    // Publishing strips it: how an unpublished test-support crate is used.
    let scratch = Scratch::new("");
    scratch.good_crate("support");
    scratch.good_crate("user");
    let manifest = scratch.path().join("crates/user/Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[dev-dependencies]\nsupport = { path = \"../support\" }\n");
    std::fs::write(&manifest, text).unwrap();
    let workspace = Workspace::load(scratch.path()).unwrap();
    let findings = tidy_check(&workspace, &[]).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn manifests_are_read_in_every_toml_spelling() {
    // The rules read manifests through `cargo metadata` and the `toml` crate, so a dependency or a
    // lints table counts however it is written: inline, as its own table, with dotted keys, or
    // under a `[target]` table. A line scraper misses some of these.
    let manifest = |name: &str, top: &str, tail: &str| {
        format!(
            "{top}[package]\nname = \"{name}\"\ndescription = \"A good crate.\"\n\
             version.workspace = true\nedition.workspace = true\nlicense.workspace = true\n\
             repository.workspace = true\nreadme = \"README.md\"\nkeywords = [\"good\"]\n\
             categories = [\"development-tools\"]\n\n{tail}"
        )
    };
    let lints = "[lints]\nworkspace = true\n\n";
    let crates = [
        (
            "inline",
            "lints = { workspace = true }\n",
            "[dependencies]\ngood = { path = \"../good\" }\n".to_owned(),
        ),
        (
            "dotted-table",
            "lints.workspace = true\n",
            "[dependencies.good]\npath = \"../good\"\n".to_owned(),
        ),
        (
            "dotted-key",
            "",
            format!("{lints}[dependencies]\ngood.path = \"../good\"\n"),
        ),
        (
            "target",
            "",
            format!("{lints}[target.'cfg(unix)'.dependencies.good]\npath = \"../good\"\n"),
        ),
        (
            "versioned",
            "",
            format!("{lints}[dependencies.good]\npath = \"../good\"\nversion = \"0.1.0\"\n"),
        ),
        (
            "dev-only",
            "",
            format!("{lints}[dev-dependencies.good]\npath = \"../good\"\n"),
        ),
    ];
    let scratch = Scratch::new("");
    scratch.good_crate("good");
    for (name, top, tail) in &crates {
        scratch.good_crate(name);
        scratch.write(
            &format!("crates/{name}/Cargo.toml"),
            &manifest(name, top, tail),
        );
    }
    let workspace = Workspace::load(scratch.path()).unwrap();
    let findings: Vec<String> = tidy_check(&workspace, &[])
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let expected: Vec<String> = ["dotted-key", "dotted-table", "inline", "target"]
        .iter()
        .map(|name| {
            format!(
                "crates/{name}/Cargo.toml: path dependency `good` has no `version`, so the crate \
                 cannot publish [versioned-path-deps]"
            )
        })
        .collect();
    assert_eq!(findings, expected);
}
