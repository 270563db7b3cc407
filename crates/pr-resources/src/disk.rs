//! Disk usage of configured paths (`statvfs`).

use std::path::{Path, PathBuf};

use crate::Error;

/// Space on the filesystem holding a path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DiskUsage {
    /// The path asked about.
    pub path: PathBuf,
    /// Size of the filesystem, in bytes.
    pub total: u64,
    /// Free bytes, including those reserved for root.
    pub free: u64,
    /// Bytes available to unprivileged users.
    pub available: u64,
    /// `total - free`, in bytes.
    pub used: u64,
}

impl DiskUsage {
    /// Reads the usage of the filesystem holding `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when `statvfs` fails (the path does not exist).
    pub fn of(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let stat = rustix::fs::statvfs(path).map_err(|errno| Error::read(path, errno.into()))?;
        let block = stat.f_frsize.max(1);
        let total = stat.f_blocks.saturating_mul(block);
        let free = stat.f_bfree.saturating_mul(block);
        Ok(Self {
            path: path.to_owned(),
            total,
            free,
            available: stat.f_bavail.saturating_mul(block),
            used: total.saturating_sub(free),
        })
    }

    /// Share of the filesystem in use as seen by unprivileged users, 0 to 1
    /// (`used / (used + available)`, as `df` computes it).
    #[must_use]
    pub fn used_ratio(&self) -> f64 {
        let denominator = self.used.saturating_add(self.available);
        if denominator == 0 {
            0.0
        } else {
            #[expect(clippy::cast_precision_loss, reason = "a ratio")]
            let ratio = self.used as f64 / denominator as f64;
            ratio
        }
    }
}
