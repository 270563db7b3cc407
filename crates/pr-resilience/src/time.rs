//! pr-resilience's helpers over [`pr_core::time::Clock`]: durations as
//! nanoseconds and the clock to time short durations with. (Jitter and chaos
//! rates draw from `fastrand`.)

use std::time::Duration;

/// The clock to time durations as short as `shortest` with: `clock`, or the
/// precise clock when `clock`'s resolution is coarser than a tenth of
/// `shortest` (at most 10 % error).
#[cfg(feature = "breaker")]
pub(crate) fn for_durations(
    clock: &pr_core::time::Clock,
    shortest: Duration,
) -> pr_core::time::Clock {
    if clock.resolution().saturating_mul(10) > shortest {
        pr_core::time::Clock::precise()
    } else {
        clock.clone()
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
#[cfg(any(feature = "breaker", feature = "retry"))]
#[inline]
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
