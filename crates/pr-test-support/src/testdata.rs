//! The vendored outside test data under `testdata/` at the workspace root
//! (each folder's README names its source, version and license).

use std::path::{Path, PathBuf};

/// The path of `relative` under the workspace's `testdata/`.
#[must_use]
pub fn testdata_path(relative: &str) -> PathBuf {
    // This crate sits at `crates/pr-test-support`, two levels under the root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(relative)
}

/// The bytes of `testdata/<relative>`.
///
/// # Panics
///
/// When the file is missing or unreadable, naming it.
#[must_use]
pub fn testdata(relative: &str) -> Vec<u8> {
    let path = testdata_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "test data file testdata/{relative} is missing ({e}): looked for {}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_index_and_names_a_missing_file() {
        assert!(!testdata("README.md").is_empty());
        let missing = std::panic::catch_unwind(|| testdata("no/such/file"))
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert!(missing.contains("testdata/no/such/file"), "{missing}");
    }
}
