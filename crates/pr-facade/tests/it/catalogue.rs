//! The workspace-wide error-code catalogue: codes are unique across crates,
//! and `docs/error-codes.md` is what the catalogues say.
//!
//! Run with `PR_BLESS=1` to rewrite the page after adding or changing codes.

use std::path::PathBuf;

use pr_facade::errors::{Catalogue, check_unique, render_markdown};

/// Every crate's catalogue. A crate that lands adds its line here (behind
/// its facade feature); the test below then covers its codes.
fn catalogues() -> Vec<&'static Catalogue> {
    vec![
        &pr_facade::errors::codes::CODES,
        &pr_facade::health::codes::CODES,
        &pr_facade::http::codes::CODES,
        &pr_facade::security::codes::CODES,
        &pr_facade::metrics::codes::CODES,
        &pr_facade::resources::codes::CODES,
        &pr_facade::logging::codes::CODES,
        &pr_facade::config::codes::CODES,
        &pr_facade::resilience::codes::CODES,
        &pr_facade::cache::codes::CODES,
        &pr_facade::telemetry::codes::CODES,
        &pr_facade::app::codes::CODES,
    ]
}

#[test]
fn catalogue_codes_are_unique_across_the_workspace() {
    if let Err(duplicates) = check_unique(&catalogues()) {
        let lines: Vec<String> = duplicates.iter().map(ToString::to_string).collect();
        panic!("duplicated error codes:\n{}", lines.join("\n"));
    }
}

#[test]
fn catalogue_page_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/error-codes.md");
    let expected = render_markdown(&catalogues());
    if std::env::var_os("PR_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is stale: regenerate it with \
         `PR_BLESS=1 cargo test -p pr-facade --all-features --test it -- catalogue`",
        path.display()
    );
}
