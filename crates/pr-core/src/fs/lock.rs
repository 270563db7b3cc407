//! [`FileLock`]: an advisory lock on a lock file, shared or exclusive,
//! between the threads and processes that open one store.
//!
//! One mechanism: std's file locks (`File::lock` and kin; `flock(2)` on
//! Linux and the BSDs, `LockFileEx` on Windows). The lock belongs to the
//! open file, so it is released when the guard drops, or when the process
//! dies however it dies: a crash never leaves a store locked. A child
//! forked while a lock is held shares it until the child `exec`s (std opens
//! files close-on-exec), which is why [`FileLock::try_exclusive`] waits a
//! little before it gives up.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// A held lock on a lock file, released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct FileLock {
    /// Held for its lock: closing the file releases it.
    _file: File,
}

/// Opens (creating when missing, never truncating) the lock file at `path`.
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl FileLock {
    /// Locks `path` for this holder alone, blocking until every other
    /// holder, shared or exclusive, lets go.
    ///
    /// # Errors
    ///
    /// The I/O error of opening or locking the file.
    pub fn exclusive(path: &Path) -> io::Result<Self> {
        let file = open(path)?;
        file.lock()?;
        Ok(Self { _file: file })
    }

    /// Locks `path` beside other shared holders, blocking while an
    /// exclusive holder has it.
    ///
    /// # Errors
    ///
    /// The I/O error of opening or locking the file.
    pub fn shared(path: &Path) -> io::Result<Self> {
        let file = open(path)?;
        file.lock_shared()?;
        Ok(Self { _file: file })
    }

    /// Locks `path` for this holder alone, waiting up to `wait` for another
    /// holder to let go; `Ok(None)` when one still has it then.
    ///
    /// std has no timed lock, so this polls `try_lock` with a back-off from
    /// 1 ms doubling to 50 ms: a holder that is exiting (or a forked child
    /// that has not yet reached `exec`) lets go within a few ms, and the
    /// caller is a start-up, not a hot path. `Duration::ZERO` tries once. A
    /// thread sleep, not tokio's: opening a store is synchronous.
    ///
    /// # Errors
    ///
    /// The I/O error of opening the file, or of a lock attempt that failed
    /// for another reason than another holder.
    pub fn try_exclusive(path: &Path, wait: Duration) -> io::Result<Option<Self>> {
        let file = open(path)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(Self { _file: file })),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(e),
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Ok(None);
            }
            std::thread::sleep(pause.min(wait - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

    use super::*;

    fn lock_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pr-core-lock-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("LOCK")
    }

    #[test]
    fn an_exclusive_lock_excludes_every_other_holder_until_dropped() {
        let path = lock_path("exclusive");
        let held = FileLock::exclusive(&path).unwrap();
        assert!(
            FileLock::try_exclusive(&path, Duration::ZERO)
                .unwrap()
                .is_none()
        );
        assert!(
            FileLock::try_exclusive(&path, Duration::from_millis(5))
                .unwrap()
                .is_none()
        );
        drop(held);
        let again = FileLock::try_exclusive(&path, Duration::ZERO).unwrap();
        assert!(again.is_some());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn shared_locks_coexist_and_keep_out_an_exclusive_one() {
        let path = lock_path("shared");
        let one = FileLock::shared(&path).unwrap();
        let two = FileLock::shared(&path).unwrap();
        assert!(
            FileLock::try_exclusive(&path, Duration::ZERO)
                .unwrap()
                .is_none()
        );
        drop(one);
        assert!(
            FileLock::try_exclusive(&path, Duration::ZERO)
                .unwrap()
                .is_none()
        );
        drop(two);
        drop(FileLock::exclusive(&path).unwrap());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn a_wait_ends_as_soon_as_the_holder_lets_go() {
        let path = lock_path("wait");
        let held = FileLock::exclusive(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                FileLock::try_exclusive(&path, Duration::from_secs(60))
            })
        };
        rx.recv().unwrap();
        drop(held);
        assert!(waiter.join().unwrap().unwrap().is_some());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}
