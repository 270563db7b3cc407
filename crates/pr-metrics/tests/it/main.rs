//! Integration tests of pr-metrics, one module per area.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod exemplars;
mod exposition;
mod facade;
#[cfg(feature = "http")]
mod http;
mod registry;
mod stats;
