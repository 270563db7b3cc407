//! Integration tests of pr-health, one module per area.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

#[cfg(feature = "http")]
mod http;
#[cfg(feature = "metrics")]
mod metrics;
mod registry;
