//! Criterion benches of the pr toolkit's hot paths, side by side with the
//! peer crates.
//!
//! The benches live in `benches/`; `cargo xtask bench` runs them and writes
//! `docs/PERFORMANCE.md`. In each criterion group the function named `ours`
//! is this workspace's implementation and every other function is a peer,
//! named after its crate. This library is empty on purpose: the package
//! exists to hold the benches and their peer dev-dependencies.

#![forbid(unsafe_code)]

/// The workspace README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadmeDoctests;
