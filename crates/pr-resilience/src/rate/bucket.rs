//! Token bucket (capacity and refill) and leaky bucket (smooth output).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_core::time::Clock;

use super::{Denied, Quota, RateLimiter, RejectCounter};
use crate::Error;

use pr_core::sync::lock;

/// Figures shared by the two buckets.
struct Shape {
    interval: u64,
    capacity: u64,
    burst: u32,
    quota: Quota,
}

impl Shape {
    fn new(quota: Quota) -> Result<Self, Error> {
        let nanos = quota.nanos()?;
        Ok(Self {
            interval: nanos.interval,
            capacity: nanos.capacity,
            burst: quota.burst(),
            quota,
        })
    }

    fn too_many(&self, n: u32) -> Result<u64, Denied> {
        if n > self.burst {
            return Err(Denied::ExceedsBurst {
                requested: n,
                burst: self.burst,
            });
        }
        Ok(u64::from(n) * self.interval)
    }
}

/// A token bucket: holds up to `burst` tokens, refilled one every
/// `interval`; a permit takes a token. Starts full.
///
/// Tokens are counted in nanoseconds of refill time, so refill is exact.
/// Over any span `w` it admits at most `burst + w / interval`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_core::time::ManualClock;
/// use pr_resilience::rate::{Quota, RateLimiter, TokenBucket};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let clock = ManualClock::new();
/// let bucket = TokenBucket::with_clock(Quota::per_second(10).with_burst(2), clock.clock())?;
/// assert!(bucket.check_n(2).is_ok());
/// assert!(bucket.check().is_err());
/// clock.advance(Duration::from_millis(100));
/// assert!(bucket.check().is_ok());
/// # Ok(())
/// # }
/// ```
pub struct TokenBucket {
    inner: Arc<BucketInner<TokenState>>,
}

struct BucketInner<S> {
    state: Mutex<S>,
    shape: Shape,
    clock: Clock,
    rejected: RejectCounter,
}

#[derive(Clone, Copy)]
struct TokenState {
    /// Tokens, in nanoseconds of refill (`tokens * interval`), at `last`.
    credit: u64,
    last: u64,
}

shared_limiter!(TokenBucket, "A full bucket", shape.quota);

impl TokenBucket {
    /// A full bucket on the given clock.
    ///
    /// # Errors
    ///
    /// As [`TokenBucket::new`](crate::rate::TokenBucket::new).
    pub fn with_clock(quota: Quota, clock: Clock) -> Result<Self, Error> {
        let shape = Shape::new(quota)?;
        let now = clock.now_nanos();
        Ok(Self {
            inner: Arc::new(BucketInner {
                state: Mutex::new(TokenState {
                    credit: shape.capacity,
                    last: now,
                }),
                shape,
                clock,
                rejected: RejectCounter::new("token_bucket"),
            }),
        })
    }

    /// Whole tokens in the bucket now.
    #[must_use]
    pub fn available(&self) -> u32 {
        let inner = &*self.inner;
        let now = inner.clock.now_nanos();
        let state = *lock(&inner.state);
        let credit = refill(state, now, inner.shape.capacity);
        u32::try_from(credit / inner.shape.interval).unwrap_or(u32::MAX)
    }

    fn decide(&self, n: u32, take: bool) -> Result<(), Denied> {
        let inner = &*self.inner;
        let need = inner.shape.too_many(n)?;
        let now = inner.clock.now_nanos();
        let mut state = lock(&inner.state);
        let credit = refill(*state, now, inner.shape.capacity);
        if credit < need {
            drop(state);
            if take {
                inner.rejected.hit();
            }
            return Err(Denied::RetryAfter(Duration::from_nanos(need - credit)));
        }
        if take {
            *state = TokenState {
                credit: credit - need,
                last: now.max(state.last),
            };
        }
        Ok(())
    }
}

/// The credit at `now`: what was there plus the refill since, up to the
/// capacity.
fn refill(state: TokenState, now: u64, capacity: u64) -> u64 {
    let elapsed = now.saturating_sub(state.last);
    state.credit.saturating_add(elapsed).min(capacity)
}

impl RateLimiter for TokenBucket {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, true)
    }

    fn peek_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, false)
    }

    fn quota(&self) -> Quota {
        self.inner.shape.quota
    }
}

/// A leaky bucket as a queue: permits leave one every `interval`, evenly
/// spaced, and up to `burst` permits may wait in the bucket.
///
/// [`check`](crate::rate::RateLimiter::check) admits a call only when the bucket is empty
/// (its output is smooth: never two permits less than an interval apart);
/// [`reserve_n`](Self::reserve_n) queues permits and says how long the
/// caller waits for its turn, and [`until_n_ready`](crate::rate::RateLimiter::until_n_ready)
/// waits for it: callers leave the bucket spaced by the interval.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_core::time::ManualClock;
/// use pr_resilience::rate::{LeakyBucket, Quota, RateLimiter};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let clock = ManualClock::new();
/// let bucket = LeakyBucket::with_clock(Quota::per_second(10).with_burst(3), clock.clock())?;
/// assert_eq!(bucket.reserve_n(1), Ok(Duration::ZERO));
/// assert_eq!(bucket.reserve_n(1), Ok(Duration::from_millis(100)));
/// assert_eq!(bucket.reserve_n(1), Ok(Duration::from_millis(200)));
/// assert!(bucket.reserve_n(1).is_err()); // the bucket is full
/// assert!(bucket.check().is_err()); // and not empty
/// # Ok(())
/// # }
/// ```
pub struct LeakyBucket {
    inner: Arc<BucketInner<u64>>,
}

shared_limiter!(LeakyBucket, "An empty bucket", shape.quota);

impl LeakyBucket {
    /// An empty bucket on the given clock.
    ///
    /// # Errors
    ///
    /// As [`LeakyBucket::new`](crate::rate::LeakyBucket::new).
    pub fn with_clock(quota: Quota, clock: Clock) -> Result<Self, Error> {
        let shape = Shape::new(quota)?;
        Ok(Self {
            inner: Arc::new(BucketInner {
                // The time at which the bucket is empty again.
                state: Mutex::new(0),
                shape,
                clock,
                rejected: RejectCounter::new("leaky_bucket"),
            }),
        })
    }

    /// Queues `n` permits and returns how long the caller waits for its
    /// turn (zero when the bucket is empty).
    ///
    /// # Errors
    ///
    /// [`Denied::RetryAfter`](crate::rate::Denied::RetryAfter) when the bucket has no room for `n` more, with
    /// the wait until it has; [`Denied::ExceedsBurst`](crate::rate::Denied::ExceedsBurst) when `n` is more
    /// than the burst.
    pub fn reserve_n(&self, n: u32) -> Result<Duration, Denied> {
        let inner = &*self.inner;
        let add = inner.shape.too_many(n)?;
        let now = inner.clock.now_nanos();
        let mut empty_at = lock(&inner.state);
        let start = (*empty_at).max(now);
        let level = start - now + add;
        if level > inner.shape.capacity {
            drop(empty_at);
            inner.rejected.hit();
            return Err(Denied::RetryAfter(Duration::from_nanos(
                level - inner.shape.capacity,
            )));
        }
        *empty_at = start + add;
        Ok(Duration::from_nanos(start - now))
    }

    fn decide(&self, n: u32, take: bool) -> Result<(), Denied> {
        let inner = &*self.inner;
        let add = inner.shape.too_many(n)?;
        let now = inner.clock.now_nanos();
        let mut empty_at = lock(&inner.state);
        if *empty_at > now {
            let wait = *empty_at - now;
            drop(empty_at);
            if take {
                inner.rejected.hit();
            }
            return Err(Denied::RetryAfter(Duration::from_nanos(wait)));
        }
        if take {
            *empty_at = now + add;
        }
        Ok(())
    }
}

impl RateLimiter for LeakyBucket {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, true)
    }

    fn peek_n(&self, n: u32) -> Result<(), Denied> {
        self.decide(n, false)
    }

    fn quota(&self) -> Quota {
        self.inner.shape.quota
    }

    /// Queues the permits and waits for their turn: callers leave evenly
    /// spaced.
    async fn until_n_ready(&self, n: u32) -> Result<(), Denied> {
        loop {
            match self.reserve_n(n) {
                Ok(wait) => {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    return Ok(());
                }
                Err(Denied::RetryAfter(wait)) => tokio::time::sleep(wait).await,
                Err(other) => return Err(other),
            }
        }
    }
}
