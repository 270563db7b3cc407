//! Sliding-window limiters: the exact log, and the approximate two-counter
//! window.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_core::sync::lock;
use pr_core::time::Clock;

use super::{Denied, Quota, RateLimiter, RejectCounter};
use crate::Error;

/// Checks the quota of a window limiter: `(limit, window in ns)`.
fn window_of(quota: Quota) -> Result<(u32, u64), Error> {
    let nanos = quota.nanos()?;
    Ok((quota.permits(), nanos.period))
}

fn exceeds(n: u32, limit: u32) -> Result<(), Denied> {
    if n > limit {
        return Err(Denied::ExceedsBurst {
            requested: n,
            burst: limit,
        });
    }
    Ok(())
}

/// A sliding-window log: remembers when each permit was handed out, and
/// admits while fewer than `permits` were handed out in the last `period`.
///
/// Exact (over any window of one period, never more than `permits`), at
/// the cost of memory proportional to the limit: use it for small limits,
/// [`SlidingWindowCounter`](crate::rate::SlidingWindowCounter) for large ones. The quota's burst is not used.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_core::time::ManualClock;
/// use pr_resilience::rate::{Denied, Quota, RateLimiter, SlidingWindowLog};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let clock = ManualClock::new();
/// let log = SlidingWindowLog::with_clock(Quota::per_minute(2), clock.clock())?;
/// log.check()?;
/// clock.advance(Duration::from_secs(10));
/// log.check()?;
/// assert_eq!(log.check(), Err(Denied::RetryAfter(Duration::from_secs(50))));
/// # Ok(())
/// # }
/// ```
pub struct SlidingWindowLog {
    inner: Arc<WindowInner<LogState>>,
}

struct WindowInner<S> {
    state: Mutex<S>,
    limit: u32,
    window: u64,
    quota: Quota,
    clock: Clock,
    rejected: RejectCounter,
}

#[derive(Default)]
struct LogState {
    /// (time, permits) of each admission in the window, oldest first.
    entries: VecDeque<(u64, u32)>,
    /// Permits in `entries`.
    used: u64,
}

shared_limiter!(SlidingWindowLog, "A log", quota);

impl SlidingWindowLog {
    /// A log on the given clock.
    ///
    /// # Errors
    ///
    /// As [`SlidingWindowLog::new`](crate::rate::SlidingWindowLog::new).
    pub fn with_clock(quota: Quota, clock: Clock) -> Result<Self, Error> {
        let (limit, window) = window_of(quota)?;
        Ok(Self {
            inner: Arc::new(WindowInner {
                state: Mutex::new(LogState::default()),
                limit,
                window,
                quota,
                clock,
                rejected: RejectCounter::new("sliding_log"),
            }),
        })
    }

    fn decide(&self, n: u32, take: bool) -> Result<(), Denied> {
        let inner = &*self.inner;
        exceeds(n, inner.limit)?;
        let now = inner.clock.now_nanos();
        let mut state = lock(&inner.state);
        // Forget admissions that left the window (at `t + window <= now`).
        while let Some(&(at, permits)) = state.entries.front() {
            if at + inner.window > now {
                break;
            }
            state.entries.pop_front();
            state.used -= u64::from(permits);
        }
        let limit = u64::from(inner.limit);
        let n64 = u64::from(n);
        if state.used + n64 <= limit {
            if take && n > 0 {
                state.used += n64;
                match state.entries.back_mut() {
                    Some((at, permits)) if *at == now => *permits += n,
                    _ => state.entries.push_back((now, n)),
                }
            }
            return Ok(());
        }
        // Wait until enough of the oldest admissions have left.
        let mut to_free = state.used + n64 - limit;
        let mut until = now;
        for &(at, permits) in &state.entries {
            until = at + inner.window;
            to_free = to_free.saturating_sub(u64::from(permits));
            if to_free == 0 {
                break;
            }
        }
        drop(state);
        if take {
            inner.rejected.hit();
        }
        Err(Denied::RetryAfter(Duration::from_nanos(until - now)))
    }
}

impl RateLimiter for SlidingWindowLog {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, true)
    }

    fn peek_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, false)
    }

    fn quota(&self) -> Quota {
        self.inner.quota
    }
}

/// The approximate sliding window (Cloudflare's two counters): the count of
/// the current fixed window plus the previous window's count weighted by
/// how much of it the sliding window still covers.
///
/// Constant memory whatever the limit. It assumes the previous window's
/// permits were spread evenly: under steady traffic it admits close to
/// `permits` per period, but a burst at the end of one window followed by
/// steady traffic can make it admit up to `2 × permits` within one period
/// (the price of the approximation; [`SlidingWindowLog`](crate::rate::SlidingWindowLog) is exact). The quota's
/// burst is not used.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_core::time::ManualClock;
/// use pr_resilience::rate::{Quota, RateLimiter, SlidingWindowCounter};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let clock = ManualClock::new();
/// let window = SlidingWindowCounter::with_clock(Quota::per_second(10), clock.clock())?;
/// window.check_n(10)?;
/// assert!(window.check().is_err());
/// // Half-way through the next window, half of the last one still counts.
/// clock.advance(Duration::from_millis(1500));
/// window.check_n(5)?;
/// assert!(window.check().is_err());
/// # Ok(())
/// # }
/// ```
pub struct SlidingWindowCounter {
    inner: Arc<WindowInner<CounterState>>,
}

#[derive(Clone, Copy, Default)]
struct CounterState {
    /// Start of the current fixed window (a multiple of the window).
    start: u64,
    previous: u64,
    current: u64,
}

impl CounterState {
    /// The state as of `now`, the windows moved on.
    fn at(self, now: u64, window: u64) -> Self {
        if now < self.start + window {
            return self;
        }
        let start = now - now % window;
        let previous = if start == self.start + window {
            self.current
        } else {
            0
        };
        Self {
            start,
            previous,
            current: 0,
        }
    }
}

shared_limiter!(SlidingWindowCounter, "A window", quota);

impl SlidingWindowCounter {
    /// A window on the given clock.
    ///
    /// # Errors
    ///
    /// As [`SlidingWindowCounter::new`](crate::rate::SlidingWindowCounter::new).
    pub fn with_clock(quota: Quota, clock: Clock) -> Result<Self, Error> {
        let (limit, window) = window_of(quota)?;
        Ok(Self {
            inner: Arc::new(WindowInner {
                state: Mutex::new(CounterState::default()),
                limit,
                window,
                quota,
                clock,
                rejected: RejectCounter::new("sliding_window"),
            }),
        })
    }

    fn decide(&self, n: u32, take: bool) -> Result<(), Denied> {
        self.decide_at(n, take, self.inner.clock.now_nanos())
    }

    /// [`decide`](Self::decide) with the clock read as `now`: the tests
    /// replay readings taken in one order and locked in another.
    pub(super) fn decide_at(&self, n: u32, take: bool, now: u64) -> Result<(), Denied> {
        let inner = &*self.inner;
        exceeds(n, inner.limit)?;
        let w = u128::from(inner.window);
        let limit = u64::from(inner.limit);
        let n64 = u64::from(n);
        let mut guard = lock(&inner.state);
        // Another thread may have read a later time and moved the window
        // on between this reading and the lock: decide as of its time.
        let now = now.max(guard.start);
        let state = guard.at(now, inner.window);
        let elapsed = u128::from(now - state.start);
        // previous * (w - elapsed) / w + current + n <= limit, in integers.
        let weighted = u128::from(state.previous) * (w - elapsed);
        if weighted + u128::from(state.current + n64) * w <= u128::from(limit) * w {
            if take {
                *guard = CounterState {
                    current: state.current + n64,
                    ..state
                };
            }
            return Ok(());
        }
        if take {
            *guard = state;
        }
        drop(guard);
        if take {
            inner.rejected.hit();
        }
        // The earliest offset `e` into a window at which it passes.
        let at = if state.current + n64 <= limit && state.previous > 0 {
            // Later in this window, as the previous one's weight fades:
            // previous * (w - e) <= (limit - current - n) * w.
            let room = u128::from(limit - state.current - n64) * w;
            state.start + u64::try_from(w - room / u128::from(state.previous)).unwrap_or(0)
        } else {
            // In the next window, where `current` becomes `previous`:
            // current * (w - e) <= (limit - n) * w.
            let room = u128::from(limit - n64) * w;
            let e = w - (room / u128::from(state.current.max(1))).min(w);
            state.start + inner.window + u64::try_from(e).unwrap_or(0)
        };
        Err(Denied::RetryAfter(Duration::from_nanos(
            at.saturating_sub(now),
        )))
    }
}

impl RateLimiter for SlidingWindowCounter {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, true)
    }

    fn peek_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, false)
    }

    fn quota(&self) -> Quota {
        self.inner.quota
    }
}
