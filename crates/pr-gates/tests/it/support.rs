//! A throwaway Cargo workspace in a temp dir: two crates, `good` (tidy in every way) and `bad`
//! (with planted faults the tests choose).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// An empty workspace root with `[workspace.lints]`; `extra_root` is appended to its manifest.
    pub(crate) fn new(extra_root: &str) -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("pr-gates-it-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let scratch = Self(root);
        scratch.write(
            "Cargo.toml",
            &format!(
                "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n\
                 [workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\nlicense = \"MIT\"\n\
                 repository = \"https://example.com/x\"\n\n\
                 [workspace.lints.rust]\nmissing_docs = \"warn\"\n{extra_root}"
            ),
        );
        scratch
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A crate that passes every tidy rule.
    pub(crate) fn good_crate(&self, name: &str) {
        self.write(
            &format!("crates/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\ndescription = \"A good crate.\"\n\
                 version.workspace = true\nedition.workspace = true\nlicense.workspace = true\n\
                 repository.workspace = true\nreadme = \"README.md\"\nkeywords = [\"good\"]\n\
                 categories = [\"development-tools\"]\n\n[lints]\nworkspace = true\n"
            ),
        );
        self.write(&format!("crates/{name}/README.md"), "# good\n");
        self.write(
            &format!("crates/{name}/CHANGELOG.md"),
            "# Changelog\n\n## [Unreleased]\n",
        );
        self.write(
            &format!("crates/{name}/src/lib.rs"),
            "//! A good crate.\n\n/// Adds one.\npub fn add_one(x: u32) -> u32 {\n    x + 1\n}\n",
        );
    }

    /// A publishable crate with many planted faults: no lints table, no CHANGELOG, no README, no
    /// keywords, an unversioned path dependency on `good`, a file without docs and forbidden text.
    pub(crate) fn bad_crate(&self) {
        self.write(
            "crates/bad/Cargo.toml",
            "[package]\nname = \"bad\"\ndescription = \"A bad crate.\"\n\
             version.workspace = true\nedition.workspace = true\nlicense.workspace = true\n\
             repository.workspace = true\n\n[dependencies]\ngood = { path = \"../good\" }\n",
        );
        self.write(
            "crates/bad/src/lib.rs",
            &format!(
                "//! A bad crate.\n\nmod inner;\n\n/// Unfinished.\npub fn later() {{\n    {}\n}}\n",
                concat!("to", "do!()")
            ),
        );
        self.write("crates/bad/src/inner.rs", "// no doc comment\n");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
