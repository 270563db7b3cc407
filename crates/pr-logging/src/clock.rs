//! Injectable wall clocks: rotation, retention and level overrides read the
//! time through a [`Clock`] so that tests drive time instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's real-time clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock stopped at `start`.
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// A clock stopped at `secs` seconds after the Unix epoch.
    #[must_use]
    pub fn at_unix(secs: u64) -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = pr_core::sync::lock(&self.0);
        *now += by;
    }

    /// Sets the clock to `to` (it may go backwards, as a wall clock can).
    pub fn set(&self, to: SystemTime) {
        *pr_core::sync::lock(&self.0) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *pr_core::sync::lock(&self.0)
    }
}
