//! [`Clock`]: the time source of timers, quantile windows and series expiry.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A monotonic clock plus wall time, real or driven by a test.
///
/// Clones share one time source. The real clock is the default; a manual
/// clock stands still until [`advance`](Self::advance) moves it, so that
/// tests of windows, expiry and timers never sleep.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

/// The wall time a manual clock starts at: 2023-11-14T22:13:20Z.
const MANUAL_EPOCH_SECS: u64 = 1_700_000_000;

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Clock {
    /// The system's monotonic clock and wall time.
    #[must_use]
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still until [`advance`](Self::advance) is called.
    /// Its wall time starts at 1 700 000 000 s after the Unix epoch.
    #[must_use]
    pub fn manual() -> Self {
        Self {
            manual: Some(Arc::new(AtomicU64::new(0))),
        }
    }

    /// Whether this clock is a manual one.
    #[must_use]
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(nanos) = &self.manual {
            let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
            nanos.fetch_add(by, Ordering::Relaxed);
        }
    }

    /// Monotonic time since an arbitrary origin fixed for the process.
    #[must_use]
    pub fn now(&self) -> Duration {
        match &self.manual {
            Some(nanos) => Duration::from_nanos(nanos.load(Ordering::Relaxed)),
            None => origin().elapsed(),
        }
    }

    /// Seconds since the Unix epoch (for `OpenMetrics` `_created`).
    #[must_use]
    pub fn unix_seconds(&self) -> f64 {
        match &self.manual {
            Some(nanos) => {
                MANUAL_EPOCH_SECS as f64
                    + Duration::from_nanos(nanos.load(Ordering::Relaxed)).as_secs_f64()
            }
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            Some(_) => write!(f, "Clock::manual({:?})", self.now()),
            None => f.write_str("Clock::system()"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let other = clock.clone();
        assert_eq!(clock.now(), Duration::ZERO);
        other.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), Duration::from_millis(1500));
        assert!((clock.unix_seconds() - 1_700_000_001.5).abs() < 1e-6);
        assert!(clock.is_manual() && !Clock::system().is_manual());
    }

    #[test]
    fn system_clock_is_monotonic() {
        let clock = Clock::system();
        let a = clock.now();
        clock.advance(Duration::from_secs(100));
        assert!(clock.now() >= a && clock.now() < a + Duration::from_secs(100));
        assert!(clock.unix_seconds() > 1.6e9);
    }
}
