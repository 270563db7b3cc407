//! GCRA (the generic cell rate algorithm), governor's semantics: one atomic
//! word per limiter holding the theoretical arrival time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pr_core::time::Clock;

use super::{Denied, Quota, RateLimiter, RejectCounter};
use crate::Error;

/// A GCRA rate limiter: one atomic word, lock-free, with a burst.
///
/// It keeps the theoretical arrival time (TAT) of the next permit; taking
/// `n` permits moves it `n` intervals on, and is allowed while it stays
/// within `burst` intervals of now. Over any span of time `w` it admits at
/// most `burst + w / interval` permits. Clones share one state.
///
/// # Examples
///
/// ```
/// use pr_resilience::rate::{Gcra, Quota, RateLimiter};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let limiter = Gcra::new(Quota::per_second(100).with_burst(5))?;
/// let admitted = (0..10).filter(|_| limiter.check().is_ok()).count();
/// assert_eq!(admitted, 5);
/// # Ok(())
/// # }
/// ```
pub struct Gcra {
    inner: Inner,
}

/// The figures live in each handle (copied on clone); only the state, one
/// atomic word, is shared: a check reads it through one pointer.
#[derive(Clone)]
struct Inner {
    tat: Arc<AtomicU64>,
    interval: u64,
    capacity: u64,
    burst: u32,
    quota: Quota,
    clock: Clock,
    rejected: RejectCounter,
}

impl Clone for Gcra {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl std::fmt::Debug for Gcra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gcra")
            .field("quota", &self.inner.quota)
            .finish_non_exhaustive()
    }
}

impl Gcra {
    /// A limiter on the default clock, [`Clock::precise`] (the coarse
    /// clock's ticks would admit a fast quota in bursts).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a quota with no permits, no burst, or
    /// less than a nanosecond per permit.
    pub fn new(quota: Quota) -> Result<Self, Error> {
        Self::with_clock(quota, Clock::precise())
    }
}

impl Gcra {
    /// A limiter on the given clock.
    ///
    /// # Errors
    ///
    /// As [`Gcra::new`](crate::rate::Gcra::new).
    pub fn with_clock(quota: Quota, clock: Clock) -> Result<Self, Error> {
        let nanos = quota.nanos()?;
        Ok(Self {
            inner: Inner {
                tat: Arc::new(AtomicU64::new(0)),
                interval: nanos.interval,
                capacity: nanos.capacity,
                burst: quota.burst(),
                quota,
                clock,
                rejected: RejectCounter::new("gcra"),
            },
        })
    }

    #[inline]
    fn decide(&self, n: u32, take: bool) -> Result<(), Denied> {
        let inner = &self.inner;
        if n > inner.burst {
            return Err(Denied::ExceedsBurst {
                requested: n,
                burst: inner.burst,
            });
        }
        let now = inner.clock.now_nanos();
        let add = u64::from(n) * inner.interval;
        let mut tat = inner.tat.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now) + add;
            let ahead = next - now;
            if ahead > inner.capacity {
                if take {
                    inner.rejected.hit();
                }
                return Err(Denied::RetryAfter(Duration::from_nanos(
                    ahead - inner.capacity,
                )));
            }
            if !take {
                return Ok(());
            }
            match inner
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }
}

impl Gcra {
    /// One permit: the hot path, with no burst check (one permit always
    /// fits a burst of at least one) and no multiplication.
    #[inline]
    fn check_one(&self) -> Result<(), Denied> {
        let inner = &self.inner;
        let now = inner.clock.now_nanos();
        let mut tat = inner.tat.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now) + inner.interval;
            if next - now > inner.capacity {
                inner.rejected.hit();
                return Err(Denied::RetryAfter(Duration::from_nanos(
                    next - now - inner.capacity,
                )));
            }
            match inner
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }
}

impl RateLimiter for Gcra {
    #[inline]
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, true)
    }

    fn peek_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, false)
    }

    fn quota(&self) -> Quota {
        self.inner.quota
    }

    #[inline]
    fn check(&self) -> Result<(), Denied> {
        self.check_one()
    }
}
