//! Integration tests of pr-telemetry against real OTLP receivers on
//! loopback (an HTTP server and a gRPC server, decoding requests with the
//! official protobuf definitions), and collectors that are down or never
//! answer.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod config;
mod export;
