//! What the source checks of `xtask/tests/` share: the walk over a crate's `.rs` files.
//!
//! A folder with a `mod.rs`, not `common.rs` beside it: Cargo builds every `tests/*.rs` as a test
//! binary of its own, and this is no test.

use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively, in no particular order.
///
/// # Panics
///
/// When `dir` cannot be read: the checks read the workspace's own sources.
pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
