//! A dead-letter queue as a pr-health check: down when full; degraded past
//! 80 % of a bound, after a failed write (until a write succeeds), and when
//! its filesystem runs low on free space.
//!
//! Free space is read on each check with `statvfs` (one system call, no
//! file opened): the registry runs checks on its own schedule, and a
//! cached figure would hide a disk that filled up since.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use pr_health::{Check, CheckFuture, Outcome};

use super::{Dlq, Inner, snapshot};
use pr_core::sync::lock;

/// The health of a [`Dlq`](crate::dlq::Dlq): `Down` when it refuses records (full);
/// `Degraded` past 80 % of `max_records` or `max_size`, after a write that
/// failed (until a later write succeeds), or when free space on its
/// filesystem is under `min_free` or `min_free_percent`; else `Up`
/// with its size. Made by [`Dlq::health_check`](crate::dlq::Dlq::health_check).
#[must_use = "a check does nothing until it is added to a registry"]
pub struct DlqCheck {
    name: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DlqCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlqCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T> Dlq<T> {
    /// This queue as a health check named `dlq:<dir>`.
    pub fn health_check(&self) -> DlqCheck {
        DlqCheck {
            name: format!("dlq:{}", self.inner.config.dir.display()),
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Free and total bytes of the filesystem holding `dir`, or `None` where
/// they cannot be read.
#[cfg(target_os = "linux")]
fn free_space(dir: &std::path::Path) -> Option<(u64, u64)> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    let block = stat.f_frsize.max(1);
    Some((
        stat.f_bavail.saturating_mul(block),
        stat.f_blocks.saturating_mul(block),
    ))
}

#[cfg(not(target_os = "linux"))]
fn free_space(_: &std::path::Path) -> Option<(u64, u64)> {
    None
}

impl DlqCheck {
    fn outcome(&self) -> Outcome {
        let config = &self.inner.config;
        let stats = snapshot(config, &lock(&self.inner.state));
        let size = format!(
            "{} records, {} bytes (bounds {}, {})",
            stats.records,
            stats.bytes,
            config.max_records,
            config.max_size.as_u64()
        );
        if stats.full {
            return Outcome::down(format!("full: {size}"));
        }
        let mut problems = Vec::new();
        if self.inner.failing.load(Ordering::Acquire)
            && let Some(error) = lock(&self.inner.write_failure).as_deref()
        {
            problems.push(format!("last write failed: {error}"));
        }
        let min_free = config.min_free.as_u64();
        if (min_free > 0 || config.min_free_percent > 0)
            && let Some((free, total)) = free_space(&config.dir)
        {
            let under_percent =
                u128::from(free) * 100 < u128::from(total) * u128::from(config.min_free_percent);
            if free < min_free || under_percent {
                problems.push(format!(
                    "low free space: {free} of {total} bytes free (bounds {} bytes, {}%)",
                    min_free, config.min_free_percent
                ));
            }
        }
        // In u128: a bound near u64::MAX overflows once multiplied.
        let past_80 = |used: u64, bound: u64| u128::from(used) * 5 >= u128::from(bound) * 4;
        if past_80(stats.records, config.max_records)
            || past_80(stats.bytes, config.max_size.as_u64())
        {
            problems.push(format!("over 80% full: {size}"));
        }
        if problems.is_empty() {
            Outcome::up().with_message(size)
        } else {
            Outcome::degraded(problems.join("; "))
        }
    }
}

impl Check for DlqCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let outcome = self.outcome();
        Box::pin(std::future::ready(outcome))
    }
}
