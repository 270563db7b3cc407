//! Opening a queue: the directory's lock, then recovery, which reads every
//! segment and the removal log back into the queue's state and cuts a torn
//! tail (damage anywhere but at the end of the last file is an error, not a
//! silent loss).

use std::collections::{BTreeMap, HashSet};
use std::fs::OpenOptions;
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use pr_core::fs::{FileLock, SyncSchedule, frame};
use pr_core::time::Clock;

use super::record::place;
use super::store::{REMOVED, Slot, State, create_segment, sync_queue_dir};
use super::{DlqConfig, io_error};
use crate::Error;

/// Creates `dir` and locks its `LOCK` file for this queue alone, waiting up
/// to `wait` for another holder to let go (pr-core's
/// [`FileLock::try_exclusive`], which polls with a short back-off).
pub(super) fn lock_dir(dir: &Path, wait: Duration) -> Result<FileLock, Error> {
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let path = dir.join("LOCK");
    match FileLock::try_exclusive(&path, wait) {
        Ok(Some(held)) => Ok(held),
        Ok(None) => Err(Error::DlqIo {
            op: "lock",
            path,
            message: format!(
                "another open queue holds it (one queue per directory); waited {} ms \
                 (lock_wait)",
                wait.as_millis()
            ),
        }),
        Err(e) => Err(io_error("lock", &path)(e)),
    }
}

/// Opens the queue's files, cutting a torn tail.
pub(super) fn recover(config: &DlqConfig) -> Result<State, Error> {
    let dir = &config.dir;
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    // A rewrite of the removal log that a crash interrupted.
    let _ = std::fs::remove_file(pr_core::fs::temp_path(&dir.join(REMOVED)));
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let name = entry.file_name();
        let Some(base) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        bases.push(base);
    }
    bases.sort_unstable();

    // The removal log: whole frames only.
    let removed_path = dir.join(REMOVED);
    let mut removed = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&removed_path)
        .map_err(io_error("open", &removed_path))?;
    let mut bytes = Vec::new();
    removed
        .read_to_end(&mut bytes)
        .map_err(io_error("read", &removed_path))?;
    let mut removed_set = HashSet::new();
    let mut max_removed = 0;
    let mut frames = frame::Frames::new(&bytes);
    let mut good = 0;
    for removal in frames.by_ref() {
        let Some(seq) = frame::u64_at(removal.payload, 0).filter(|_| removal.payload.len() == 8)
        else {
            break;
        };
        removed_set.insert(seq);
        max_removed = max_removed.max(seq);
        good = removal.end();
    }
    if good < bytes.len() {
        tracing::warn!(
            name: "pr_resilience.dlq.torn_tail_truncated",
            event = "pr_resilience.dlq.torn_tail_truncated",
            path = %removed_path.display(),
            at = good,
            "cut a torn removal record"
        );
        frame::truncate(&removed, good as u64).map_err(io_error("truncate", &removed_path))?;
    }

    let mut segments = BTreeMap::new();
    let mut live = BTreeMap::new();
    let mut live_bytes = 0;
    let mut last_seq = None;
    // Removed seqs still in a segment on disk (the others are forgotten).
    let mut still_removed = HashSet::new();
    for (i, &base) in bases.iter().enumerate() {
        let last = i + 1 == bases.len();
        let mut segment = create_segment(dir, base)?;
        let mut bytes = Vec::new();
        (&segment.file)
            .read_to_end(&mut bytes)
            .map_err(io_error("read", &segment.path))?;
        let mut frames = frame::Frames::new(&bytes);
        let mut at = 0;
        let mut damage = None;
        for record in frames.by_ref() {
            let Some((seq, pushed_at_ms)) = place(record.payload) else {
                damage = Some("record too short");
                break;
            };
            // A frame is bounded by the file, not by `max_record_size`: a
            // record acknowledged under a larger bound is not a torn one.
            if seq < base || last_seq.is_some_and(|l| seq <= l) {
                damage = Some("sequence out of order");
                break;
            }
            last_seq = Some(seq);
            let len = record.end() - record.offset;
            if removed_set.contains(&seq) {
                still_removed.insert(seq);
            } else {
                live.insert(
                    seq,
                    Slot {
                        segment: base,
                        offset: at as u64,
                        len: u32::try_from(len).unwrap_or(u32::MAX),
                        pushed_at_ms,
                    },
                );
                live_bytes += len as u64;
            }
            at = record.end();
        }
        let damage = damage.or_else(|| frames.damage().map(frame::Damage::as_str));
        if let Some(reason) = damage {
            if !last {
                return Err(Error::DlqCorrupt {
                    path: segment.path,
                    offset: at as u64,
                    reason: reason.into(),
                });
            }
            tracing::warn!(
                name: "pr_resilience.dlq.torn_tail_truncated",
                event = "pr_resilience.dlq.torn_tail_truncated",
                path = %segment.path.display(),
                at,
                reason,
                "cut a torn record at the end of the last segment"
            );
            frame::truncate(&segment.file, at as u64)
                .map_err(io_error("truncate", &segment.path))?;
            segment.len = at as u64;
        }
        segments.insert(base, segment);
    }
    let next_seq = last_seq
        .map_or(1, |l| l + 1)
        .max(max_removed + 1)
        .max(bases.last().copied().unwrap_or(1));
    let removed_set = still_removed;
    if segments.is_empty() {
        segments.insert(next_seq, create_segment(dir, next_seq)?);
        sync_queue_dir(dir)?;
    }
    let removed_len = good as u64;
    let mut state = State {
        segments,
        live,
        live_bytes,
        removed,
        removed_len,
        removed_set,
        next_seq,
        schedule: SyncSchedule::new(config.durability, Clock::system()),
    };
    state.drop_dead_segments(config)?;
    Ok(state)
}
