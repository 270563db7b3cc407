//! A directory tree made for one test, removed on drop.

use std::path::{Path, PathBuf};

use pr_test_support::{TempDir, temp_dir};

pub(crate) struct Fixture {
    dir: TempDir,
}

impl Fixture {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            dir: temp_dir(&format!("resources-{name}")),
        }
    }

    /// Writes `text` at `relative`, creating directories; `{root}` in the
    /// text becomes the fixture's root.
    pub(crate) fn file(&self, relative: &str, text: &str) -> &Self {
        let root = self.dir.path();
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text.replace("{root}", root.to_str().unwrap())).unwrap();
        self
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub(crate) fn proc(&self) -> &Path {
        self.dir.path()
    }
}
