//! Rate limiters behind one trait: GCRA, token bucket, leaky bucket, sliding
//! window (log and approximate counter); keyed limiters with bounded memory;
//! behind features, a tower layer and distributed limiters on Redis.
//!
//! Every limiter answers [`RateLimiter::check`] at once, without waiting: a
//! permit, or a [`Denied`] that says how long until one (the `Retry-After`).
//! [`RateLimiter::until_ready`] waits for a permit on tokio's timer.
//! Quotas read as they are written: [`Quota::per_second(100)`](crate::rate::Quota::per_second)
//! is 100 permits a second, with a burst of 100 unless
//! [`Quota::with_burst`](crate::rate::Quota::with_burst) says otherwise.

use std::future::Future;
use std::time::Duration;

use crate::Error;

/// For a limiter `$ty` whose state sits in `inner: Arc<..>`: `Clone`
/// (another handle on the same state), `Debug` (its quota, at
/// `self.inner.$quota`) and `new` (on the default clock; `$what` opens its
/// doc).
macro_rules! shared_limiter {
    ($ty:ident, $what:literal, $($quota:ident).+) => {
        impl Clone for $ty {
            fn clone(&self) -> Self {
                Self {
                    inner: std::sync::Arc::clone(&self.inner),
                }
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("quota", &self.inner.$($quota).+)
                    .finish_non_exhaustive()
            }
        }

        impl $ty {
            #[doc = concat!($what, " on the default clock, [`Clock::precise`](pr_core::time::Clock::precise).")]
            ///
            /// # Errors
            ///
            /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an
            /// invalid quota.
            pub fn new(quota: super::Quota) -> Result<Self, crate::Error> {
                Self::with_clock(quota, pr_core::time::Clock::precise())
            }
        }
    };
}

pub(crate) mod bucket;
mod gcra;
mod keyed;
#[cfg(feature = "tower")]
mod layer;
#[cfg(feature = "redis")]
mod redis;
mod window;

pub use bucket::{LeakyBucket, TokenBucket};
pub use gcra::Gcra;
pub use keyed::{KeyedLimiter, KeyedLimiterBuilder, KeyedLimiterSnapshot};
#[cfg(feature = "tower")]
pub use layer::{KeyExtractor, OnLimit, RateLimit, RateLimitLayer};
#[cfg(all(feature = "redis", feature = "health"))]
pub use redis::RedisLimiterCheck;
#[cfg(feature = "redis")]
pub use redis::{FailurePolicy, RedisAlgorithm, RedisLimiter, RedisLimiterBuilder};
pub use window::{SlidingWindowCounter, SlidingWindowLog};

/// How many permits a limiter hands out, over which period, and how many it
/// may hand out at once (the burst).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::rate::Quota;
///
/// let quota = Quota::per_second(100).with_burst(10);
/// assert_eq!(quota.permits(), 100);
/// assert_eq!(quota.period(), Duration::from_secs(1));
/// assert_eq!(quota.burst(), 10);
/// assert_eq!(quota.interval(), Duration::from_millis(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    permits: u32,
    period: Duration,
    burst: u32,
}

impl Quota {
    /// `permits` permits every `period`, with a burst of `permits`.
    #[must_use]
    pub const fn new(permits: u32, period: Duration) -> Self {
        Self {
            permits,
            period,
            burst: permits,
        }
    }

    /// `permits` permits a second (burst `permits`).
    #[must_use]
    pub const fn per_second(permits: u32) -> Self {
        Self::new(permits, Duration::from_secs(1))
    }

    /// `permits` permits a minute (burst `permits`).
    #[must_use]
    pub const fn per_minute(permits: u32) -> Self {
        Self::new(permits, Duration::from_secs(60))
    }

    /// `permits` permits an hour (burst `permits`).
    #[must_use]
    pub const fn per_hour(permits: u32) -> Self {
        Self::new(permits, Duration::from_secs(3600))
    }

    /// The same rate with another burst: how many permits may be taken at
    /// once after a quiet spell. The window limiters ([`SlidingWindowLog`],
    /// [`SlidingWindowCounter`]) ignore it: their burst is their limit per window.
    #[must_use]
    pub const fn with_burst(self, burst: u32) -> Self {
        Self { burst, ..self }
    }

    /// Permits per period.
    #[must_use]
    pub const fn permits(&self) -> u32 {
        self.permits
    }

    /// The period.
    #[must_use]
    pub const fn period(&self) -> Duration {
        self.period
    }

    /// The burst.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// Time between two permits at the steady rate (`period / permits`);
    /// zero for a quota with no permits.
    #[must_use]
    pub fn interval(&self) -> Duration {
        if self.permits == 0 {
            return Duration::ZERO;
        }
        self.period / self.permits
    }

    /// Checks the quota and returns its figures in nanoseconds.
    pub(crate) fn nanos(&self) -> Result<QuotaNanos, Error> {
        let invalid = |field: &str, message: String| Error::invalid(field, message);
        if self.permits == 0 {
            return Err(invalid(
                "quota.permits",
                "must be at least 1 (u32 0 given)".into(),
            ));
        }
        if self.burst == 0 {
            return Err(invalid(
                "quota.burst",
                "must be at least 1 (u32 0 given)".into(),
            ));
        }
        let period = u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX);
        let interval = period / u64::from(self.permits);
        if interval == 0 {
            return Err(invalid(
                "quota.period",
                format!(
                    "{:?} is too short for {} permits (less than 1 ns each)",
                    self.period, self.permits
                ),
            ));
        }
        // Keep every sum of times well inside u64: at most ~146 years.
        let limit = 1_u64 << 62;
        let capacity = interval
            .checked_mul(u64::from(self.burst))
            .filter(|c| *c < limit)
            .ok_or_else(|| {
                invalid(
                    "quota.burst",
                    format!(
                        "burst {} of {:?} per permit spans more than 146 years",
                        self.burst,
                        self.interval()
                    ),
                )
            })?;
        if period >= limit {
            return Err(invalid(
                "quota.period",
                format!("{:?} is longer than 146 years", self.period),
            ));
        }
        Ok(QuotaNanos {
            interval,
            capacity,
            period,
        })
    }
}

/// A quota in nanoseconds, checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuotaNanos {
    /// Time per permit.
    pub(crate) interval: u64,
    /// `burst * interval`.
    pub(crate) capacity: u64,
    /// The period (the window of the window limiters).
    pub(crate) period: u64,
}

/// Why a limiter refused a permit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denied {
    /// The permits are available after this wait (the `Retry-After`).
    RetryAfter(Duration),
    /// More permits were asked for at once than the burst: no wait helps.
    ExceedsBurst {
        /// Permits asked for.
        requested: u32,
        /// The limiter's burst.
        burst: u32,
    },
    /// A keyed limiter's key takes more bytes than it may hold for one key
    /// (its shard's share of `max_bytes`): no wait helps.
    KeyTooLarge {
        /// The bytes the key would take, entry included.
        bytes: usize,
        /// The most one key may take.
        max: usize,
    },
}

impl Denied {
    /// The wait until the permits are available; `None` when no wait helps.
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter(wait) => Some(*wait),
            Self::ExceedsBurst { .. } | Self::KeyTooLarge { .. } => None,
        }
    }
}

impl From<Denied> for Error {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::RetryAfter(retry_after) => Self::RateLimited { retry_after },
            Denied::ExceedsBurst { requested, burst } => Self::ExceedsBurst { requested, burst },
            Denied::KeyTooLarge { bytes, max } => Self::RateKeyTooLarge { bytes, max },
        }
    }
}

/// A rate limiter: hands out permits at a quota, answering at once.
///
/// Every limiter of this module implements it ([`Gcra`], [`TokenBucket`],
/// [`LeakyBucket`], [`SlidingWindowLog`], [`SlidingWindowCounter`]); handles are cheap to
/// clone and share one state. Each also implements the pipeline's
/// [`Admission`](crate::admission::Admission) stage.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_core::time::ManualClock;
/// use pr_resilience::rate::{Denied, Gcra, Quota, RateLimiter};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let clock = ManualClock::new();
/// let limiter = Gcra::with_clock(Quota::per_second(2), clock.clock())?;
/// assert!(limiter.check().is_ok());
/// assert!(limiter.check().is_ok());
/// assert_eq!(limiter.check(), Err(Denied::RetryAfter(Duration::from_millis(500))));
/// clock.advance(Duration::from_millis(500));
/// assert!(limiter.peek().is_ok());
/// # Ok(())
/// # }
/// ```
pub trait RateLimiter: Send + Sync {
    /// Takes `n` permits now, or none.
    ///
    /// # Errors
    ///
    /// [`Denied`]: the wait until they are available, or
    /// [`Denied::ExceedsBurst`] when `n` is more than the burst.
    fn check_n(&self, n: u32) -> Result<(), Denied>;

    /// Whether `n` permits would be handed out now, without taking them.
    ///
    /// # Errors
    ///
    /// As [`check_n`](Self::check_n).
    fn peek_n(&self, n: u32) -> Result<(), Denied>;

    /// The limiter's quota.
    fn quota(&self) -> Quota;

    /// Takes one permit now, or none.
    ///
    /// # Errors
    ///
    /// [`Denied::RetryAfter`] with the wait until a permit.
    fn check(&self) -> Result<(), Denied> {
        self.check_n(1)
    }

    /// Whether one permit would be handed out now, without taking it.
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check).
    fn peek(&self) -> Result<(), Denied> {
        self.peek_n(1)
    }

    /// Waits (on tokio's timer) until `n` permits are taken.
    ///
    /// # Errors
    ///
    /// [`Denied::ExceedsBurst`] when `n` is more than the burst.
    fn until_n_ready(&self, n: u32) -> impl Future<Output = Result<(), Denied>> + Send
    where
        Self: Sized,
    {
        async move {
            loop {
                match self.check_n(n) {
                    Ok(()) => return Ok(()),
                    Err(Denied::RetryAfter(wait)) => tokio::time::sleep(wait).await,
                    Err(other) => return Err(other),
                }
            }
        }
    }

    /// Waits (on tokio's timer) until one permit is taken.
    fn until_ready(&self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async move {
            // One permit never exceeds a burst of at least one.
            let _ = self.until_n_ready(1).await;
        }
    }
}

/// A limiter checked per key, in memory ([`KeyedLimiter`]) or over the
/// network (`RedisLimiter`, feature `redis`): what the tower layer
/// (`RateLimitLayer`, feature `tower`) takes.
pub trait KeyedRateLimiter<K: ?Sized>: Clone + Send + Sync + 'static {
    /// Takes `n` permits for `key`, or none.
    ///
    /// # Errors
    ///
    /// [`Error::RateLimited`] with the wait until the permits,
    /// [`Error::ExceedsBurst`], or the limiter's own errors (a distributed
    /// limiter failing closed answers [`Error::LimiterUnavailable`]).
    fn acquire(&self, key: &K, n: u32) -> impl Future<Output = Result<(), Error>> + Send;
}

impl<K> KeyedRateLimiter<K> for KeyedLimiter<K>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
{
    fn acquire(&self, key: &K, n: u32) -> impl Future<Output = Result<(), Error>> + Send {
        std::future::ready(self.check_key_n(key, n).map_err(Error::from))
    }
}

/// Implements [`Admission`](crate::admission::Admission) for a [`RateLimiter`](crate::rate::RateLimiter).
macro_rules! admission_for_limiter {
    ($($limiter:ident),+) => {$(
        impl $crate::admission::Admission for $limiter {
            #[inline]
            fn try_acquire(&self) -> Result<(), $crate::Error> {
                $crate::rate::RateLimiter::check(self).map_err($crate::Error::from)
            }
        }
    )+};
}
admission_for_limiter!(
    Gcra,
    TokenBucket,
    LeakyBucket,
    SlidingWindowLog,
    SlidingWindowCounter
);

/// Counts a refusal through the `metrics` facade (a no-op without the
/// `metrics` feature).
#[derive(Clone, Debug)]
pub(crate) struct RejectCounter {
    #[cfg(feature = "metrics")]
    counter: metrics::Counter,
}

impl RejectCounter {
    /// Registers `pr_resilience_ratelimit_rejected_total{algorithm}` once.
    #[cfg_attr(
        not(feature = "metrics"),
        allow(unused_variables, reason = "the label is used only with metrics")
    )]
    pub(crate) fn new(algorithm: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            metrics::describe_counter!(
                "pr_resilience_ratelimit_rejected_total",
                "Permits a rate limiter refused, by algorithm."
            );
            metrics::describe_counter!(
                "pr_resilience_ratelimit_evicted_keys_total",
                "Keys a keyed rate limiter dropped to stay within its maximum."
            );
        }
        Self {
            #[cfg(feature = "metrics")]
            counter: metrics::counter!(
                "pr_resilience_ratelimit_rejected_total",
                "algorithm" => algorithm
            ),
        }
    }

    /// One more refusal.
    #[inline]
    pub(crate) fn hit(&self) {
        #[cfg(feature = "metrics")]
        self.counter.increment(1);
    }
}

#[cfg(test)]
mod tests;
