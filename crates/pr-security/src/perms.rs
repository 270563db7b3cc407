//! Checks of a file's or directory's permissions against a policy.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::Error;
use crate::report::{Finding, Report, Severity};

const S_ISVTX: u32 = 0o1000;

/// What a file must look like. The presets cover the usual cases.
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use pr_security::PermissionPolicy;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("pr-security-perm-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let key = dir.join("signing.key");
/// std::fs::write(&key, b"...")?;
/// std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))?;
///
/// let report = PermissionPolicy::secret().check(&key)?;
/// assert!(report.has("perm.world_readable"));
///
/// std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
/// PermissionPolicy::secret().enforce(&key)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PermissionPolicy {
    /// Refuse group and world read (and any group / world bits): for keys,
    /// tokens, password files.
    pub private: bool,
    /// Refuse group write.
    pub no_group_write: bool,
    /// Require the owner to be the current effective user or root.
    pub owned_by_us_or_root: bool,
    /// Check that the parent directory is not writable by others without the
    /// sticky bit (someone who can write there can replace the file).
    pub check_parent: bool,
}

impl Default for PermissionPolicy {
    fn default() -> Self {
        Self::config()
    }
}

impl PermissionPolicy {
    /// For secrets: `0o600` or stricter, owned by us or root, safe parent.
    #[must_use]
    pub const fn secret() -> Self {
        Self {
            private: true,
            no_group_write: true,
            owned_by_us_or_root: true,
            check_parent: true,
        }
    }

    /// For configuration and other files the service trusts: not group or
    /// world writable, owned by us or root, safe parent.
    #[must_use]
    pub const fn config() -> Self {
        Self {
            private: false,
            no_group_write: true,
            owned_by_us_or_root: true,
            check_parent: true,
        }
    }

    /// Checks `path` (without following a final symbolic link, which is a
    /// finding of its own; its target is checked too).
    ///
    /// World-writable files are always a critical finding.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the path cannot be examined.
    pub fn check(&self, path: impl AsRef<Path>) -> Result<Report, Error> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let io = |op, source| Error::Io {
            op,
            path: shown.clone(),
            source,
        };
        let mut report = Report::default();
        let link = std::fs::symlink_metadata(path).map_err(|e| io("stat", e))?;
        if link.file_type().is_symlink() {
            report.push(Finding::new(
                "perm.symlink",
                Severity::Warning,
                format!("{shown} is a symbolic link; whoever controls the link controls the file"),
            ));
        }
        let meta = std::fs::metadata(path).map_err(|e| io("stat", e))?;
        let mode = meta.mode() & 0o7777;
        // A sticky directory (like /tmp) only lets owners remove their files.
        let sticky_dir = meta.is_dir() && mode & S_ISVTX != 0;
        if mode & 0o002 != 0 && !sticky_dir {
            report.push(Finding::new(
                "perm.world_writable",
                Severity::Critical,
                format!("{shown} is writable by every user (mode {mode:04o})"),
            ));
        }
        if self.no_group_write && mode & 0o020 != 0 && !sticky_dir {
            report.push(Finding::new(
                "perm.group_writable",
                Severity::Warning,
                format!("{shown} is writable by its group (mode {mode:04o})"),
            ));
        }
        if self.private {
            if mode & 0o004 != 0 {
                report.push(Finding::new(
                    "perm.world_readable",
                    Severity::Critical,
                    format!("secret {shown} is readable by every user (mode {mode:04o}); use 0600"),
                ));
            } else if mode & 0o077 != 0 {
                report.push(Finding::new(
                    "perm.group_accessible",
                    Severity::Warning,
                    format!(
                        "secret {shown} is accessible to its group (mode {mode:04o}); use 0600"
                    ),
                ));
            }
        }
        if self.owned_by_us_or_root {
            let us = rustix::process::geteuid().as_raw();
            if meta.uid() != us && meta.uid() != 0 {
                report.push(Finding::new(
                    "perm.foreign_owner",
                    Severity::Warning,
                    format!(
                        "{shown} is owned by uid {}, neither this process's user (uid {us}) nor root",
                        meta.uid()
                    ),
                ));
            }
        }
        if self.check_parent
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(parent_meta) = std::fs::metadata(parent)
        {
            let pmode = parent_meta.mode() & 0o7777;
            if pmode & 0o002 != 0 && pmode & S_ISVTX == 0 {
                report.push(Finding::new(
                    "perm.parent_world_writable",
                    Severity::Critical,
                    format!(
                        "{} (the directory of {shown}) is writable by every user without the sticky bit (mode {pmode:04o})",
                        parent.display()
                    ),
                ));
            }
        }
        Ok(report)
    }

    /// Like [`PermissionPolicy::check`], but fails on a warning or worse.
    ///
    /// # Errors
    ///
    /// [`Error::InsecurePermissions`] listing the findings, or [`Error::Io`].
    pub fn enforce(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let report = self.check(path)?;
        if report.passes(Severity::Warning) {
            Ok(())
        } else {
            Err(Error::InsecurePermissions {
                path: path.display().to_string(),
                findings: report
                    .findings
                    .into_iter()
                    .filter(|f| f.severity >= Severity::Warning)
                    .map(|f| f.code)
                    .collect(),
            })
        }
    }
}
