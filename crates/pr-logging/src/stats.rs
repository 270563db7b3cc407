//! Counters of each output and the [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of one output, shared with its writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    lines: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    write_errors: AtomicU64,
    rotations: AtomicU64,
    compressed: AtomicU64,
    deleted: AtomicU64,
    reopens: AtomicU64,
}

impl Counters {
    pub(crate) fn add_line(&self, bytes: usize) {
        self.lines.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(u64::try_from(bytes).unwrap_or(0), Ordering::Relaxed);
    }
    pub(crate) fn add_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_write_error(&self) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_rotation(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_compressed(&self) {
        self.compressed.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_deleted(&self) {
        self.deleted.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_reopen(&self) {
        self.reopens.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, name: &str) -> OutputStats {
        OutputStats {
            name: name.to_owned(),
            lines: self.lines.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
            compressed: self.compressed.load(Ordering::Relaxed),
            deleted: self.deleted.load(Ordering::Relaxed),
            reopens: self.reopens.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of one output's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputStats {
    /// `console`, the file's path, `audit:<path>` or a custom writer's name.
    pub name: String,
    /// Lines accepted for writing.
    pub lines: u64,
    /// Bytes accepted for writing.
    pub bytes: u64,
    /// Lines dropped because the queue was full (`drop` policy) or the
    /// writer had stopped.
    pub dropped: u64,
    /// Failed writes, opens, renames or compressions.
    pub write_errors: u64,
    /// Rotations.
    pub rotations: u64,
    /// Rotated files compressed.
    pub compressed: u64,
    /// Rotated files deleted by retention.
    pub deleted: u64,
    /// Reopens after the current file was moved or removed.
    pub reopens: u64,
}

/// A snapshot of every output's counters and of the redaction count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// One entry per output, in configuration order.
    pub outputs: Vec<OutputStats>,
    /// Values redacted so far.
    pub redactions: u64,
}

impl Stats {
    /// The output with this name.
    #[must_use]
    pub fn output(&self, name: &str) -> Option<&OutputStats> {
        self.outputs.iter().find(|o| o.name == name)
    }
}
