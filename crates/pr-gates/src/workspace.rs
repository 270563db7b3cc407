//! The workspace the gates run on, as `cargo metadata` describes it.

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};

use crate::Error;

/// A Cargo workspace: its root directory and its `cargo metadata` (without dependencies).
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    metadata: Metadata,
}

impl Workspace {
    /// Runs `cargo metadata --no-deps` in `dir` and returns the workspace it belongs to.
    ///
    /// # Errors
    ///
    /// [`Error::Metadata`] when cargo metadata fails (no `Cargo.toml`, a broken manifest).
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let mut command = MetadataCommand::new();
        command.current_dir(dir).no_deps();
        if let Some(cargo) = std::env::var_os("CARGO") {
            command.cargo_path(cargo);
        }
        let metadata = command.exec().map_err(|source| Error::Metadata {
            dir: dir.to_path_buf(),
            source,
        })?;
        Ok(Self::from_metadata(metadata))
    }

    /// Wraps metadata obtained elsewhere.
    #[must_use]
    pub fn from_metadata(metadata: Metadata) -> Self {
        Self {
            root: metadata.workspace_root.clone().into_std_path_buf(),
            metadata,
        }
    }

    /// The workspace root directory (where the root `Cargo.toml` is).
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The full metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The target directory cargo uses for this workspace.
    #[must_use]
    pub fn target_dir(&self) -> &Path {
        self.metadata.target_directory.as_std_path()
    }

    /// The workspace members, in `cargo metadata` order.
    #[must_use]
    pub fn members(&self) -> Vec<&Package> {
        self.metadata.workspace_packages()
    }

    /// The members that are published (no `publish = false`).
    #[must_use]
    pub fn publishable(&self) -> Vec<&Package> {
        self.members()
            .into_iter()
            .filter(|p| is_publishable(p))
            .collect()
    }

    /// `(package, bench target names)` for every member with bench targets.
    #[must_use]
    pub fn bench_targets(&self) -> Vec<(&Package, Vec<&str>)> {
        self.members()
            .into_iter()
            .filter_map(|p| {
                let benches: Vec<&str> = p
                    .targets
                    .iter()
                    .filter(|t| t.kind.contains(&TargetKind::Bench))
                    .map(|t| t.name.as_str())
                    .collect();
                (!benches.is_empty()).then_some((p, benches))
            })
            .collect()
    }

    /// The directory of a member (where its `Cargo.toml` is).
    #[must_use]
    pub fn package_dir(package: &Package) -> &Path {
        package
            .manifest_path
            .parent()
            .map_or_else(|| Path::new("."), |dir| dir.as_std_path())
    }

    /// The names of the members that are in this workspace, sorted.
    #[must_use]
    pub fn member_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.members().iter().map(|p| p.name.to_string()).collect();
        names.sort();
        names
    }
}

/// Whether a package may be published (`publish` absent, or naming at least one registry).
#[must_use]
pub(crate) fn is_publishable(package: &Package) -> bool {
    package
        .publish
        .as_ref()
        .is_none_or(|registries| !registries.is_empty())
}
