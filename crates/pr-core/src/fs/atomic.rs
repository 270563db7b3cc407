//! Whole-file replacement that a crash cannot tear: [`write_atomic`], and
//! [`sync_dir`], which makes a rename, a new file or a removal survive a
//! power loss.
//!
//! A rename is atomic for readers, but not ordered against the data on the
//! disk: without a sync of the new file first, a power loss can leave the
//! new name on an empty file. And the rename itself is an entry of the
//! directory, durable only once the directory is synced.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::Durability;

/// Replaces `path` with `bytes`, all at once: a reader, or a crash at any
/// moment, sees the old file or the new one, never a mix.
///
/// The bytes go to `<path>.tmp` (beside it, so the rename stays on one file
/// system), whose data is synced whatever `durability` says (a whole-file
/// rewrite is rare, and an empty file published by a power loss could pass
/// for a valid, empty one); it is then renamed over `path`, and the
/// directory synced unless `durability` is [`Durability::None`]. One writer
/// of a path at a time: the stores hold their exclusive lock meanwhile. A
/// temp file left by a crash is overwritten by the next write.
///
/// # Errors
///
/// The I/O error of the write, sync or rename (the temp file is then
/// removed and `path` left as it was), or of the directory's sync (the new
/// file is in place, but may not survive a power loss).
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let temp = temp_path(path);
    let written = File::create(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if durability != Durability::None {
        sync_dir(parent(path))?;
    }
    Ok(())
}

/// Where [`write_atomic`] writes before it renames: `<path>.tmp`.
#[must_use]
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Syncs the directory `dir`, so that the files created, renamed or removed
/// in it persist (a no-op off Unix, where a directory cannot be opened to
/// sync it).
///
/// # Errors
///
/// The I/O error of opening or syncing the directory.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pr-core-fs-{name}-{}", std::process::id()));
        fs::remove_dir_all(&dir).ok();
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temp() {
        let dir = dir("atomic");
        let path = dir.join("index.log");
        for durability in [Durability::None, Durability::Flush, Durability::EachWrite] {
            write_atomic(&path, b"first, longer contents", durability).unwrap();
            write_atomic(&path, b"second", durability).unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"second");
            assert!(!temp_path(&path).exists());
        }
        // A temp file a crash left behind is overwritten, not in the way.
        fs::write(temp_path(&path), b"torn").unwrap();
        write_atomic(&path, b"third", Durability::Flush).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"third");
        assert!(!temp_path(&path).exists());
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temp() {
        let dir = dir("atomic-fail");
        let path = dir.join("index.log");
        write_atomic(&path, b"old", Durability::Flush).unwrap();
        // The rename cannot replace a directory.
        let blocked = dir.join("blocked");
        fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_atomic(&blocked, b"new", Durability::Flush).is_err());
        assert!(!temp_path(&blocked).exists());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert!(sync_dir(&dir.join("missing")).is_err());
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        assert_eq!(parent(Path::new("index.log")), Path::new("."));
        assert_eq!(parent(Path::new("a/index.log")), Path::new("a"));
        assert_eq!(
            temp_path(Path::new("a/index.log")),
            Path::new("a/index.log.tmp")
        );
    }
}
