//! A crate's areas are features that really leave code out: a user of pr-resilience's rate
//! limiters alone (`default-features = false, features = ["rate"]`) gets no other area of the
//! crate and none of their dependencies, as `cargo tree` shows it (each package with the
//! features it is built with). And a crate takes from another only what it uses: pr-config's
//! secret files compile no crypto or URL parser of pr-security's, pr-logging compiles ring and
//! flate2 only for the audit log and gzip, and the facade's defaults leave out what `App` does
//! not need (issue 24).

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

#[test]
fn the_file_checks_alone_pull_no_crypto_and_no_url() {
    let lines = tree("pr-security", "files");
    assert_eq!(features_of(&lines, "pr-security"), "[files]", "{lines:#?}");
    // The secrets' ring, the validation's url with its IDNA and ICU4X tables, the sanitizer.
    for crate_name in ["ring", "base64", "url", "idna", "ammonia"] {
        assert!(
            !pulls(&lines, crate_name),
            "{crate_name} is pulled by pr-security's file checks alone: {lines:#?}"
        );
    }
}

#[test]
fn the_config_loader_takes_only_the_file_checks_of_pr_security() {
    let lines = tree("pr-config", "");
    assert_eq!(features_of(&lines, "pr-security"), "[files]", "{lines:#?}");
    for crate_name in [
        "ring",
        "url",
        "notify",
        "arc-swap",
        "serde_norway",
        "schemars",
        "garde",
    ] {
        assert!(
            !pulls(&lines, crate_name),
            "{crate_name} is pulled by pr-config's default build: {lines:#?}"
        );
    }
    // The handle and SIGHUP without the file watcher.
    let lines = tree("pr-config", "reload");
    assert!(pulls(&lines, "arc-swap"), "{lines:#?}");
    assert!(!pulls(&lines, "notify"), "{lines:#?}");
}

#[test]
fn logging_compiles_ring_only_for_the_audit_log_and_flate2_only_for_gzip() {
    let bare = tree("pr-logging", "");
    assert!(
        !pulls(&bare, "ring") && !pulls(&bare, "flate2"),
        "{bare:#?}"
    );
    let audit = tree("pr-logging", "audit");
    assert!(
        pulls(&audit, "ring") && !pulls(&audit, "flate2"),
        "{audit:#?}"
    );
    let gzip = tree("pr-logging", "gzip");
    assert!(pulls(&gzip, "flate2") && !pulls(&gzip, "ring"), "{gzip:#?}");
}

#[test]
fn the_facade_defaults_leave_the_optional_config_formats_and_tools_out() {
    let lines = tree("pr-facade", "errors,app");
    // YAML, garde, templates and the file watcher are opt-in; pr-security's crypto and URL
    // validation come only with `security`.
    for crate_name in ["serde_norway", "garde", "schemars", "notify", "url"] {
        assert!(
            !pulls(&lines, crate_name),
            "{crate_name} is pulled by the facade's defaults: {lines:#?}"
        );
    }
    // What `App` needs: `ConfigHandle` (reload on SIGHUP) and the reload check.
    assert!(
        pulls(&lines, "arc-swap") && pulls(&lines, "pr-health"),
        "{lines:#?}"
    );
}
