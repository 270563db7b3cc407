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
mod policies;
#[cfg(feature = "metrics")]
mod rate_metrics;
mod ratelimit;
#[cfg(feature = "redis")]
mod redis;
mod retry;
#[cfg(feature = "tower")]
mod tower;
