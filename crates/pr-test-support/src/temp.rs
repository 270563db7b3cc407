//! Temporary directories, on `tempfile` (unique names, removed on drop).

pub use tempfile::TempDir;

/// A fresh, empty directory under the system's temporary directory,
/// removed with everything in it when the returned value drops. `tag` goes
/// in its name (`pr-<tag>-XXXXXX`), so a directory left by a killed run
/// says which test made it.
///
/// # Panics
///
/// When the directory cannot be created.
#[must_use]
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("pr-{tag}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory for `{tag}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_directory_is_new_empty_and_removed_on_drop() {
        let a = temp_dir("t");
        let b = temp_dir("t");
        assert_ne!(a.path(), b.path());
        assert!(std::fs::read_dir(a.path()).unwrap().next().is_none());
        assert!(
            a.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pr-t-")
        );
        std::fs::write(a.path().join("f"), b"x").unwrap();
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
    }
}
