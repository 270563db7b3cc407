//! Checks of a file's or directory's permissions against a policy.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::Error;
use crate::report::{Finding, SecurityReport, Severity};

const S_ISVTX: u32 = 0o1000;

/// What a file must look like. The presets cover the usual cases.
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use pr_security::files::PermissionPolicy;
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
    pub fn check(&self, path: impl AsRef<Path>) -> Result<SecurityReport, Error> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let io = |op, source| Error::Io {
            op,
            path: shown.clone(),
            source,
        };
        let mut report = SecurityReport::default();
        let link = std::fs::symlink_metadata(path).map_err(|e| io("stat", e))?;
        if link.file_type().is_symlink() {
            report.push(Finding::new(
                "perm.symlink",
                Severity::Warning,
                format!("{shown} is a symbolic link; whoever controls the link controls the file"),
            ));
        }
        let meta = std::fs::metadata(path).map_err(|e| io("stat", e))?;
        self.judge(path, &meta, &mut report);
        Ok(report)
    }

    /// The findings for `meta` (the file's own metadata) and `path`'s parent.
    fn judge(&self, path: &Path, meta: &std::fs::Metadata, report: &mut SecurityReport) {
        let shown = path.display().to_string();
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

/// The largest secret file [`read_secret_file`] reads.
pub const MAX_SECRET_FILE_LEN: u64 = 1024 * 1024;

/// Reads a secret (a password, token or key) from a file, as mounted by
/// Kubernetes or Docker secrets or systemd credentials. The file is opened
/// once (symbolic links are followed: Kubernetes mounts secrets through
/// them), and the permissions of what was opened are checked on the handle
/// with [`PermissionPolicy::secret`], together with the directory the path
/// names (no warning or worse allowed), so there is no gap between check and
/// read. The file must be a regular UTF-8 file of at most 1 MiB; one trailing
/// newline (`\n` or `\r\n`) is removed.
///
/// Kubernetes mounts secrets with mode 0644 unless told otherwise: set
/// `defaultMode: 0400` (or `0440` with an `fsGroup`, which this check reports
/// as a warning too) on the volume.
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("pr-security-secret-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
/// let path = dir.join("db-password");
/// std::fs::write(&path, "s3cret\n")?;
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
/// assert_eq!(pr_security::files::read_secret_file(&path)?.expose(), "s3cret");
///
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
/// assert!(pr_security::files::read_secret_file(&path).is_err());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InsecurePermissions`], [`Error::Io`] (missing, unreadable),
/// [`Error::Malformed`] (not a regular file, not UTF-8, too large).
pub fn read_secret_file(path: impl AsRef<Path>) -> Result<pr_core::secret::SecretString, Error> {
    use std::io::Read as _;

    let path = path.as_ref();
    let shown = path.display().to_string();
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOCTTY,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| Error::Io {
        op: "open secret",
        path: shown.clone(),
        source: e.into(),
    })?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(|source| Error::Io {
        op: "stat secret",
        path: shown.clone(),
        source,
    })?;
    if !meta.is_file() {
        return Err(Error::malformed("secret file", "not a regular file"));
    }
    if meta.len() > MAX_SECRET_FILE_LEN {
        return Err(Error::malformed("secret file", "larger than 1 MiB"));
    }
    let mut report = SecurityReport::default();
    PermissionPolicy::secret().judge(path, &meta, &mut report);
    if !report.passes(Severity::Warning) {
        return Err(Error::InsecurePermissions {
            path: shown,
            findings: report.findings.iter().map(|f| f.code).collect(),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_SECRET_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            op: "read secret",
            path: shown,
            source,
        })?;
    if bytes.len() as u64 > MAX_SECRET_FILE_LEN {
        return Err(Error::malformed("secret file", "larger than 1 MiB"));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let mut raw = e.into_bytes();
        raw.fill(0);
        Error::malformed("secret file", "not UTF-8")
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(pr_core::secret::SecretString::from(text))
}
