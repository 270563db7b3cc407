//! The `codes!` macro used from another crate, and catalogue checks.

use pr_errors::{Catalogue, RetryClass, check_unique, render_markdown};

use crate::support;

#[test]
fn macro_builds_entries_and_catalogue_in_the_callers_crate() {
    assert_eq!(support::CODES.crate_name, "pr-errors");
    assert_eq!(support::CODES.entries.len(), 2);
    assert_eq!(support::PUBLIC.code.as_str(), "test.public");
    assert_eq!(support::PUBLIC.status.as_u16(), 422);
    assert_eq!(support::PUBLIC.retry, RetryClass::Permanent);
    assert!(support::CODES.find("test.public").unwrap().public);
    assert_eq!(support::PRIVATE.retry, RetryClass::TRANSIENT);
    assert!(!support::CODES.find("test.private").unwrap().public);
    assert_eq!(
        support::PRIVATE.meaning,
        "A failure whose message stays in the logs."
    );
    assert_eq!(support::CODES.find("test.private"), Some(&support::PRIVATE));
    assert_eq!(support::CODES.find("test.none"), None);
}

#[test]
fn own_codes_are_unique_and_render() {
    let all: [&Catalogue; 2] = [&pr_errors::codes::CODES, &support::CODES];
    assert!(check_unique(&all).is_ok());
    let md = render_markdown(&all);
    assert!(md.contains("| `internal.unclassified` | `pr-errors` | 500 | permanent | no |"));
    assert!(md.contains("| `test.public` | `pr-errors` | 422 | permanent | yes |"));
}

#[test]
fn a_code_defined_twice_is_reported() {
    let err = check_unique(&[
        &pr_errors::codes::CODES,
        &support::CODES,
        &pr_errors::codes::CODES,
    ])
    .unwrap_err();
    assert_eq!(err.len(), pr_errors::codes::CODES.entries.len());
    assert!(err[0].to_string().contains("internal.unclassified"));
}
