//! Integration tests of pr-metrics, one module per area.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod exposition;
mod facade;
mod registry;
mod stats;
