//! [`DlqConfig`](crate::dlq::DlqConfig): where the queue lives, its bounds
//! and when a push is durable (pr-core's [`Durability`], which the file
//! cache shares).

use std::path::PathBuf;

use pr_core::fs::Durability;
use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

/// Settings of a [`Dlq`](crate::dlq::Dlq). `Default` is safe in production
/// (every write synced before it returns, bounded size).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DlqConfig {
    /// Directory holding the queue's files; created when missing. One queue
    /// per directory.
    pub dir: PathBuf,
    /// When a push is durable: `"none"`, `"flush"`, `"each_write"`, or
    /// `{ mode = "batched", max_records = 64, max_delay = "5ms" }`. Default
    /// `"each_write"`: every push and removal is synced before it returns,
    /// because a dead letter lost to a power failure is failed work lost
    /// for good (the file cache defaults lower: a lost entry costs a miss).
    /// Every policy survives a crash of the process; `push` then waits for
    /// the disk as the policy says. With `"flush"` the queue syncs a
    /// segment when it closes it and when the last handle goes.
    pub durability: Durability,
    /// Most records held; a push past it is refused (`resilience.dlq_full`).
    pub max_records: u64,
    /// Most bytes of records held, framing included (`"1GiB"`; a plain
    /// number is bytes); a push past it is refused (`resilience.dlq_full`).
    /// It counts live records; the disk holds every segment file that
    /// still has one, whole (up to `segment_size` each), so keep
    /// `segment_size` small against `max_size` where disk is tight.
    pub max_size: ByteSize,
    /// Size past which the current segment file is closed and a new one
    /// started (`"64MiB"`; a plain number is bytes); whole segments are
    /// deleted once all their records are removed.
    pub segment_size: ByteSize,
    /// Largest single record, framing included (`"16MiB"`; a plain number
    /// is bytes); at most `max_size` and under 4GiB (a frame's length is
    /// 32 bits).
    pub max_record_size: ByteSize,
    /// How long [`Dlq::open`](crate::dlq::Dlq::open) waits for the directory's
    /// `LOCK` when another holder has it (`"2s"`; a plain number is
    /// seconds), polling with a short back-off (1 ms doubling to 50 ms),
    /// before refusing with `resilience.dlq_io`. A lock is often held for a
    /// moment only: by a process that is exiting, or by a child forked
    /// while the queue was open (its copy of the descriptor holds the lock
    /// until it `exec`s). `"0s"` tries once. At most `"60s"`: a longer wait
    /// would hang a start-up behind a queue that another live process owns.
    pub lock_wait: Duration,
    /// Free space on the queue's filesystem under which its health check
    /// (feature `health`) is Degraded (`"64MiB"`; a plain number is bytes):
    /// a full disk makes pushes fail, so the check warns before it. `0`
    /// turns this bound off. Read with `statvfs` (space available to an
    /// unprivileged writer) on Linux.
    pub min_free: ByteSize,
    /// Free space on the queue's filesystem, as a percentage of its size,
    /// under which the health check is Degraded. 0 turns this bound off;
    /// at most 100.
    pub min_free_percent: u8,
}

/// The most [`DlqConfig::lock_wait`](crate::dlq::DlqConfig::lock_wait) accepts.
const MAX_LOCK_WAIT: Duration = Duration::from_secs(60);
/// The most [`DlqConfig::max_record_size`](crate::dlq::DlqConfig::max_record_size) accepts: a frame's length field
/// is a `u32`.
const MAX_RECORD_SIZE: ByteSize = ByteSize((1 << 32) - 1);

impl Default for DlqConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("dlq"),
            durability: Durability::EachWrite,
            max_records: 1_000_000,
            max_size: ByteSize(1 << 30),
            segment_size: ByteSize::mib(64),
            max_record_size: ByteSize::mib(16),
            lock_wait: Duration::from_secs(2),
            min_free: ByteSize::mib(64),
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
}

/// Every problem at once, each at its key relative to the queue's section
/// (`max_size`, `lock_wait`, `durability.max_records`); no message repeats
/// a value.
impl Validate for DlqConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(!self.dir.as_os_str().is_empty(), "dir", "must not be empty");
        for (key, value) in [
            ("max_records", self.max_records),
            ("max_size", self.max_size.as_u64()),
            ("segment_size", self.segment_size.as_u64()),
            ("max_record_size", self.max_record_size.as_u64()),
        ] {
            v.check(value > 0, key, "must be greater than 0");
        }
        v.check(
            self.max_record_size <= MAX_RECORD_SIZE,
            "max_record_size",
            "must be less than 4GiB (a record's length is stored in 32 bits)",
        );
        v.check(
            self.max_record_size <= self.max_size,
            "max_record_size",
            "must be at most `max_size`",
        );
        v.check(
            self.lock_wait <= MAX_LOCK_WAIT,
            "lock_wait",
            format!("must be at most {MAX_LOCK_WAIT}"),
        );
        v.check(
            self.min_free_percent <= 100,
            "min_free_percent",
            "must be at most 100",
        );
        if let Durability::Batched { max_records, .. } = self.durability {
            v.check(
                max_records > 0,
                "durability.max_records",
                "must be greater than 0",
            );
        }
    }
}
