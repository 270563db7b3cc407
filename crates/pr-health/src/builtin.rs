//! Checks most services need: a TCP dependency, free disk space, process
//! memory.

use std::path::PathBuf;

use crate::{Check, CheckFuture, Group, Outcome};

/// Up when a TCP connection to `address` succeeds (a database, a broker).
///
/// Only the connection is tested; the registry's timeout bounds it.
#[derive(Clone, Debug)]
pub struct TcpCheck {
    name: String,
    address: String,
}

impl TcpCheck {
    /// A check named `name` that connects to `address` (`host:port`).
    #[must_use]
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
        }
    }
}

impl Check for TcpCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match tokio::net::TcpStream::connect(self.address.as_str()).await {
                Ok(_) => Outcome::up(),
                Err(err) => Outcome::down(format!("cannot connect to {}: {err}", self.address)),
            }
        })
    }
}

/// Free space on the file system holding a path: `Down` below a minimum,
/// `Degraded` below a warning level.
#[derive(Clone, Debug)]
pub struct DiskSpaceCheck {
    name: String,
    path: PathBuf,
    min_free_bytes: u64,
    warn_free_bytes: u64,
}

impl DiskSpaceCheck {
    /// A check of the file system holding `path`, `Down` below
    /// `min_free_bytes` available to unprivileged users.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, min_free_bytes: u64) -> Self {
        let path = path.into();
        Self {
            name: format!("disk:{}", path.display()),
            path,
            min_free_bytes,
            warn_free_bytes: min_free_bytes,
        }
    }

    /// `Degraded` below `bytes` (which should exceed the minimum).
    #[must_use]
    pub fn warn_below(mut self, bytes: u64) -> Self {
        self.warn_free_bytes = bytes;
        self
    }

    /// Bytes available to unprivileged users on the file system of `path`.
    fn available(&self) -> std::io::Result<u64> {
        let stat = rustix::fs::statvfs(&self.path)?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
}

impl Check for DiskSpaceCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match self.available() {
                Err(err) => Outcome::down(format!(
                    "cannot read free space of {}: {err}",
                    self.path.display()
                )),
                Ok(free) if free < self.min_free_bytes => Outcome::down(format!(
                    "{free} bytes free, below the minimum of {}",
                    self.min_free_bytes
                )),
                Ok(free) if free < self.warn_free_bytes => {
                    Outcome::degraded(format!("{free} bytes free, below {}", self.warn_free_bytes))
                }
                Ok(free) => Outcome::up().with_message(format!("{free} bytes free")),
            }
        })
    }

    fn groups(&self) -> Vec<Group> {
        vec![Group::READINESS]
    }
}

/// The process's resident memory: `Degraded` past a warning level, `Down`
/// past a maximum. Linux only (read from `/proc/self/statm`); elsewhere the
/// check is `Degraded` with a message saying it cannot measure.
#[derive(Clone, Debug)]
pub struct MemoryCheck {
    max_rss_bytes: u64,
    warn_rss_bytes: u64,
}

impl MemoryCheck {
    /// A check named `memory`, `Down` when resident memory exceeds `max_rss_bytes`.
    #[must_use]
    pub fn new(max_rss_bytes: u64) -> Self {
        Self {
            max_rss_bytes,
            warn_rss_bytes: max_rss_bytes,
        }
    }

    /// `Degraded` past `bytes` (which should be below the maximum).
    #[must_use]
    pub fn warn_above(mut self, bytes: u64) -> Self {
        self.warn_rss_bytes = bytes;
        self
    }
}

/// The resident set size of this process, in bytes.
fn resident_bytes() -> std::io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages = statm
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|field| field.parse::<u64>().ok())
        .ok_or_else(|| std::io::Error::other("unexpected format of /proc/self/statm"))?;
    Ok(pages.saturating_mul(rustix::param::page_size() as u64))
}

impl Check for MemoryCheck {
    fn name(&self) -> &str {
        "memory"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match resident_bytes() {
                Err(err) => Outcome::degraded(format!("cannot measure resident memory: {err}")),
                Ok(rss) if rss > self.max_rss_bytes => Outcome::down(format!(
                    "resident memory {rss} bytes exceeds {}",
                    self.max_rss_bytes
                )),
                Ok(rss) if rss > self.warn_rss_bytes => Outcome::degraded(format!(
                    "resident memory {rss} bytes exceeds {}",
                    self.warn_rss_bytes
                )),
                Ok(rss) => Outcome::up().with_message(format!("resident memory {rss} bytes")),
            }
        })
    }

    fn groups(&self) -> Vec<Group> {
        // The process's own state: fit for liveness as well as readiness.
        vec![Group::LIVENESS, Group::READINESS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[tokio::test]
    async fn disk_space_thresholds() {
        let dir = std::env::temp_dir();
        assert_eq!(
            DiskSpaceCheck::new(&dir, 1).check().await.status(),
            Status::Up
        );
        assert_eq!(
            DiskSpaceCheck::new(&dir, u64::MAX).check().await.status(),
            Status::Down
        );
        let warn = DiskSpaceCheck::new(&dir, 1)
            .warn_below(u64::MAX)
            .check()
            .await;
        assert_eq!(warn.status(), Status::Degraded);
        let missing = DiskSpaceCheck::new("/definitely/not/a/dir", 1)
            .check()
            .await;
        assert_eq!(missing.status(), Status::Down);
        assert!(missing.message().unwrap().contains("/definitely/not/a/dir"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn memory_thresholds() {
        assert_eq!(
            MemoryCheck::new(u64::MAX).check().await.status(),
            Status::Up
        );
        assert_eq!(MemoryCheck::new(1).check().await.status(), Status::Down);
        assert_eq!(
            MemoryCheck::new(u64::MAX)
                .warn_above(1)
                .check()
                .await
                .status(),
            Status::Degraded
        );
    }

    #[tokio::test]
    async fn tcp_connects_or_names_the_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        assert_eq!(
            TcpCheck::new("db", &addr).check().await.status(),
            Status::Up
        );
        drop(listener);
        let down = TcpCheck::new("db", &addr).check().await;
        assert_eq!(down.status(), Status::Down);
        assert!(down.message().unwrap().contains(&addr));
    }
}
