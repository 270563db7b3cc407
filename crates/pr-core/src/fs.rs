//! The durable-file kit (feature `fs`): what the toolkit's crash-safe
//! stores, pr-cache's file cache and pr-resilience's dead-letter queue,
//! build on, so that each does not carry its own copy.
//!
//! - [`write_atomic`]: replaces a whole file through a synced temp file and
//!   a rename, then syncs the directory ([`sync_dir`]).
//! - [`FileLock`]: a shared or exclusive lock on a lock file, on one
//!   mechanism (std's file locks, `flock(2)` on Linux), with a bounded wait
//!   for a store's open.
//! - [`frame`]: CRC-32C framed records with torn-tail recovery (a reader
//!   that stops at the first torn or corrupt frame and says where the good
//!   prefix ends), the checksum itself, and little-endian reads that return
//!   `None` on short input.
//! - [`Durability`]: one policy of what survives a crash of the machine,
//!   for every store, and [`SyncSchedule`], which says when a batched one
//!   is due its next sync.
//!
//! The stores say what their files hold and in what order they are
//! written; the kit holds the parts where a mistake loses data silently:
//! an unsynced rename, a panic on a short read, a tail cut one frame too
//! late.
//!
//! # Examples
//!
//! A log of framed records, cut back to its good prefix after a crash
//! tore its last record; a file replaced whole under the directory's lock.
//!
//! ```
//! use std::io::Write as _;
//!
//! use pr_core::fs::{Durability, FileLock, frame, write_atomic};
//!
//! # fn main() -> std::io::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("pr-core-fs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let _lock = FileLock::exclusive(&dir.join("LOCK"))?;
//!
//! let path = dir.join("records.log");
//! let mut log = std::fs::File::create(&path)?;
//! let mut bytes = Vec::new();
//! frame::append(&mut bytes, b"first")?;
//! frame::append(&mut bytes, b"second")?;
//! log.write_all(&bytes)?;
//! log.write_all(&bytes[..5])?; // a crash mid-append tears a third
//!
//! let read = std::fs::read(&path)?;
//! let mut frames = frame::Frames::new(&read);
//! assert_eq!(frames.by_ref().count(), 2);
//! frame::truncate(&log, frames.good_len() as u64)?;
//! assert_eq!(std::fs::read(&path)?, bytes);
//!
//! write_atomic(&dir.join("state"), b"all or nothing", Durability::EachWrite)?;
//! assert_eq!(std::fs::read(dir.join("state"))?, b"all or nothing");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod atomic;
mod durability;
pub mod frame;
mod lock;

pub use atomic::{sync_dir, temp_path, write_atomic};
pub use durability::{Durability, SyncSchedule};
pub use lock::FileLock;
