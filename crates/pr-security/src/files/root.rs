//! [`SafeRoot`]: open, create and list files beneath a directory handle, so
//! that neither `..` nor a symbolic link can leave the directory, with no
//! check-then-open race.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::Error;

/// How paths are resolved beneath the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolver {
    /// The kernel's `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`
    /// where available (Linux 5.6+), else [`Resolver::Walk`]. Symbolic links
    /// that stay beneath the root are followed.
    Auto,
    /// A walk one component at a time with `O_NOFOLLOW`, refusing every
    /// symbolic link. Used where `openat2` is missing (older kernels, other
    /// Unix systems, seccomp filters that deny it).
    Walk,
}

/// Whether `openat2` works here: 0 = unknown, 1 = yes, 2 = no.
static OPENAT2: AtomicU8 = AtomicU8::new(0);

/// A directory that files are opened beneath, through its handle.
///
/// Every operation takes a relative path and resolves it beneath the
/// directory handle opened by [`SafeRoot::open`]: an absolute path or a `..`
/// component is refused before any system call, and a symbolic link that
/// would lead outside (to a parent, to an absolute target, through a chain
/// of links) makes the kernel refuse the open. Operations return handles
/// ([`File`], [`SafeRoot`]), never path strings to be opened again, so there
/// is no window between a check and an open. The root itself may be renamed
/// or moved while open; paths keep resolving beneath the same directory.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use pr_security::files::SafeRoot;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("pr-security-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let root = SafeRoot::open(&dir)?;
/// root.create_dir_all("uploads/2024")?;
/// root.create("uploads/2024/a.txt")?.write_all(b"hello")?;
///
/// let mut text = String::new();
/// root.open_file("uploads/2024/a.txt")?.read_to_string(&mut text)?;
/// assert_eq!(text, "hello");
/// assert_eq!(root.list("uploads/2024")?[0].name, "a.txt");
///
/// assert!(root.open_file("../etc/passwd").is_err());
/// assert!(root.open_file("/etc/passwd").is_err());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SafeRoot {
    dir: OwnedFd,
    path: PathBuf,
    resolver: Resolver,
}

/// One entry of [`SafeRoot::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The entry's name (lossily converted to UTF-8 for display; use
    /// [`Entry::raw_name`] to open it).
    pub name: String,
    /// The raw name bytes.
    pub raw_name: Vec<u8>,
    /// What the entry is, without following symbolic links.
    pub kind: EntryKind,
}

impl Entry {
    /// The raw name bytes, for opening the entry again.
    #[must_use]
    pub fn raw_name(&self) -> &[u8] {
        &self.raw_name
    }
}

/// The kind of a directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else (socket, FIFO, device) or unknown.
    Other,
}

/// How [`SafeRoot::open_with`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenMode {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Append to the end.
    pub append: bool,
    /// Truncate an existing file.
    pub truncate: bool,
    /// Create the file if missing.
    pub create: bool,
    /// Fail if the file exists.
    pub create_new: bool,
    /// Permission bits of a created file (before the umask). Default `0o600`.
    pub mode: u32,
}

impl OpenMode {
    /// Read only.
    pub const READ: Self = Self {
        read: true,
        write: false,
        append: false,
        truncate: false,
        create: false,
        create_new: false,
        mode: 0o600,
    };
    /// Write, creating or truncating.
    pub const CREATE: Self = Self {
        read: false,
        write: true,
        append: false,
        truncate: true,
        create: true,
        create_new: false,
        mode: 0o600,
    };
    /// Write a file that must not exist yet.
    pub const CREATE_NEW: Self = Self {
        read: false,
        write: true,
        append: false,
        truncate: false,
        create: true,
        create_new: true,
        mode: 0o600,
    };
    /// Append, creating if missing.
    pub const APPEND: Self = Self {
        read: false,
        write: true,
        append: true,
        truncate: false,
        create: true,
        create_new: false,
        mode: 0o600,
    };

    /// The same mode with other permission bits for created files.
    #[must_use]
    pub const fn with_permissions(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    fn flags(self) -> OFlags {
        let mut flags = match (self.read, self.write || self.append) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if self.append {
            flags |= OFlags::APPEND;
        }
        if self.truncate {
            flags |= OFlags::TRUNC;
        }
        if self.create || self.create_new {
            flags |= OFlags::CREATE;
        }
        if self.create_new {
            flags |= OFlags::EXCL;
        }
        flags | OFlags::CLOEXEC | OFlags::NOCTTY
    }
}

impl SafeRoot {
    /// Opens `path` as the root directory.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let dir = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_error("open", path, e))?;
        Ok(Self {
            dir,
            path: path.to_path_buf(),
            resolver: Resolver::Auto,
        })
    }

    /// The same root, resolving paths with `resolver`.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = resolver;
        self
    }

    /// The path the root was opened with (for messages; never re-opened).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens an existing file for reading.
    ///
    /// # Errors
    ///
    /// [`Error::PathEscape`] for a path that would leave the root,
    /// [`Error::Io`] for anything else (missing file, permissions).
    pub fn open_file(&self, rel: impl AsRef<Path>) -> Result<File, Error> {
        self.open_with(rel, OpenMode::READ)
    }

    /// Creates (or truncates) a file for writing, with mode `0o600`.
    ///
    /// # Errors
    ///
    /// As [`SafeRoot::open_file`].
    pub fn create(&self, rel: impl AsRef<Path>) -> Result<File, Error> {
        self.open_with(rel, OpenMode::CREATE)
    }

    /// Opens a file beneath the root with `mode`.
    ///
    /// # Errors
    ///
    /// As [`SafeRoot::open_file`].
    pub fn open_with(&self, rel: impl AsRef<Path>, mode: OpenMode) -> Result<File, Error> {
        let rel = rel.as_ref();
        let fd = self.resolve(
            rel,
            mode.flags(),
            Mode::from_raw_mode(mode.mode & 0o7777),
            "open",
        )?;
        Ok(File::from(fd))
    }

    /// Opens a directory beneath the root as a new root.
    ///
    /// # Errors
    ///
    /// As [`SafeRoot::open_file`].
    pub fn open_dir(&self, rel: impl AsRef<Path>) -> Result<Self, Error> {
        let rel = rel.as_ref();
        let dir = self.resolve(
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            "open directory",
        )?;
        Ok(Self {
            dir,
            path: self.path.join(rel),
            resolver: self.resolver,
        })
    }

    /// Creates one directory (mode `0o700`); its parent must exist.
    ///
    /// # Errors
    ///
    /// As [`SafeRoot::open_file`]; [`Error::Io`] when it exists.
    pub fn create_dir(&self, rel: impl AsRef<Path>) -> Result<(), Error> {
        let rel = rel.as_ref();
        let (parent, name) = split_last(rel)?;
        let parent_fd = self.parent_dir(rel, parent)?;
        rustix::fs::mkdirat(&parent_fd, name, Mode::from_raw_mode(0o700))
            .map_err(|e| io_error("create directory", rel, e))
    }

    /// Creates a directory and its missing parents (mode `0o700`).
    ///
    /// # Errors
    ///
    /// As [`SafeRoot::create_dir`], except that existing directories are fine.
    pub fn create_dir_all(&self, rel: impl AsRef<Path>) -> Result<(), Error> {
        let rel = rel.as_ref();
        let mut current = PathBuf::new();
        for component in lexical_components(rel)? {
            current.push(component);
            match self.create_dir(&current) {
                Ok(()) => {}
                Err(Error::Io { ref source, .. })
                    if source.kind() == io::ErrorKind::AlreadyExists =>
                {
                    // Must be a directory we can resolve beneath the root.
                    self.open_dir(&current)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Lists a directory beneath the root (`""` or `"."` for the root
    /// itself), sorted by name, without `.` and `..`.
    ///
    /// # Errors
    ///
    /// As [`SafeRoot::open_file`].
    pub fn list(&self, rel: impl AsRef<Path>) -> Result<Vec<Entry>, Error> {
        let rel = rel.as_ref();
        let fd = if lexical_components(rel)?.is_empty() {
            rustix::fs::openat(
                &self.dir,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io_error("list", rel, e))?
        } else {
            self.resolve(
                rel,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                "list",
            )?
        };
        let dir = rustix::fs::Dir::new(fd).map_err(|e| io_error("list", rel, e))?;
        let mut entries = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| io_error("list", rel, e))?;
            let raw = entry.file_name().to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::RegularFile => EntryKind::File,
                FileType::Directory => EntryKind::Dir,
                FileType::Symlink => EntryKind::Symlink,
                _ => EntryKind::Other,
            };
            entries.push(Entry {
                name: String::from_utf8_lossy(raw).into_owned(),
                raw_name: raw.to_vec(),
                kind,
            });
        }
        entries.sort_by(|a, b| a.raw_name.cmp(&b.raw_name));
        Ok(entries)
    }

    fn parent_dir(&self, rel: &Path, parent: &Path) -> Result<OwnedFd, Error> {
        if lexical_components(parent)?.is_empty() {
            return rustix::fs::openat(
                &self.dir,
                ".",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io_error("open directory", rel, e));
        }
        self.resolve(
            parent,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            "open directory",
        )
    }

    /// Opens `rel` beneath the root.
    fn resolve(
        &self,
        rel: &Path,
        flags: OFlags,
        mode: Mode,
        op: &'static str,
    ) -> Result<OwnedFd, Error> {
        let components = lexical_components(rel)?;
        if components.is_empty() {
            return Err(escape(rel, "empty path"));
        }
        if self.resolver == Resolver::Auto && OPENAT2.load(Ordering::Relaxed) != 2 {
            match self.resolve_openat2(rel, flags, mode, op) {
                Err(Unsupported) => OPENAT2.store(2, Ordering::Relaxed),
                Ok(result) => {
                    OPENAT2.store(1, Ordering::Relaxed);
                    return result;
                }
            }
        }
        self.resolve_walk(rel, &components, flags, mode, op)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn resolve_openat2(
        &self,
        rel: &Path,
        flags: OFlags,
        mode: Mode,
        op: &'static str,
    ) -> Result<Result<OwnedFd, Error>, Unsupported> {
        use rustix::fs::ResolveFlags;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        // openat2 refuses a mode without O_CREAT.
        let mode = if flags.contains(OFlags::CREATE) {
            mode
        } else {
            Mode::empty()
        };
        let mut attempts = 0;
        loop {
            match rustix::fs::openat2(&self.dir, rel, flags, mode, resolve) {
                Ok(fd) => return Ok(Ok(fd)),
                // The kernel could not rule out a race with a rename; retry.
                Err(Errno::AGAIN) if attempts < 16 => attempts += 1,
                Err(Errno::NOSYS | Errno::PERM) if OPENAT2.load(Ordering::Relaxed) == 0 => {
                    return Err(Unsupported);
                }
                Err(Errno::XDEV) => {
                    return Ok(Err(escape(rel, "a symbolic link leads outside the root")));
                }
                Err(Errno::LOOP) => {
                    return Ok(Err(escape(rel, "too many or disallowed symbolic links")));
                }
                Err(e) => return Ok(Err(io_error(op, rel, e))),
            }
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    #[expect(clippy::unused_self, reason = "same signature as the Linux version")]
    fn resolve_openat2(
        &self,
        _rel: &Path,
        _flags: OFlags,
        _mode: Mode,
        _op: &'static str,
    ) -> Result<Result<OwnedFd, Error>, Unsupported> {
        Err(Unsupported)
    }

    /// Walks one component at a time, refusing every symbolic link.
    fn resolve_walk(
        &self,
        rel: &Path,
        components: &[&std::ffi::OsStr],
        flags: OFlags,
        mode: Mode,
        op: &'static str,
    ) -> Result<OwnedFd, Error> {
        let Some((last, parents)) = components.split_last() else {
            return Err(escape(rel, "empty path"));
        };
        let mut current: Option<OwnedFd> = None;
        for name in parents {
            let base = current.as_ref().map_or(self.dir.as_fd(), AsFd::as_fd);
            let next = rustix::fs::openat(
                base,
                *name,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| walk_error(base, name, rel, op, e))?;
            current = Some(next);
        }
        let base = current.as_ref().map_or(self.dir.as_fd(), AsFd::as_fd);
        rustix::fs::openat(base, *last, flags | OFlags::NOFOLLOW, mode)
            .map_err(|e| walk_error(base, last, rel, op, e))
    }
}

/// `openat2` is not available here.
struct Unsupported;

/// Maps an error of the walk: a symbolic link anywhere is an escape attempt
/// as far as the walk resolver is concerned.
fn walk_error(
    base: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    rel: &Path,
    op: &'static str,
    e: Errno,
) -> Error {
    let is_link = rustix::fs::statat(base, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
    if e == Errno::LOOP || is_link {
        escape(rel, "symbolic links are refused by the walk resolver")
    } else {
        io_error(op, rel, e)
    }
}

/// The normal components of `rel`; refuses absolute paths and `..`.
fn lexical_components(rel: &Path) -> Result<Vec<&std::ffi::OsStr>, Error> {
    let mut out = Vec::new();
    for component in rel.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => return Err(escape(rel, "`..` component")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(escape(rel, "absolute path"));
            }
        }
    }
    Ok(out)
}

fn split_last(rel: &Path) -> Result<(&Path, &std::ffi::OsStr), Error> {
    let components = lexical_components(rel)?;
    let Some(name) = components.last() else {
        return Err(escape(rel, "empty path"));
    };
    Ok((rel.parent().unwrap_or_else(|| Path::new("")), name))
}

fn escape(rel: &Path, reason: &'static str) -> Error {
    Error::PathEscape {
        path: rel.to_string_lossy().into_owned(),
        reason,
    }
}

fn io_error(op: &'static str, path: &Path, e: Errno) -> Error {
    Error::Io {
        op,
        path: path.to_string_lossy().into_owned(),
        source: io::Error::from(e),
    }
}
