//! Injectable clocks: expiry, refresh ages and load times read the time
//! through a [`Clock`] so that tests drive time instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A source of time: a monotonic instant for the memory cache and a wall
/// clock for the file cache (whose entries outlive the process).
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current monotonic time.
    fn instant(&self) -> Instant;
    /// The current wall-clock time.
    fn wall(&self) -> SystemTime;
}

/// The system's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<ManualInner>);

#[derive(Debug)]
struct ManualInner {
    instant: Instant,
    wall: SystemTime,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock stopped at the current time.
    #[must_use]
    pub fn new() -> Self {
        Self(Arc::new(ManualInner {
            instant: Instant::now(),
            wall: SystemTime::now(),
            offset_nanos: AtomicU64::new(0),
        }))
    }

    /// Moves the clock forward by `by` (both the instant and the wall time).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: a huge advance never wraps the clock back to the start.
        let _ = self
            .0
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(nanos))
            });
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.0.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn instant(&self) -> Instant {
        self.0.instant + self.offset()
    }

    fn wall(&self) -> SystemTime {
        self.0.wall + self.offset()
    }
}

/// Milliseconds since the Unix epoch of a wall-clock time (0 before it).
pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
