//! Integration tests of pr-gates on small throwaway workspaces built in temp dirs.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

mod e2e;
mod runner;
mod support;
mod tidy;
