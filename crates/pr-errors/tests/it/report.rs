//! Rendering reports: one line, multi-line, context, downcasts, backtraces.

use std::time::Duration;

use pr_errors::{CodedError, Report, ResultExt, RetryClass, chain};
use proptest::prelude::*;

use crate::support::{Node, expected_one_line};

/// The multi-line form without the backtrace, which is there whenever the
/// environment running the tests sets `RUST_BACKTRACE`.
fn multi_line(report: &Report) -> String {
    let text = format!("{report:#}");
    match text.split_once("\n\nStack backtrace:\n") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

fn messages(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn one_line_has_every_cause() {
    let report = Report::new(Node::chain(&messages(&["a", "b", "c"]), false));
    assert_eq!(report.to_string(), "a: b: c");
    assert_eq!(report.chain().count(), 3);
    assert_eq!(report.code().as_str(), "test.private");
    assert_eq!(report.retry(), RetryClass::TRANSIENT);
}

#[test]
fn multi_line_numbers_the_causes() {
    let report = Report::new(Node::chain(&messages(&["top", "middle", "bottom"]), true));
    let text = multi_line(&report);
    assert_eq!(
        text,
        "error[test.public]: top\n\nCaused by:\n    0: middle\n    1: bottom"
    );
    assert_eq!(
        format!("{report:?}"),
        format!("{report:#}"),
        "Debug is the multi-line form"
    );
}

#[test]
fn control_characters_cannot_forge_lines() {
    let report = Report::new(Node::chain(
        &messages(&["user said \"hi\nERROR forged\"", "tab\there"]),
        true,
    ));
    let line = report.to_string();
    assert_eq!(line, "user said \"hi\\nERROR forged\": tab\\there");
    assert!(!multi_line(&report).contains("hi\nERROR"));
}

#[test]
fn context_keeps_code_retry_and_downcasts() {
    #[derive(Debug, thiserror::Error)]
    #[error("slow down")]
    struct Limited;
    impl CodedError for Limited {
        fn info(&self) -> &'static pr_errors::CodeInfo {
            &crate::support::PRIVATE
        }
        fn retry(&self) -> RetryClass {
            RetryClass::after(Duration::from_secs(3))
        }
    }

    let err = Err::<(), _>(Limited)
        .with_context(|| format!("calling {}", "billing"))
        .unwrap_err();
    assert_eq!(err.what(), "calling billing");
    let report = Report::new(err).context("placing order");
    assert_eq!(
        report.to_string(),
        "placing order: calling billing: slow down"
    );
    assert_eq!(report.retry().retry_after(), Some(Duration::from_secs(3)));
    assert!(report.downcast_ref::<Limited>().is_some());
    assert!(report.downcast_ref::<std::io::Error>().is_none());
    assert_eq!(report.chain().count(), 3);
}

#[test]
fn classify_gives_a_foreign_error_a_code() {
    let err = std::fs::read("/definitely/not/here")
        .classify(&crate::support::PUBLIC)
        .unwrap_err();
    assert_eq!(err.code().as_str(), "test.public");
    assert_eq!(err.to_string(), err.inner().to_string());
    let report = Report::unclassified(std::io::Error::other("boom"));
    assert_eq!(report.code(), pr_errors::codes::UNCLASSIFIED.code);
    assert!(!report.is_public());
    assert_eq!(report.info().status.as_u16(), 500);
}

#[test]
fn chain_renders_borrowed_errors() {
    let node = Node::chain(&messages(&["x", "y"]), true);
    assert_eq!(chain(&node).to_string(), "x: y");
    assert_eq!(format!("{:#}", chain(&node)), "x\n\nCaused by:\n    0: y");
}

#[test]
fn cyclic_depth_is_bounded_when_rendering() {
    // A chain far deeper than anything real: rendering stops with an ellipsis.
    let deep: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    let report = Report::new(Node::chain(&deep, true));
    let line = report.to_string();
    assert!(line.ends_with(": ..."), "{}", &line[line.len() - 20..]);
    assert!(multi_line(&report).ends_with("\n    ..."));
}

/// Runs in a child process with `RUST_LIB_BACKTRACE=1` (see below).
#[test]
fn backtrace_child() {
    if std::env::var_os("PR_ERRORS_BACKTRACE_CHILD").is_none() {
        return;
    }
    let report = Report::new(Node::chain(&messages(&["a"]), true));
    assert!(report.backtrace().is_some());
    assert!(format!("{report:#}").contains("\n\nStack backtrace:\n"));
}

#[test]
fn backtrace_follows_the_environment() {
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .args(["--exact", "report::backtrace_child", "--test-threads=1"])
        .env("PR_ERRORS_BACKTRACE_CHILD", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let without = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "report::backtrace_child"])
        .env("PR_ERRORS_BACKTRACE_CHILD", "1")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !without.success(),
        "with backtraces off the child must fail its assertion"
    );
}

proptest! {
    #[test]
    fn rendering_is_complete_and_one_line(msgs in prop::collection::vec(any::<String>(), 1..12), public: bool) {
        let report = Report::new(Node::chain(&msgs, public)).context("ctx");
        prop_assert_eq!(report.chain().count(), msgs.len() + 1);
        let line = report.to_string();
        prop_assert!(!line.chars().any(char::is_control));
        let mut all = vec!["ctx".to_owned()];
        all.extend(msgs.iter().cloned());
        prop_assert_eq!(line, expected_one_line(&all));

        let multi = multi_line(&report);
        prop_assert_eq!(multi.lines().count(), 1 + 2 + msgs.len());
        let head = if public { "error[test.public]: ctx" } else { "error[test.private]: ctx" };
        prop_assert!(multi.starts_with(head), "{}", multi);
    }
}
