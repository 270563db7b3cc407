//! One clock for the whole toolkit: [`Clock`] reads monotonic time (and wall
//! time) from the system, from tokio's pausable clock, or from a
//! [`ManualClock`] that tests move by hand, so one test can drive a cache, a
//! breaker and a rate limiter with a single clock.
//!
//! - [`Clock::system`] (the default) reads the kernel's coarse monotonic
//!   clock on Linux (`CLOCK_MONOTONIC_COARSE`: a few nanoseconds a read, but
//!   it moves in kernel ticks of 1 to 10 ms, see [`Clock::resolution`]), the
//!   standard monotonic clock elsewhere. Plenty for expiry, idle eviction
//!   and open waits.
//! - [`Clock::precise`] reads the precise monotonic clock: for rate limiters,
//!   timers and short durations. It is `quanta`'s: the CPU's time-stamp
//!   counter scaled to nanoseconds where the counter is invariant (a third
//!   of `clock_gettime`'s cost on the rate limiters' hot path, measured),
//!   the OS monotonic clock elsewhere.
//! - `Clock::tokio` (feature `tokio`) reads `tokio::time::Instant`, so tests
//!   on paused time (`#[tokio::test(start_paused = true)]`) drive it with
//!   `tokio::time::advance`.
//! - [`ManualClock::clock`] only moves when the test advances it (or sleeps
//!   on it).
//!
//! Monotonic readings ([`Clock::now_nanos`], [`Clock::elapsed`]) count from
//! the clock's origin (when it was made; zero for a manual clock) and never
//! go backwards. Wall time ([`Clock::wall`]) is separate and may jump, as a
//! real wall clock can: a manual clock's is set with
//! [`ManualClock::set_wall`].
//!
//! ```
//! use std::time::Duration;
//! use pr_core::time::ManualClock;
//!
//! let manual = ManualClock::at_unix(1_700_000_000);
//! let clock = manual.clock();
//! manual.advance(Duration::from_millis(1500));
//! assert_eq!(clock.elapsed(), Duration::from_millis(1500));
//! assert_eq!(clock.now_nanos(), 1_500_000_000);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Where code reads the time and how it waits; see the [module](self) docs.
///
/// Cheap to clone (a copy, or one reference count for a manual clock);
/// clones share the time and the origin.
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    /// The coarse monotonic clock; the reading at the origin.
    System(u64),
    /// The precise monotonic clock and its raw reading at the origin.
    Precise(quanta::Clock, u64),
    #[cfg(feature = "tokio")]
    Tokio(tokio::time::Instant),
    Manual(Arc<Manual>),
}

/// A manual clock's state, shared by its handles and clocks.
#[derive(Debug)]
struct Manual {
    /// Nanoseconds since zero: the monotonic reading, one atomic load.
    nanos: AtomicU64,
    /// The wall time at a monotonic reading: wall time is that plus the
    /// monotonic time since, so it advances with the clock and can be set
    /// backwards without the monotonic reading ever going back.
    wall: Mutex<(SystemTime, u64)>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::System(_) => f.write_str("Clock::system()"),
            Source::Precise(..) => f.write_str("Clock::precise()"),
            #[cfg(feature = "tokio")]
            Source::Tokio(_) => f.write_str("Clock::tokio()"),
            Source::Manual(m) => write!(
                f,
                "Clock::manual({:?})",
                Duration::from_nanos(m.nanos.load(Ordering::Acquire))
            ),
        }
    }
}

#[cfg(target_os = "linux")]
#[inline]
fn read(id: rustix::time::ClockId) -> u64 {
    let now = rustix::time::clock_gettime(id);
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}

#[cfg(target_os = "linux")]
#[inline]
fn system_nanos() -> u64 {
    read(rustix::time::ClockId::MonotonicCoarse)
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
fn system_nanos() -> u64 {
    // std's Instant has no absolute reading: nanoseconds since a process-wide origin.
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    nanos(ORIGIN.get_or_init(std::time::Instant::now).elapsed())
}

#[cfg(not(target_os = "linux"))]
fn system_resolution() -> Duration {
    Duration::from_nanos(1)
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
#[inline]
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock {
    /// The system's monotonic clock: coarse on Linux
    /// (`CLOCK_MONOTONIC_COARSE`, a few nanoseconds a read, one kernel tick
    /// of resolution), the standard monotonic clock elsewhere. Its origin
    /// is now.
    #[must_use]
    pub fn system() -> Self {
        Self(Source::System(system_nanos()))
    }

    /// The system's precise monotonic clock (`quanta`: the time-stamp
    /// counter where it is invariant, the OS monotonic clock elsewhere; see
    /// the [module](self) docs). Its origin is now.
    #[must_use]
    pub fn precise() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Self(Source::Precise(clock, origin))
    }

    /// tokio's clock: the system's monotonic clock, unless tokio's time is
    /// paused (`#[tokio::test(start_paused = true)]`), when
    /// `tokio::time::advance` moves it. Its origin is now.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[must_use]
    pub fn tokio() -> Self {
        Self(Source::Tokio(tokio::time::Instant::now()))
    }

    /// Monotonic nanoseconds since this clock's origin; never goes
    /// backwards. The hot-path read.
    #[inline]
    #[must_use]
    pub fn now_nanos(&self) -> u64 {
        // The real clocks first: the arm a production read takes.
        match &self.0 {
            Source::System(origin) => system_nanos().saturating_sub(*origin),
            Source::Precise(clock, origin) => clock.delta_as_nanos(*origin, clock.raw()),
            #[cfg(feature = "tokio")]
            Source::Tokio(origin) => {
                nanos(tokio::time::Instant::now().saturating_duration_since(*origin))
            }
            Source::Manual(m) => m.nanos.load(Ordering::Acquire),
        }
    }

    /// Monotonic time since this clock's origin: [`now_nanos`](Self::now_nanos)
    /// as a [`Duration`].
    #[inline]
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    /// The wall-clock time: [`SystemTime::now`], or a manual clock's wall
    /// time (its start plus the time it was advanced by, or what
    /// [`ManualClock::set_wall`] set). Unlike [`now_nanos`](Self::now_nanos)
    /// it may go backwards.
    #[must_use]
    pub fn wall(&self) -> SystemTime {
        match &self.0 {
            Source::Manual(m) => m.wall(),
            _ => SystemTime::now(),
        }
    }

    /// The smallest step this clock's readings move by: one kernel tick for
    /// [`Clock::system`] on Linux (1 to 10 ms), 1 ns otherwise.
    #[must_use]
    pub fn resolution(&self) -> Duration {
        match self.0 {
            Source::System(_) => system_resolution(),
            _ => Duration::from_nanos(1),
        }
    }

    /// Whether this clock is a [`ManualClock`]'s.
    #[must_use]
    pub fn is_manual(&self) -> bool {
        matches!(self.0, Source::Manual(_))
    }

    /// Waits `wait`: tokio's sleep, or, on a manual clock, moves it forward
    /// by `wait` and yields once to the executor (so a retry's back-off runs
    /// at once in a test and reads back exactly).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn sleep(&self, wait: Duration) {
        match &self.0 {
            Source::Manual(m) => {
                m.advance(wait);
                YieldOnce(false).await;
            }
            _ => tokio::time::sleep(wait).await,
        }
    }

    /// Blocks the thread for `wait`, or moves a manual clock forward by it.
    pub fn sleep_blocking(&self, wait: Duration) {
        match &self.0 {
            Source::Manual(m) => m.advance(wait),
            _ => std::thread::sleep(wait),
        }
    }
}

/// A future that is pending once (waking itself), then ready: a yield to the
/// executor that needs no tokio `rt` feature.
#[cfg(feature = "tokio")]
struct YieldOnce(bool);

#[cfg(feature = "tokio")]
impl Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl Manual {
    /// Moves the monotonic time forward, saturating: a huge wait never
    /// wraps the clock back to zero.
    fn advance(&self, by: Duration) {
        let by = nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |at| {
                Some(at.saturating_add(by))
            });
    }

    fn wall(&self) -> SystemTime {
        let (at, mark) = *crate::sync::lock(&self.wall);
        let since = self.nanos.load(Ordering::Acquire).saturating_sub(mark);
        at.checked_add(Duration::from_nanos(since)).unwrap_or(at)
    }
}

/// A clock that moves only when told to: the one manual clock of every
/// crate of the toolkit, for tests. Clones share the time.
///
/// Its monotonic time starts at zero; its wall time starts where it was
/// made ([`ManualClock::new`]: now; [`ManualClock::at`],
/// [`ManualClock::at_unix`]: a given time) and advances with it. Sleeping
/// on its [`clock`](Self::clock) moves it forward by the wait at once.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Manual>);

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock at monotonic time zero whose wall time is now.
    #[must_use]
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A clock at monotonic time zero whose wall time is `wall`.
    #[must_use]
    pub fn at(wall: SystemTime) -> Self {
        Self(Arc::new(Manual {
            nanos: AtomicU64::new(0),
            wall: Mutex::new((wall, 0)),
        }))
    }

    /// A clock at monotonic time zero whose wall time is `secs` seconds
    /// after the Unix epoch.
    #[must_use]
    pub fn at_unix(secs: u64) -> Self {
        Self::at(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the time (monotonic and wall) forward by `by`, saturating at
    /// `u64::MAX` nanoseconds (584 years) rather than wrapping.
    pub fn advance(&self, by: Duration) {
        self.0.advance(by);
    }

    /// Sets the wall time to `to`, which may be earlier than it was (as a
    /// real wall clock stepped back by NTP can be); the monotonic time does
    /// not move. Later advances move the wall time on from `to`.
    pub fn set_wall(&self, to: SystemTime) {
        let mut wall = crate::sync::lock(&self.0.wall);
        *wall = (to, self.0.nanos.load(Ordering::Acquire));
    }

    /// The monotonic time since zero.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.0.nanos.load(Ordering::Acquire))
    }

    /// The [`Clock`] to hand to the code under test; it follows this
    /// manual clock.
    #[must_use]
    pub fn clock(&self) -> Clock {
        Clock(Source::Manual(Arc::clone(&self.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_is_shared_by_its_clones_and_clocks() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let other = clock.clone();
        assert!(clock.is_manual() && !Clock::system().is_manual());
        assert_eq!(clock.now_nanos(), 0);
        manual.clone().advance(Duration::from_millis(1500));
        assert_eq!(other.elapsed(), Duration::from_millis(1500));
        assert_eq!(manual.elapsed(), Duration::from_millis(1500));
        other.sleep_blocking(Duration::from_millis(500));
        assert_eq!(clock.now_nanos(), 2_000_000_000);
        assert_eq!(clock.resolution(), Duration::from_nanos(1));
        assert!(format!("{clock:?}").starts_with("Clock::manual("));
    }

    #[test]
    fn advance_saturates_instead_of_wrapping() {
        let manual = ManualClock::default();
        manual.advance(Duration::from_secs(1));
        manual.advance(Duration::MAX);
        assert_eq!(manual.clock().now_nanos(), u64::MAX);
        manual.advance(Duration::from_secs(1));
        assert_eq!(manual.clock().now_nanos(), u64::MAX);
    }

    #[test]
    fn wall_time_advances_and_can_be_set_back_while_monotonic_time_never_goes_back() {
        let manual = ManualClock::at_unix(1_700_000_000);
        let clock = manual.clock();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(clock.wall(), start);
        manual.advance(Duration::from_secs(10));
        assert_eq!(clock.wall(), start + Duration::from_secs(10));

        let earlier = start - Duration::from_secs(3600);
        manual.set_wall(earlier);
        assert_eq!(clock.wall(), earlier);
        assert_eq!(clock.elapsed(), Duration::from_secs(10));
        manual.advance(Duration::from_secs(5));
        assert_eq!(clock.wall(), earlier + Duration::from_secs(5));
        assert_eq!(clock.elapsed(), Duration::from_secs(15));
        assert_eq!(
            ManualClock::at(earlier).clock().wall(),
            earlier,
            "at() starts at the given wall time"
        );
    }

    #[test]
    fn the_real_clocks_are_monotonic() {
        for clock in [Clock::default(), Clock::system(), Clock::precise()] {
            let a = clock.now_nanos();
            let b = clock.clone().now_nanos();
            assert!(b >= a, "{clock:?}");
            assert!(!clock.is_manual());
            assert!(clock.resolution() >= Duration::from_nanos(1));
            assert!(clock.wall() > SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000));
        }
        assert_eq!(Clock::precise().resolution(), Duration::from_nanos(1));
        assert_eq!(format!("{:?}", Clock::default()), "Clock::system()");
        assert_eq!(format!("{:?}", Clock::precise()), "Clock::precise()");
    }

    #[test]
    fn a_real_clock_sleeps_on_the_thread() {
        let clock = Clock::precise();
        let before = clock.now_nanos();
        clock.sleep_blocking(Duration::ZERO);
        assert!(clock.now_nanos() >= before);
    }

    #[test]
    fn a_precise_clock_shared_by_threads_never_goes_back_on_any_of_them() {
        let clock = Clock::precise();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let clock = clock.clone();
                std::thread::spawn(move || {
                    let mut last = 0;
                    for _ in 0..10_000 {
                        let now = clock.now_nanos();
                        assert!(now >= last, "{now} < {last}");
                        last = now;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let clock = Clock::tokio();
        assert_eq!(clock.now_nanos(), 0);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(3));
        clock.sleep(Duration::from_secs(2)).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(5));
        assert_eq!(format!("{clock:?}"), "Clock::tokio()");
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn sleeping_on_a_manual_clock_advances_it_at_once() {
        let manual = ManualClock::new();
        manual.clock().sleep(Duration::from_secs(60)).await;
        assert_eq!(manual.elapsed(), Duration::from_secs(60));
    }
}
