//! Integration tests of pr-logging, one module per area, on real files in
//! temporary directories and an injected clock.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

#[cfg(feature = "audit")]
mod audit;
mod compose;
mod console;
mod crash;
mod files;
mod format;
mod health;
mod helpers;
#[cfg(feature = "http")]
mod http;
mod levels;
#[cfg(feature = "metrics")]
mod metrics;
mod queue;
mod redaction;
mod support;
