//! A crate's areas are features that really leave code out: a user of pr-resilience's rate
//! limiters alone (`default-features = false, features = ["rate"]`) gets no other area of the
//! crate and none of their dependencies, as `cargo tree` shows it (each package with the
//! features it is built with).

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The lines of `cargo tree -e normal` for `package` with only `features`, each
/// `name vX.Y.Z [feature,...]` (a path or `(proc-macro)` after the version), de-duplicated.
fn tree(package: &str, features: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["tree", "--offline", "-p", package, "--no-default-features"])
        .args(["--features", features, "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p} [{f}]"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.trim_end_matches(" (*)").to_owned())
        .collect()
}

/// The features `package` itself is built with, from `tree`'s lines.
fn features_of(lines: &BTreeSet<String>, package: &str) -> String {
    let line = lines
        .iter()
        .find(|line| line.starts_with(&format!("{package} v")))
        .unwrap();
    line[line.rfind('[').unwrap()..].to_owned()
}

/// Whether `crate_name` is in `tree`'s lines.
fn pulls(lines: &BTreeSet<String>, crate_name: &str) -> bool {
    lines
        .iter()
        .any(|line| line.starts_with(&format!("{crate_name} v")))
}

#[test]
fn the_rate_limiters_alone_pull_no_other_area() {
    let lines = tree("pr-resilience", "rate");
    assert_eq!(features_of(&lines, "pr-resilience"), "[rate]", "{lines:#?}");
    // The queue's CRC and record codec, the retry jitter's generator, the checks and layers
    // stay out.
    for crate_name in ["crc32c", "serde_json", "fastrand", "pr-health", "tower"] {
        assert!(
            !pulls(&lines, crate_name),
            "{crate_name} is pulled by the rate limiters alone: {lines:#?}"
        );
    }
}

#[test]
fn the_queue_alone_pulls_its_codec_but_no_policy() {
    let lines = tree("pr-resilience", "dlq");
    assert_eq!(features_of(&lines, "pr-resilience"), "[dlq]", "{lines:#?}");
    assert!(pulls(&lines, "crc32c"), "{lines:#?}");
    assert!(
        !pulls(&lines, "hashbrown") && !pulls(&lines, "fastrand"),
        "{lines:#?}"
    );
}
