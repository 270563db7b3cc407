//! A durable dead-letter queue on local disk: append-only segment files of
//! framed, checksummed records; removal through an append-only log of
//! removed sequence numbers; recovery that cuts a torn tail.
//!
//! Files in the queue's directory: `<first seq, 20 digits>.seg` segments,
//! each a run of pr-core's frames (length, CRC-32C) whose payload is a
//! sequence number, a push time and the letter as JSON; `removed.log`, the
//! same frames of removed sequence numbers; and `LOCK`. A segment is
//! deleted once every record in it is removed. Framing, locking, atomic
//! rewrites and the sync policy are pr-core's durable-file kit
//! ([`pr_core::fs`]), shared with pr-cache's file cache.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use pr_core::fs::{FileLock, frame};
use pr_core::sync::lock;

mod config;
#[cfg(feature = "health")]
mod health;
mod metrics;
mod record;
mod recovery;
#[cfg(feature = "retry")]
mod route;
mod store;

pub use config::DlqConfig;
#[cfg(feature = "health")]
pub use health::DlqCheck;
use metrics::Metrics;
pub use pr_core::fs::Durability;
pub use record::{Attempt, DeadLetter, DlqRecord};
use record::{HEADER, place, seal};
use recovery::{lock_dir, recover};
#[cfg(feature = "retry")]
#[cfg_attr(docsrs, doc(cfg(feature = "retry")))]
pub use route::DeadLettered;
use store::{REMOVED, REMOVED_FRAME, Slot, State, removal_frame};

/// A durable, bounded, append-only dead-letter queue of [`DeadLetter<T>`].
///
/// [`push`](Self::push) returns once the record is written (and synced as
/// the [`Durability`] policy says); a full queue refuses with
/// [`Error::DlqFull`], never dropping a record. [`replay`](Self::replay)
/// hands each record to a handler and removes it only after the handler
/// succeeds (at least once delivery). Opening a queue recovers it: a record
/// torn by a crash at the end of the last segment is cut off, never
/// returned. Clones share one queue. One queue per directory: `open` takes
/// an exclusive lock on its `LOCK` file, held until the last clone (or
/// health check) is dropped, so a second open of the directory, from this
/// process or another, is refused instead of interleaving appends. `open`
/// waits up to [`DlqConfig::lock_wait`](crate::dlq::DlqConfig::lock_wait) for a holder to let go (one that
/// is exiting, or a child forked while the queue was open) before it
/// refuses.
///
/// # Examples
///
/// ```
/// use pr_resilience::dlq::{DeadLetter, Dlq, DlqConfig};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// # let dir = std::env::temp_dir().join(format!("pr-dlq-doc-{}", std::process::id()));
/// let dlq: Dlq<String> = Dlq::open(DlqConfig::new(&dir))?;
/// dlq.push(&DeadLetter::with_code("order 42".to_owned(), "payments.declined", "card declined"))?;
/// assert_eq!(dlq.len(), 1);
/// let report = dlq.replay_blocking(|record| {
///     assert_eq!(record.letter.payload, "order 42");
///     Ok::<(), std::io::Error>(())
/// })?;
/// assert_eq!((report.replayed, dlq.len()), (1, 0));
/// # drop(dlq); std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
pub struct Dlq<T> {
    inner: Arc<Inner>,
    payload: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Dlq<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            payload: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Dlq<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dlq")
            .field("dir", &self.inner.config.dir)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: DlqConfig,
    state: Mutex<State>,
    metrics: Metrics,
    /// The last failed write (a push or a removal), until a write succeeds:
    /// what the health check reports as Degraded.
    write_failure: Mutex<Option<String>>,
    /// Whether `write_failure` is set, so a write that succeeds takes no
    /// second lock in the usual case.
    failing: AtomicBool,
    /// The directory's `LOCK` file, locked while this queue is open.
    _lock: FileLock,
}

/// What a figure-reader sees of a queue: [`Dlq::snapshot`](crate::dlq::Dlq::snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct DlqSnapshot {
    /// Records held.
    pub records: u64,
    /// Bytes of records held, framing included.
    pub bytes: u64,
    /// Segment files on disk.
    pub segments: usize,
    /// Whether the next push of a small record would be refused.
    pub full: bool,
}

/// What a [`Dlq::replay`](crate::dlq::Dlq::replay) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Records the handler accepted, now removed.
    pub replayed: u64,
    /// Records the handler refused, kept.
    pub failed: u64,
}

fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::DlqIo {
        op,
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<T: Serialize + DeserializeOwned> Dlq<T> {
    /// Opens (creating when missing) the queue in `config.dir`, recovering
    /// it: a torn record at the end of the last segment is cut off.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for invalid settings, [`Error::DlqIo`] when
    /// a file cannot be read or written or when another holder keeps the
    /// directory's lock past `lock_wait`, [`Error::DlqCorrupt`] when a
    /// segment other than the last is damaged.
    pub fn open(config: DlqConfig) -> Result<Self, Error> {
        pr_core::validate::check(&config).map_err(|problems| Error::InvalidConfig { problems })?;
        let dir_lock = lock_dir(&config.dir, config.lock_wait.as_std())?;
        let state = recover(&config)?;
        let inner = Inner {
            metrics: Metrics::new(),
            write_failure: Mutex::new(None),
            failing: AtomicBool::new(false),
            config,
            state: Mutex::new(state),
            _lock: dir_lock,
        };
        {
            let state = lock(&inner.state);
            inner.metrics.report(&state);
        }
        Ok(Self {
            inner: Arc::new(inner),
            payload: PhantomData,
        })
    }

    /// Appends a letter; returns its sequence number once it is written and
    /// synced as the [`Durability`] policy says.
    ///
    /// # Errors
    ///
    /// [`Error::DlqFull`] when the queue is at `max_records` or
    /// `max_size` (or the record is larger than `max_record_size`);
    /// [`Error::DlqCodec`] when the payload cannot be encoded;
    /// [`Error::DlqIo`] when the write or sync fails (the record is then
    /// not in the queue; should cutting it from the file fail as well, it
    /// comes back when the queue is next opened: at least once).
    ///
    /// Every failure is counted in `pr_resilience_dlq_push_failures_total`
    /// by `reason` (`io`, `full`, `too_large`, `codec`) and logged as
    /// `pr_resilience.dlq.push_failed`; an `io` failure turns the health
    /// check Degraded until a later write succeeds.
    pub fn push(&self, letter: &DeadLetter<T>) -> Result<u64, Error> {
        let outcome = self.push_once(letter);
        match &outcome {
            Ok(_) => self.inner.wrote(),
            Err(error) => {
                let reason = match error {
                    Error::DlqFull {
                        bound: "max_record_size",
                        ..
                    } => "too_large",
                    Error::DlqFull { .. } => "full",
                    Error::DlqCodec { .. } => "codec",
                    _ => "io",
                };
                self.inner.metrics.push_failed(reason);
                if reason == "io" {
                    self.inner.write_failed(error);
                    tracing::error!(
                        name: "pr_resilience.dlq.push_failed",
                        event = "pr_resilience.dlq.push_failed",
                        dir = %self.inner.config.dir.display(),
                        reason,
                        error = %error,
                        "dead-letter queue could not store a record"
                    );
                }
            }
        }
        outcome
    }

    fn push_once(&self, letter: &DeadLetter<T>) -> Result<u64, Error> {
        let config = &self.inner.config;
        let mut frame = vec![0_u8; HEADER];
        serde_json::to_writer(&mut frame, letter).map_err(|e| Error::DlqCodec {
            seq: 0,
            op: "encode",
            message: e.to_string(),
        })?;
        let len = frame.len() as u64;
        if len > config.max_record_size.as_u64() {
            return Err(self.full("max_record_size", config.max_record_size.as_u64()));
        }
        let mut state = lock(&self.inner.state);
        if state.live.len() as u64 >= config.max_records {
            drop(state);
            return Err(self.full("max_records", config.max_records));
        }
        if state.live_bytes + len > config.max_size.as_u64() {
            drop(state);
            return Err(self.full("max_size", config.max_size.as_u64()));
        }
        let seq = state.next_seq;
        let pushed_at_ms = unix_ms(SystemTime::now());
        seal(&mut frame, seq, pushed_at_ms).map_err(|e| Error::DlqCodec {
            seq,
            op: "encode",
            message: e.to_string(),
        })?;
        if state.active().len > 0 && state.active().len + len > config.segment_size.as_u64() {
            state.roll(config, seq)?;
        }
        let (base, offset) = {
            let (&base, segment) = state.active_entry();
            let offset = segment.len;
            if let Err(e) = segment.file.write_all(&frame) {
                // Never leave a partial frame behind a good one.
                let _ = segment.file.set_len(offset);
                return Err(io_error("write", &segment.path)(e));
            }
            segment.len += len;
            (base, offset)
        };
        state.live.insert(
            seq,
            Slot {
                segment: base,
                offset,
                len: u32::try_from(len).unwrap_or(u32::MAX),
                pushed_at_ms,
            },
        );
        state.live_bytes += len;
        state.next_seq = seq + 1;
        if let Err(e) = state.after_write(1) {
            // Whether the disk has the record is unknown: take it back, so
            // the error means "not queued" and a retry does not store it
            // twice. Its number is not reused (if the cut fails too, the
            // frame comes back on the next open: kept twice, never lost).
            state.live.remove(&seq);
            state.live_bytes -= len;
            let segment = state.active_entry().1;
            if segment.file.set_len(offset).is_ok() {
                segment.len = offset;
            }
            return Err(e);
        }
        self.inner.metrics.pushed(&state);
        Ok(seq)
    }

    fn full(&self, bound: &'static str, limit: u64) -> Error {
        self.inner.metrics.rejected();
        tracing::warn!(
            name: "pr_resilience.dlq.full",
            event = "pr_resilience.dlq.full",
            dir = %self.inner.config.dir.display(),
            bound,
            limit,
            "dead-letter queue refused a record"
        );
        Error::DlqFull {
            dir: self.inner.config.dir.clone(),
            bound,
            limit,
        }
    }

    /// Syncs every write so far to disk, whatever the policy.
    ///
    /// # Errors
    ///
    /// [`Error::DlqIo`] when the sync fails.
    pub fn sync(&self) -> Result<(), Error> {
        let mut state = lock(&self.inner.state);
        state.sync_now()
    }

    /// Records held.
    #[must_use]
    pub fn len(&self) -> u64 {
        lock(&self.inner.state).live.len() as u64
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's figures now.
    #[must_use]
    pub fn snapshot(&self) -> DlqSnapshot {
        let state = lock(&self.inner.state);
        snapshot(&self.inner.config, &state)
    }

    /// The settings it was opened with.
    #[must_use]
    pub fn config(&self) -> &DlqConfig {
        &self.inner.config
    }

    /// The oldest record, without removing it.
    ///
    /// # Errors
    ///
    /// [`Error::DlqIo`] or [`Error::DlqCodec`] when it cannot be read.
    pub fn peek(&self) -> Result<Option<DlqRecord<T>>, Error> {
        self.iter().next().transpose()
    }

    /// The newest record, without removing it.
    ///
    /// # Errors
    ///
    /// [`Error::DlqIo`] or [`Error::DlqCodec`] when it cannot be read.
    pub fn peek_newest(&self) -> Result<Option<DlqRecord<T>>, Error> {
        let newest = lock(&self.inner.state).live.keys().next_back().copied();
        match newest {
            Some(seq) => self.read(seq),
            None => Ok(None),
        }
    }

    /// Every record held now, oldest first, read one at a time (records
    /// removed meanwhile are skipped).
    #[must_use]
    pub fn iter(&self) -> Iter<'_, T> {
        let seqs: Vec<u64> = lock(&self.inner.state).live.keys().copied().collect();
        Iter {
            dlq: self,
            seqs: seqs.into_iter(),
        }
    }

    /// Reads one record; `None` when it is no longer held.
    fn read(&self, seq: u64) -> Result<Option<DlqRecord<T>>, Error> {
        let frame = {
            let state = lock(&self.inner.state);
            let Some(slot) = state.live.get(&seq).copied() else {
                return Ok(None);
            };
            let Some(segment) = state.segments.get(&slot.segment) else {
                return Ok(None);
            };
            let mut frame = vec![0_u8; slot.len as usize];
            let mut file = &segment.file;
            file.seek(SeekFrom::Start(slot.offset))
                .and_then(|_| file.read_exact(&mut frame))
                .map_err(io_error("read", &segment.path))?;
            frame
        };
        let letter = serde_json::from_slice(&frame[HEADER..]).map_err(|e| Error::DlqCodec {
            seq,
            op: "decode",
            message: e.to_string(),
        })?;
        Ok(Some(DlqRecord {
            seq,
            pushed_at: UNIX_EPOCH
                + Duration::from_millis(place(&frame[frame::HEADER..]).map_or(0, |(_, at)| at)),
            letter,
        }))
    }

    /// Removes one record (after it was handled); `false` when it was not
    /// held.
    ///
    /// # Errors
    ///
    /// [`Error::DlqIo`] when the removal cannot be written.
    pub fn remove(&self, seq: u64) -> Result<bool, Error> {
        self.remove_all(&[seq]).map(|n| n == 1)
    }

    fn remove_all(&self, seqs: &[u64]) -> Result<u64, Error> {
        let outcome = self.remove_all_once(seqs);
        match &outcome {
            Ok(0) => {}
            Ok(_) => self.inner.wrote(),
            Err(error) => self.inner.write_failed(error),
        }
        outcome
    }

    fn remove_all_once(&self, seqs: &[u64]) -> Result<u64, Error> {
        let config = &self.inner.config;
        let mut state = lock(&self.inner.state);
        let mut frames = Vec::with_capacity(seqs.len() * REMOVED_FRAME);
        let mut removed = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            if state.live.contains_key(&seq) {
                removal_frame(&mut frames, seq);
                removed.push(seq);
            }
        }
        if removed.is_empty() {
            return Ok(0);
        }
        let path = config.dir.join(REMOVED);
        let at = state.removed_len;
        if let Err(e) = state.removed.write_all(&frames) {
            let _ = state.removed.set_len(at);
            return Err(io_error("write", &path)(e));
        }
        state.removed_len += frames.len() as u64;
        for seq in &removed {
            if let Some(slot) = state.live.remove(seq) {
                state.live_bytes -= u64::from(slot.len);
                state.removed_set.insert(*seq);
            }
        }
        state.after_write(0)?;
        state.drop_dead_segments(config)?;
        self.inner.metrics.report(&state);
        Ok(removed.len() as u64)
    }

    /// As [`replay`](Self::replay), with a blocking handler, on the calling
    /// thread.
    ///
    /// # Errors
    ///
    /// As [`replay`](Self::replay).
    pub fn replay_blocking<E>(
        &self,
        mut handler: impl FnMut(&DlqRecord<T>) -> Result<(), E>,
    ) -> Result<ReplayReport, Error> {
        let mut report = ReplayReport::default();
        for record in self.iter() {
            let record = record?;
            if handler(&record).is_ok() {
                report.replayed += self.remove_all(&[record.seq])?;
            } else {
                report.failed += 1;
            }
        }
        self.inner.metrics.replayed(report.replayed);
        Ok(report)
    }

    /// Hands each record held now to `handler`, oldest first, and removes
    /// it once the handler returns `Ok` (at least once: a crash between the
    /// two replays it again; use the idempotency key). A record whose
    /// handler fails stays, and the replay goes on with the next.
    /// [`replay_blocking`](Self::replay_blocking) takes a blocking handler.
    ///
    /// # Errors
    ///
    /// [`Error::DlqIo`] or [`Error::DlqCodec`] when a record cannot be read
    /// or removed.
    pub async fn replay<E, F, Fut>(&self, mut handler: F) -> Result<ReplayReport, Error>
    where
        F: FnMut(DlqRecord<T>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let mut report = ReplayReport::default();
        let seqs: Vec<u64> = lock(&self.inner.state).live.keys().copied().collect();
        for seq in seqs {
            let Some(record) = self.read(seq)? else {
                continue;
            };
            if handler(record).await.is_ok() {
                report.replayed += self.remove_all(&[seq])?;
            } else {
                report.failed += 1;
            }
        }
        self.inner.metrics.replayed(report.replayed);
        Ok(report)
    }

    /// Removes every record pushed before `time`; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::DlqIo`] when the removal cannot be written.
    pub fn purge_before(&self, time: SystemTime) -> Result<u64, Error> {
        let cutoff = unix_ms(time);
        let seqs: Vec<u64> = lock(&self.inner.state)
            .live
            .iter()
            .filter(|(_, slot)| slot.pushed_at_ms < cutoff)
            .map(|(seq, _)| *seq)
            .collect();
        self.remove_all(&seqs)
    }

    /// Removes every record older than `age`; returns how many.
    ///
    /// # Errors
    ///
    /// As [`purge_before`](Self::purge_before).
    pub fn purge_older_than(&self, age: Duration) -> Result<u64, Error> {
        let time = SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH);
        self.purge_before(time)
    }

    /// Removes the oldest records until at most `keep` are held; returns
    /// how many were removed.
    ///
    /// # Errors
    ///
    /// As [`purge_before`](Self::purge_before).
    pub fn purge_keep_newest(&self, keep: u64) -> Result<u64, Error> {
        let seqs: Vec<u64> = {
            let state = lock(&self.inner.state);
            let excess = (state.live.len() as u64).saturating_sub(keep);
            state
                .live
                .keys()
                .take(usize::try_from(excess).unwrap_or(usize::MAX))
                .copied()
                .collect()
        };
        self.remove_all(&seqs)
    }
}

impl Inner {
    /// A write succeeded: the queue is writable again.
    fn wrote(&self) {
        if self.failing.load(Ordering::Acquire) {
            *lock(&self.write_failure) = None;
            self.failing.store(false, Ordering::Release);
        }
    }

    /// A write failed: the health check says so until one succeeds.
    fn write_failed(&self, error: &Error) {
        *lock(&self.write_failure) = Some(error.to_string());
        self.failing.store(true, Ordering::Release);
    }
}

/// Syncs when the last holder goes, a [`Dlq`](crate::dlq::Dlq) handle or a health check
/// (which shares the queue, so counting handles missed it).
impl Drop for Inner {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if state.schedule.owes_sync() {
            let _ = state.sync_now();
        }
    }
}

/// The records of a queue, read one at a time; made by [`Dlq::iter`](crate::dlq::Dlq::iter).
#[derive(Debug)]
pub struct Iter<'a, T> {
    dlq: &'a Dlq<T>,
    seqs: std::vec::IntoIter<u64>,
}

impl<T: Serialize + DeserializeOwned> Iterator for Iter<'_, T> {
    type Item = Result<DlqRecord<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        for seq in self.seqs.by_ref() {
            match self.dlq.read(seq) {
                Ok(None) => {}
                Ok(Some(record)) => return Some(Ok(record)),
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

fn snapshot(config: &DlqConfig, state: &State) -> DlqSnapshot {
    DlqSnapshot {
        records: state.live.len() as u64,
        bytes: state.live_bytes,
        segments: state.segments.len(),
        full: state.live.len() as u64 >= config.max_records
            || state.live_bytes + HEADER as u64 + 64 > config.max_size.as_u64(),
    }
}

#[cfg(test)]
mod tests;
