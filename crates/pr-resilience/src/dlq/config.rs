//! [`DlqConfig`] and [`Durability`]: where the queue lives, its bounds and
//! when a push is durable.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Error;

/// When [`Dlq::push`](crate::Dlq::push) returns, relative to the disk.
///
/// Every policy writes the record to the file (one `write` call) before
/// `push` returns, so a record whose push returned survives a crash of the
/// process; the policy decides what survives a crash of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Durability {
    /// `fdatasync` before each push returns: nothing acknowledged is lost
    /// on power failure. The slowest.
    EachRecord,
    /// `fdatasync` once `max_records` records were written since the last
    /// one, or when a push comes `max_delay_ms` or more after it (and on
    /// [`Dlq::sync`](crate::Dlq::sync) and drop): a power failure loses at
    /// most that window.
    Batched {
        /// Records between two syncs.
        max_records: u32,
        /// Milliseconds after which the next push syncs.
        max_delay_ms: u64,
    },
    /// Never sync (the OS writes back when it likes): for queues that may
    /// lose their recent tail on power failure.
    None,
}

/// Settings of a [`Dlq`](crate::Dlq). `Default` is safe in production
/// (fsync on every record, bounded size).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DlqConfig {
    /// Directory holding the queue's files; created when missing. One queue
    /// per directory.
    pub dir: PathBuf,
    /// When a push is durable.
    pub durability: Durability,
    /// Most records held; a push past it is refused (`resilience.dlq_full`).
    pub max_records: u64,
    /// Most bytes of records held (framing included); a push past it is
    /// refused (`resilience.dlq_full`). It counts live records; the disk
    /// holds every segment file that still has one, whole (up to
    /// `segment_bytes` each), so keep `segment_bytes` small against
    /// `max_bytes` where disk is tight.
    pub max_bytes: u64,
    /// Size past which the current segment file is closed and a new one
    /// started; whole segments are deleted once all their records are
    /// removed.
    pub segment_bytes: u64,
    /// Largest single record, framing included.
    pub max_record_bytes: u32,
    /// Milliseconds [`Dlq::open`](crate::Dlq::open) waits for the
    /// directory's `LOCK` when another holder has it, polling with a short
    /// back-off (1 ms doubling to 50 ms), before refusing with
    /// `resilience.dlq_io`. A lock is often held for a moment only: by a
    /// process that is exiting, or by a child forked while the queue was
    /// open (its copy of the descriptor holds the lock until it `exec`s).
    /// 0 tries once. At most 60,000: a longer wait would hang a start-up
    /// behind a queue that another live process owns.
    pub lock_wait_ms: u64,
    /// Free space on the queue's filesystem under which its health check
    /// (feature `health`) is Degraded, in bytes: a full disk makes pushes
    /// fail, so the check warns before it. 0 turns this bound off. Read
    /// with `statvfs` (space available to an unprivileged writer) on Linux.
    pub min_free_bytes: u64,
    /// Free space on the queue's filesystem, as a percentage of its size,
    /// under which the health check is Degraded. 0 turns this bound off;
    /// at most 100.
    pub min_free_percent: u8,
}

/// The most [`DlqConfig::lock_wait_ms`] accepts.
const MAX_LOCK_WAIT_MS: u64 = 60_000;

impl Default for DlqConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("dlq"),
            durability: Durability::EachRecord,
            max_records: 1_000_000,
            max_bytes: 1 << 30,
            segment_bytes: 64 << 20,
            max_record_bytes: 16 << 20,
            lock_wait_ms: 2_000,
            min_free_bytes: 64 << 20,
            min_free_percent: 5,
        }
    }
}

impl DlqConfig {
    /// The default settings for a queue in `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ..Self::default()
        }
    }

    /// The same settings with another durability policy.
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each invalid field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.dir.as_os_str().is_empty() {
            problems.push("dlq.dir: must not be empty".to_owned());
        }
        for (field, value) in [
            ("max_records", self.max_records),
            ("max_bytes", self.max_bytes),
            ("segment_bytes", self.segment_bytes),
            ("max_record_bytes", u64::from(self.max_record_bytes)),
        ] {
            if value == 0 {
                problems.push(format!("dlq.{field}: must be greater than 0, got 0"));
            }
        }
        if u64::from(self.max_record_bytes) > self.max_bytes {
            problems.push(format!(
                "dlq.max_record_bytes: {} is more than max_bytes ({})",
                self.max_record_bytes, self.max_bytes
            ));
        }
        if self.lock_wait_ms > MAX_LOCK_WAIT_MS {
            problems.push(format!(
                "dlq.lock_wait_ms: must be at most {MAX_LOCK_WAIT_MS}, got {}",
                self.lock_wait_ms
            ));
        }
        if self.min_free_percent > 100 {
            problems.push(format!(
                "dlq.min_free_percent: must be at most 100, got {}",
                self.min_free_percent
            ));
        }
        if let Durability::Batched { max_records: 0, .. } = self.durability {
            problems.push("dlq.durability.max_records: must be greater than 0, got 0".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig {
                field: "dlq",
                message: problems.join("; "),
            })
        }
    }
}
