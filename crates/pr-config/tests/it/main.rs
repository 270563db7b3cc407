//! pr-config's integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::missing_panics_doc,
    clippy::must_use_candidate,
    reason = "tests"
)]

mod flags;
mod loader;
#[cfg(feature = "reload")]
mod reload;
#[cfg(feature = "schema")]
mod template;

use std::path::{Path, PathBuf};

/// Writes `text` to `name` in `dir`; its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
