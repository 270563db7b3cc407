//! Integration tests of pr-errors, one module per area.

mod catalogue;
#[cfg(feature = "serde")]
mod problem;
mod report;
mod support;
