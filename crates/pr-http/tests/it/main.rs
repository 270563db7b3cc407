//! pr-http's layers on a real server on loopback, called by a real client.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

mod access_log;
#[cfg(feature = "auth")]
mod auth;
mod capture;
#[cfg(feature = "jwks")]
mod jwks;
mod limits;
#[cfg(feature = "client")]
mod outbound;
mod problem;
mod rate_limit;
mod request_id;
mod request_metrics;
mod server;
mod stack;
#[cfg(feature = "tls")]
mod tls;
mod trace_context;
