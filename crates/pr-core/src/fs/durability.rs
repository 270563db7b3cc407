//! [`Durability`]: how much of a write survives a crash of the machine, one
//! policy for every store of the toolkit; and [`SyncSchedule`], which says
//! when a batched policy is due its next sync.
//!
//! Every policy survives a crash of the *process*: a store writes each
//! record or entry to the kernel before the call returns. The policy decides
//! what the disk holds after a power loss, and what a write waits for.
//!
//! There is no `Default`: the file cache and the dead-letter queue want
//! opposite ones (a cache loses only time when an entry goes missing; a
//! queue loses the failed work itself), so each store's configuration names
//! its own default and says why.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::Clock;
use crate::units::Duration;

/// How much of a write survives a crash of the machine, from the fastest
/// to the safest.
///
/// In configuration, a name (`durability = "flush"`) or, for any policy, a
/// table with its `mode` (`durability = { mode = "batched", max_records =
/// 64, max_delay = "5ms" }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Never sync; the OS writes back when it likes. A power loss may lose
    /// any recent write, and may leave a file empty or torn: the stores'
    /// checksums catch that (a cache miss; a queue's cut tail).
    None,
    /// Sync data before it is made final, and never wait for the disk
    /// otherwise: a file replaced by rename has its data synced first (after
    /// a power loss it holds the old contents or the new, or is missing,
    /// never damaged), and an append log syncs a file when it closes it and
    /// when the store is closed. A power loss may lose recent writes.
    Flush,
    /// As [`Flush`](Self::Flush), and everything written is synced once
    /// `max_records` writes were made since the last sync, or at the first
    /// write `max_delay` or more after it (and when the store is closed): a
    /// power loss loses at most that window.
    Batched {
        /// Writes between two syncs.
        max_records: u32,
        /// How long after the last sync the next write syncs (`"100ms"`; a
        /// plain number is seconds).
        max_delay: Duration,
    },
    /// Sync every write, and the directory it changed, before the call
    /// returns: nothing acknowledged is lost. The slowest.
    EachWrite,
}

/// The names of the policies without settings, as configuration writes them.
const NAMES: [&str; 4] = ["none", "flush", "batched", "each_write"];

/// A policy written as a table with its `mode` (empty struct variants, not
/// unit ones: serde lets a unit variant of a tagged enum ignore stray keys).
#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum Tagged {
    None {},
    Flush {},
    Batched {
        max_records: u32,
        max_delay: Duration,
    },
    EachWrite {},
}

impl From<Tagged> for Durability {
    fn from(t: Tagged) -> Self {
        match t {
            Tagged::None {} => Self::None,
            Tagged::Flush {} => Self::Flush,
            Tagged::Batched {
                max_records,
                max_delay,
            } => Self::Batched {
                max_records,
                max_delay,
            },
            Tagged::EachWrite {} => Self::EachWrite,
        }
    }
}

/// A name for a policy without settings, a table for a batched one: what a
/// person would write.
impl Serialize for Durability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::None => s.serialize_str("none"),
            Self::Flush => s.serialize_str("flush"),
            Self::EachWrite => s.serialize_str("each_write"),
            Self::Batched {
                max_records,
                max_delay,
            } => Tagged::Batched {
                max_records,
                max_delay,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Durability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;

        impl<'de> Visitor<'de> for Either {
            type Value = Durability;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"none\", \"flush\", \"each_write\", or a table with `mode` \
                     (\"batched\" with `max_records` and `max_delay`)",
                )
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Durability, E> {
                match name {
                    "none" => Ok(Durability::None),
                    "flush" => Ok(Durability::Flush),
                    "each_write" => Ok(Durability::EachWrite),
                    "batched" => Err(E::custom(
                        "`batched` needs its settings: a table with `mode`, `max_records` and `max_delay`",
                    )),
                    other => Err(E::unknown_variant(other, &NAMES)),
                }
            }

            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Durability, M::Error> {
                Tagged::deserialize(de::value::MapAccessDeserializer::new(map)).map(Into::into)
            }
        }

        d.deserialize_any(Either)
    }
}

/// Counts a store's writes since its last sync and says when its
/// [`Durability`] wants the next one.
///
/// Time is read from a [`Clock`], so a test drives a batched store's
/// `max_delay` with a manual clock instead of waiting for it.
#[derive(Debug)]
pub struct SyncSchedule {
    durability: Durability,
    clock: Clock,
    unsynced: u32,
    /// Whether anything was written since the last sync (a write that does
    /// not count towards `max_records`, a removal, say, counts here).
    dirty: bool,
    last_sync: u64,
}

impl SyncSchedule {
    /// A schedule for `durability`, its time read from `clock`.
    #[must_use]
    pub fn new(durability: Durability, clock: Clock) -> Self {
        let last_sync = clock.now_nanos();
        Self {
            durability,
            clock,
            unsynced: 0,
            dirty: false,
            last_sync,
        }
    }

    /// Notes a write of `records` records (0 for one that does not count
    /// towards a batch's `max_records`, such as a removal); returns whether
    /// the policy wants a sync now. Call [`synced`](Self::synced) after it.
    pub fn wrote(&mut self, records: u32) -> bool {
        self.unsynced = self.unsynced.saturating_add(records);
        self.dirty = true;
        match self.durability {
            Durability::EachWrite => true,
            Durability::Batched {
                max_records,
                max_delay,
            } => {
                let since = self.clock.now_nanos().saturating_sub(self.last_sync);
                self.unsynced >= max_records || u128::from(since) >= max_delay.as_std().as_nanos()
            }
            Durability::None | Durability::Flush => false,
        }
    }

    /// Notes a sync of everything written so far.
    pub fn synced(&mut self) {
        self.unsynced = 0;
        self.dirty = false;
        self.last_sync = self.clock.now_nanos();
    }

    /// Whether writes since the last sync wait for one that the policy owes
    /// them when the store is closed (every policy but
    /// [`None`](Durability::None)).
    #[must_use]
    pub fn owes_sync(&self) -> bool {
        self.dirty && self.durability != Durability::None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

    use super::*;
    use crate::time::ManualClock;

    #[test]
    fn names_and_tables_both_read_and_each_policy_round_trips() {
        for (json, want) in [
            (r#""none""#, Durability::None),
            (r#""flush""#, Durability::Flush),
            (r#""each_write""#, Durability::EachWrite),
            (r#"{"mode":"flush"}"#, Durability::Flush),
            (r#"{"mode":"each_write"}"#, Durability::EachWrite),
            (
                r#"{"mode":"batched","max_records":64,"max_delay":"5ms"}"#,
                Durability::Batched {
                    max_records: 64,
                    max_delay: Duration::from_millis(5),
                },
            ),
        ] {
            let read: Durability = serde_json::from_str(json).unwrap();
            assert_eq!(read, want, "{json}");
            let back: Durability =
                serde_json::from_value(serde_json::to_value(read).unwrap()).unwrap();
            assert_eq!(back, want);
        }
        assert_eq!(
            serde_json::to_value(Durability::Flush).unwrap(),
            serde_json::json!("flush")
        );
    }

    #[test]
    fn unknown_names_keys_and_a_bare_batched_are_refused_with_the_choices() {
        let error = serde_json::from_str::<Durability>(r#""fsync""#).unwrap_err();
        assert!(error.to_string().contains("each_write"), "{error}");
        let error = serde_json::from_str::<Durability>(r#""batched""#).unwrap_err();
        assert!(error.to_string().contains("max_records"), "{error}");
        for bad in [
            r#"{"mode":"batched","max_records":1,"max_delay_ms":5}"#,
            r#"{"mode":"none","max_records":1}"#,
            r#"{"mode":"fsync"}"#,
            "3",
        ] {
            assert!(serde_json::from_str::<Durability>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_batch_is_due_by_count_or_by_delay_and_each_write_always() {
        let manual = ManualClock::new();
        let mut batch = SyncSchedule::new(
            Durability::Batched {
                max_records: 3,
                max_delay: Duration::from_secs(1),
            },
            manual.clock(),
        );
        assert!(!batch.wrote(1) && !batch.wrote(1));
        assert!(batch.wrote(1), "the third record");
        batch.synced();
        assert!(!batch.owes_sync());
        assert!(!batch.wrote(0), "a removal alone is not due");
        assert!(batch.owes_sync());
        manual.advance(std::time::Duration::from_secs(1));
        assert!(batch.wrote(1), "the delay has passed");

        let mut each = SyncSchedule::new(Durability::EachWrite, manual.clock());
        assert!(each.wrote(0) && each.wrote(1));
        for lazy in [Durability::None, Durability::Flush] {
            let mut never = SyncSchedule::new(lazy, manual.clock());
            assert!(!never.wrote(u32::MAX));
            assert_eq!(never.owes_sync(), lazy == Durability::Flush);
        }
    }
}
