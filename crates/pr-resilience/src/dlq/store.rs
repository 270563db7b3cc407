//! The queue's files as the queue holds them open: its segments, the live
//! records' places in them, the removal log, and what a write does to them
//! (append, roll to a new segment, sync as the durability policy says,
//! delete dead segments, compact the removal log).

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use pr_core::fs::{SyncSchedule, frame, sync_dir};

use super::{DlqConfig, Durability, io_error};
use crate::Error;

/// The removal log: frames of removed sequence numbers.
pub(super) const REMOVED: &str = "removed.log";

/// A removal's frame: a sequence number in pr-core's framing.
pub(super) const REMOVED_FRAME: usize = frame::HEADER + 8;

/// Where a live record is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) segment: u64,
    pub(super) offset: u64,
    pub(super) len: u32,
    pub(super) pushed_at_ms: u64,
}

/// A segment file, open for reading and appending.
pub(super) struct Segment {
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) len: u64,
}

/// The queue's open files and what it knows of them, under its mutex.
pub(super) struct State {
    /// Segments by first sequence number; the last is the one appended to.
    pub(super) segments: BTreeMap<u64, Segment>,
    /// Live records by sequence number.
    pub(super) live: BTreeMap<u64, Slot>,
    pub(super) live_bytes: u64,
    pub(super) removed: File,
    pub(super) removed_len: u64,
    /// Removed sequence numbers still inside a segment on disk.
    pub(super) removed_set: HashSet<u64>,
    pub(super) next_seq: u64,
    /// Writes since the last sync, against the durability policy.
    pub(super) schedule: SyncSchedule,
}

/// A segment's file name: its first sequence number, 20 digits, so names
/// sort in sequence order.
fn segment_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}

/// Syncs the queue's directory so that files created or removed in it
/// persist.
pub(super) fn sync_queue_dir(dir: &Path) -> Result<(), Error> {
    sync_dir(dir).map_err(io_error("sync", dir))
}

impl State {
    pub(super) fn active(&self) -> &Segment {
        self.segments
            .last_key_value()
            .map(|(_, s)| s)
            .unwrap_or_else(|| unreachable!("a queue always has an active segment"))
    }

    pub(super) fn active_entry(&mut self) -> (&u64, &mut Segment) {
        self.segments
            .iter_mut()
            .next_back()
            .unwrap_or_else(|| unreachable!("a queue always has an active segment"))
    }

    /// Closes the active segment (synced) and starts one at `seq`.
    pub(super) fn roll(&mut self, config: &DlqConfig, seq: u64) -> Result<(), Error> {
        if config.durability != Durability::None {
            self.sync_now()?;
        }
        let segment = create_segment(&config.dir, seq)?;
        if config.durability != Durability::None {
            sync_queue_dir(&config.dir)?;
        }
        self.segments.insert(seq, segment);
        Ok(())
    }

    /// Syncs as the policy says after a write of `records` records (0 for
    /// a removal, which does not count towards a batch).
    pub(super) fn after_write(&mut self, records: u32) -> Result<(), Error> {
        if self.schedule.wrote(records) {
            self.sync_now()
        } else {
            Ok(())
        }
    }

    pub(super) fn sync_now(&mut self) -> Result<(), Error> {
        let active = self.active();
        #[cfg(test)]
        if super::tests::FAIL_SYNCS.with(std::cell::Cell::get) {
            return Err(io_error("sync", &active.path)(std::io::Error::other(
                "injected by a test",
            )));
        }
        active
            .file
            .sync_data()
            .map_err(io_error("sync", &active.path))?;
        self.removed.sync_data().map_err(|e| Error::DlqIo {
            op: "sync",
            path: PathBuf::from(REMOVED),
            message: e.to_string(),
        })?;
        self.schedule.synced();
        #[cfg(test)]
        super::tests::SYNCS.with(|n| n.set(n.get() + 1));
        Ok(())
    }

    /// Deletes segments (not the active one) that hold no live record.
    pub(super) fn drop_dead_segments(&mut self, config: &DlqConfig) -> Result<(), Error> {
        let bases: Vec<u64> = self.segments.keys().copied().collect();
        let mut dead = Vec::new();
        // Segment `i` holds the seqs [bases[i], bases[i + 1]).
        for pair in bases.windows(2) {
            if self.live.range(pair[0]..pair[1]).next().is_none() {
                dead.push((pair[0], pair[1]));
            }
        }
        let deleted = !dead.is_empty();
        for &(base, _) in &dead {
            if let Some(segment) = self.segments.remove(&base) {
                std::fs::remove_file(&segment.path).map_err(io_error("remove", &segment.path))?;
            }
        }
        if deleted {
            self.removed_set
                .retain(|seq| !dead.iter().any(|(from, to)| (*from..*to).contains(seq)));
        }
        if deleted {
            if config.durability != Durability::None {
                sync_queue_dir(&config.dir)?;
            }
            // Keep the removal log small: rewrite it when most of it is
            // about deleted segments.
            if self.removed_len > 4096
                && (self.removed_set.len() * REMOVED_FRAME * 4) < self.removed_len as usize
            {
                self.compact_removed(config)?;
            }
        }
        Ok(())
    }

    /// Rewrites the removal log with only the removals still inside a
    /// segment on disk, replacing it atomically.
    pub(super) fn compact_removed(&mut self, config: &DlqConfig) -> Result<(), Error> {
        let path = config.dir.join(REMOVED);
        let mut seqs: Vec<u64> = self.removed_set.iter().copied().collect();
        seqs.sort_unstable();
        let mut bytes = Vec::with_capacity(seqs.len() * REMOVED_FRAME);
        for seq in seqs {
            removal_frame(&mut bytes, seq);
        }
        pr_core::fs::write_atomic(&path, &bytes, config.durability)
            .map_err(io_error("rewrite", &path))?;
        self.removed = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_error("open", &path))?;
        self.removed_len = bytes.len() as u64;
        Ok(())
    }
}

/// Appends the frame of a removal of `seq` to `out`.
pub(super) fn removal_frame(out: &mut Vec<u8>, seq: u64) {
    // Eight bytes: far under a frame's bound.
    let _ = frame::append(out, &seq.to_le_bytes());
}

pub(super) fn create_segment(dir: &Path, seq: u64) -> Result<Segment, Error> {
    let path = dir.join(segment_name(seq));
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io_error("create", &path))?;
    let len = file.metadata().map_err(io_error("stat", &path))?.len();
    Ok(Segment { file, path, len })
}
