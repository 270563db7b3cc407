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

/// Loads `T` from `file` alone, over its defaults.
///
/// # Errors
///
/// As [`pr_config::ConfigLoader::load`].
pub fn load_file<T>(file: &Path) -> Result<pr_config::Loaded<T>, pr_config::Error>
where
    T: serde::de::DeserializeOwned + serde::Serialize + Default + pr_config::Validate,
{
    pr_config::ConfigLoader::<T>::builder()
        .file(file)
        .build()
        .load()
}
