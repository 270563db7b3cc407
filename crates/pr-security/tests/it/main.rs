//! Integration tests of pr-security, one module per area. The corpus tests
//! read the outside suites in `testdata/` at the workspace root.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]

#[cfg(unix)]
mod api;
mod corpus_email;
#[cfg(unix)]
mod corpus_traversal;
mod corpus_url;
mod crypto;
#[cfg(unix)]
mod perms;
mod props;
#[cfg(unix)]
mod root;
mod sanitize;
mod signals;
mod ssrf;
