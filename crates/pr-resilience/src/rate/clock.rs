//! The clocks a limiter reads: monotonic nanoseconds since the clock's own
//! origin.

/// A monotonic clock for limiters: nanoseconds since the clock's origin.
///
/// Inject a [`ManualClock`](crate::ManualClock) in tests to drive time, or
/// the policies' [`Clock`](crate::Clock) to follow tokio's (pausable) time;
/// [`MonotonicClock`] is the default (the fastest to read).
pub trait LimiterClock: Clone + Send + Sync + 'static {
    /// Nanoseconds since this clock's origin; never goes backwards.
    fn now(&self) -> u64;
}

/// The default clock: the CPU's time-stamp counter where it is reliable
/// (through `quanta`), the OS monotonic clock elsewhere.
#[derive(Clone, Debug)]
pub struct MonotonicClock {
    clock: quanta::Clock,
    origin: u64,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Self { clock, origin }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl LimiterClock for MonotonicClock {
    #[inline]
    fn now(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

impl LimiterClock for crate::Clock {
    /// tokio's time (pausable in tests) or a manual clock's.
    #[inline]
    fn now(&self) -> u64 {
        self.now_nanos()
    }
}

impl LimiterClock for crate::ManualClock {
    #[inline]
    fn now(&self) -> u64 {
        u64::try_from(self.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
