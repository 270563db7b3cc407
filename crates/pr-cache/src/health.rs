//! The file cache's pr-health check (feature `health`). Each Redis client's
//! check lives with the clients, in `redis/health.rs`.

use std::sync::atomic::{AtomicU64, Ordering};

use pr_health::{Check, CheckFuture, Group, Outcome};

use crate::file::FileCache;

/// Whether a [`FileCache`]'s directory still takes writes: each run writes,
/// syncs and removes a small probe file beside the entries. `Down` when
/// that fails (a full disk, a read-only or vanished mount), `Degraded` when
/// the probe works but inserts failed since the last run; `Up` otherwise.
///
/// Not critical by default: a cache that cannot write still serves reads,
/// and misses only cost time, so the readiness group becomes at most
/// `Degraded`. Use [`critical`](Self::critical) to change that.
#[derive(Debug)]
pub struct FileCacheCheck {
    name: String,
    cache: FileCache,
    critical: bool,
    seen_write_errors: AtomicU64,
}

impl FileCacheCheck {
    /// A check named `cache:<directory>`.
    #[must_use]
    pub fn new(cache: FileCache) -> Self {
        Self {
            name: format!("cache:{}", cache.dir().display()),
            seen_write_errors: AtomicU64::new(cache.snapshot().write_errors),
            cache,
            critical: false,
        }
    }

    /// Whether a failing cache fails readiness (default `false`).
    #[must_use]
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }
}

impl Check for FileCacheCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let errors = self.cache.snapshot().write_errors;
            let before = self.seen_write_errors.swap(errors, Ordering::Relaxed);
            if let Err(e) = self.cache.probe_write() {
                return Outcome::down(e.to_string());
            }
            if errors > before {
                Outcome::degraded(format!(
                    "{} cache writes failed since the last check",
                    errors - before
                ))
            } else {
                Outcome::up()
            }
        })
    }

    fn critical(&self) -> bool {
        self.critical
    }

    fn groups(&self) -> Vec<Group> {
        vec![Group::READINESS]
    }
}
