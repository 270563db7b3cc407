//! Integration tests of pr-resilience, one module per area.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod admission;
mod alloc;
mod breaker;
mod bulkhead;
mod compose;
mod dlq;
mod errors;
mod features;
#[cfg(feature = "tower")]
mod layer;
mod pipeline;
#[cfg(feature = "metrics")]
mod rate_metrics;
mod ratelimit;
#[cfg(feature = "redis")]
mod redis;
mod retry;
#[cfg(feature = "tower")]
mod tower;

/// Runs `promtool check metrics` on an exposition text.
#[cfg(feature = "metrics")]
fn promtool_check(text: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (.ci/run installs prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
