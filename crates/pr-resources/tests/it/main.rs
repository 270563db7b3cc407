//! Integration tests of pr-resources, one module per area.

#![allow(
    clippy::unwrap_used,
    clippy::float_cmp,
    reason = "helpers of tests: a panic is a failed test"
)]

mod budget;
mod cgroup;
mod fixture;
#[cfg(feature = "gpu")]
mod gpu;
#[cfg(feature = "health")]
mod health;
mod limits;
#[cfg(feature = "metrics")]
mod metrics;
mod real;
mod sampler;
