//! The clock every policy reads: tokio's time (paused in tests) or a manual
//! clock that tests advance by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where a policy reads the time and how it waits.
///
/// - [`Clock::system`] (the default) reads the kernel's coarse monotonic
///   clock on Linux (`CLOCK_MONOTONIC_COARSE`: a few nanoseconds, a
///   resolution of a few milliseconds, plenty for slow-call durations and
///   open waits), the standard monotonic clock elsewhere; it waits with
///   tokio's sleep.
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
            Source::System(_) | Source::Tokio(_) => tokio::time::sleep(wait).await,
            Source::Manual(now) => {
                now.fetch_add(nanos(wait), Ordering::AcqRel);
                tokio::task::yield_now().await;
            }
        }
    }

    /// Blocks the thread for `wait`, or moves a manual clock forward.
    pub fn sleep_blocking(&self, wait: Duration) {
        match &self.0 {
            Source::System(_) | Source::Tokio(_) => std::thread::sleep(wait),
            Source::Manual(now) => {
                now.fetch_add(nanos(wait), Ordering::AcqRel);
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

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(nanos(by), Ordering::AcqRel);
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
