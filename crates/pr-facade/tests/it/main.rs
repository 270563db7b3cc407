//! Integration tests of pr-facade: what spans every crate.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod catalogue;
mod console;
mod deploy;
mod deploy_tools;
mod e2e;
mod edge;
mod listener;
mod loggers;
mod logging_health;
mod minimal;
mod one_clock;
mod panic;
mod ready;
mod slow_clients;
#[cfg(all(feature = "telemetry", feature = "http"))]
mod telemetry;
mod templates;
#[cfg(feature = "tls")]
mod tls;
