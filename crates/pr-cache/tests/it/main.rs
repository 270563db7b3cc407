//! Integration tests of pr-cache, one module per area.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod crash;
mod file;
#[cfg(feature = "health")]
mod health;
mod hit_ratio;
mod memory;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "redis")]
mod redis;
mod support;
mod tier;
mod trace;
mod window;
