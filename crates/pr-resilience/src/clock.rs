//! The clock every policy reads: tokio's time (paused in tests) or a manual
//! clock that tests advance by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where a policy reads the time and how it waits.
///
/// - [`Clock::system`] (the default) reads the kernel's coarse monotonic
///   clock on Linux (`CLOCK_MONOTONIC_COARSE`: a few nanoseconds a read,
///   but a resolution of one kernel tick, 1 to 10 ms, see
///   [`Clock::resolution`]), the standard monotonic clock elsewhere; it
///   waits with tokio's sleep. That resolution is plenty for open waits,
///   idle eviction and elapsed-time limits; a breaker whose slow-call
///   duration is shorter than ten ticks times its calls on the precise
///   monotonic clock instead (`CLOCK_MONOTONIC`, about 20 ns a read), so a
///   1 ms slow-call duration is measured to the microsecond, never
///   rounded to zero or to a whole tick. Timeouts never read this clock:
///   they are tokio timers.
/// - [`Clock::tokio`] reads `tokio::time::Instant`, so tests on tokio's
///   paused time (`#[tokio::test(start_paused = true)]`) drive the policy
///   with `tokio::time::advance`; each read costs what `Instant::now` costs
///   (about 30 ns here), twice per call on a breaker timing slow calls.
/// - [`ManualClock`] only moves when a test advances it (or sleeps on it),
///   for blocking code and threads.
///
/// Clones share the same time.
#[derive(Clone, Debug)]
pub struct Clock(Source);

#[derive(Clone, Debug)]
enum Source {
    System(u64),
    /// The precise monotonic clock (`CLOCK_MONOTONIC` on Linux).
    Precise(u64),
    Tokio(tokio::time::Instant),
    Manual(Arc<AtomicU64>),
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(target_os = "linux")]
#[inline]
fn system_nanos() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}

#[cfg(target_os = "linux")]
#[inline]
fn precise_nanos() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}

#[cfg(target_os = "linux")]
fn system_resolution() -> Duration {
    let res = rustix::time::clock_getres(rustix::time::ClockId::MonotonicCoarse);
    Duration::new(
        u64::try_from(res.tv_sec).unwrap_or(0),
        u32::try_from(res.tv_nsec).unwrap_or(0),
    )
}

#[cfg(not(target_os = "linux"))]
#[inline]
fn precise_nanos() -> u64 {
    system_nanos()
}

#[cfg(not(target_os = "linux"))]
fn system_resolution() -> Duration {
    Duration::from_nanos(1)
}

#[cfg(not(target_os = "linux"))]
#[inline]
fn system_nanos() -> u64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    nanos(ORIGIN.get_or_init(std::time::Instant::now).elapsed())
}

impl Clock {
    /// The system's monotonic clock (coarse on Linux); waits on tokio's
    /// sleep.
    #[must_use]
    pub fn system() -> Self {
        Self(Source::System(system_nanos()))
    }

    /// The system's precise monotonic clock (`CLOCK_MONOTONIC` on Linux,
    /// about 20 ns a read); waits on tokio's sleep.
    #[must_use]
    pub fn precise() -> Self {
        Self(Source::Precise(precise_nanos()))
    }

    /// The smallest step this clock's readings move by: one kernel tick
    /// for [`Clock::system`] on Linux (1 to 10 ms), 1 ns otherwise.
    #[must_use]
    pub fn resolution(&self) -> Duration {
        match self.0 {
            Source::System(_) => system_resolution(),
            Source::Precise(_) | Source::Tokio(_) | Source::Manual(_) => Duration::from_nanos(1),
        }
    }

    /// The clock to time durations as short as `shortest` with: this one,
    /// or the precise clock when this one's resolution is coarser than a
    /// tenth of `shortest` (at most 10 % error).
    pub(crate) fn for_durations(&self, shortest: Duration) -> Self {
        if self.resolution().saturating_mul(10) > shortest {
            Self::precise()
        } else {
            self.clone()
        }
    }

    /// tokio's clock (the system's monotonic clock unless time is paused).
    #[must_use]
    pub fn tokio() -> Self {
        Self(Source::Tokio(tokio::time::Instant::now()))
    }

    /// Nanoseconds since this clock's origin.
    #[inline]
    #[must_use]
    pub fn now_nanos(&self) -> u64 {
        match &self.0 {
            Source::Tokio(origin) => {
                nanos(tokio::time::Instant::now().saturating_duration_since(*origin))
            }
            Source::System(origin) => system_nanos().saturating_sub(*origin),
            Source::Precise(origin) => precise_nanos().saturating_sub(*origin),
            Source::Manual(now) => now.load(Ordering::Acquire),
        }
    }

    /// Whether this is a [`ManualClock`].
    #[must_use]
    pub fn is_manual(&self) -> bool {
        matches!(self.0, Source::Manual(_))
    }

    /// Waits `wait`: tokio's sleep, or a manual clock moved forward.
    pub async fn sleep(&self, wait: Duration) {
        match &self.0 {
            Source::System(_) | Source::Precise(_) | Source::Tokio(_) => {
                tokio::time::sleep(wait).await;
            }
            Source::Manual(now) => {
                advance(now, wait);
                tokio::task::yield_now().await;
            }
        }
    }

    /// Blocks the thread for `wait`, or moves a manual clock forward.
    pub fn sleep_blocking(&self, wait: Duration) {
        match &self.0 {
            Source::System(_) | Source::Precise(_) | Source::Tokio(_) => {
                std::thread::sleep(wait);
            }
            Source::Manual(now) => {
                advance(now, wait);
            }
        }
    }
}

/// A clock that moves only when told to; clones share the time.
///
/// Sleeping on it ([`Clock::sleep`], [`Clock::sleep_blocking`]) moves it
/// forward by the wait at once, so a blocking retry's backoff sequence runs
/// instantly in a test and reads back exactly.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock at time zero.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the time forward (saturating at `u64::MAX` nanoseconds, 584
    /// years: a huge wait never wraps the clock back to zero).
    pub fn advance(&self, by: Duration) {
        advance(&self.0, by);
    }

    /// The time since zero.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Acquire))
    }

    /// The [`Clock`] policies read.
    #[must_use]
    pub fn clock(&self) -> Clock {
        Clock(Source::Manual(Arc::clone(&self.0)))
    }
}

/// Moves a manual clock forward, saturating.
fn advance(now: &AtomicU64, by: Duration) {
    let by = nanos(by);
    let _ = now.fetch_update(Ordering::AcqRel, Ordering::Acquire, |at| {
        Some(at.saturating_add(by))
    });
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
#[inline]
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A small, fast, non-cryptographic random source for jitter: one
/// xorshift64* state per thread, seeded from the standard library's random
/// hasher keys.
pub(crate) fn random_f64() -> f64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(0x9E37_79B9_7F4A_7C15);
            hasher.finish() | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        #[expect(
            clippy::cast_precision_loss,
            reason = "53 random bits fit an f64 exactly"
        )]
        let unit = bits as f64 / (1u64 << 53) as f64;
        unit
    })
}
