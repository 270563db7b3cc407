//! Whether an operation that failed may succeed when tried again.

use std::time::Duration;

/// A wait as the delay-seconds of a `Retry-After` header (RFC 9110 §10.2.3):
/// whole seconds, rounded up (a client that waits what it is told is never
/// early), and at least 1 (`0` reads as "at once"). Every `Retry-After` the
/// toolkit writes goes through this one rule.
///
/// ```
/// use std::time::Duration;
/// use pr_errors::retry_after_seconds;
///
/// assert_eq!(retry_after_seconds(Duration::from_millis(1_500)), 2);
/// assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
/// assert_eq!(retry_after_seconds(Duration::ZERO), 1);
/// ```
#[must_use]
pub const fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + (wait.subsec_nanos() > 0) as u64;
    if seconds == 0 { 1 } else { seconds }
}

/// The retry classification of an error.
///
/// Retry policies (`pr-resilience`), HTTP handlers (a `Retry-After` header)
/// and dead-letter queues all read this one value instead of guessing from
/// error types. New classes may be added, so match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryClass {
    /// Trying again later may succeed (a timeout, an open breaker, a full
    /// queue, a rate limit).
    Transient {
        /// How long to wait before trying again, when the error knows
        /// (a rate limiter's refill time, a server's `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Trying again with the same input fails the same way (bad input, a
    /// missing permission, a bug).
    Permanent,
}

impl RetryClass {
    /// Transient, with no known wait.
    pub const TRANSIENT: Self = Self::Transient { retry_after: None };

    /// Transient, to be tried again after `wait`.
    #[must_use]
    pub const fn after(wait: Duration) -> Self {
        Self::Transient {
            retry_after: Some(wait),
        }
    }

    /// Whether trying again may help.
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The wait the error asked for, if any.
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after } => *retry_after,
            Self::Permanent => None,
        }
    }

    /// The class's name, `transient` or `permanent`, for logs and catalogues.
    #[must_use]
    pub const fn class(&self) -> &'static str {
        match self {
            Self::Transient { .. } => "transient",
            Self::Permanent => "permanent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors() {
        let wait = Duration::from_millis(1500);
        assert!(RetryClass::after(wait).is_transient());
        assert_eq!(RetryClass::after(wait).retry_after(), Some(wait));
        assert_eq!(RetryClass::TRANSIENT.retry_after(), None);
        assert!(!RetryClass::Permanent.is_transient());
        assert_eq!(RetryClass::Permanent.retry_after(), None);
        assert_eq!(RetryClass::Permanent.class(), "permanent");
        assert_eq!(RetryClass::TRANSIENT.class(), "transient");
    }
}
