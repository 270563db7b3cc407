//! pr-resilience's helpers over [`pr_core::time::Clock`]: durations as
//! nanoseconds, the clock to time short durations with, and jitter.

use std::time::Duration;

use pr_core::time::Clock;

/// The clock to time durations as short as `shortest` with: `clock`, or the
/// precise clock when `clock`'s resolution is coarser than a tenth of
/// `shortest` (at most 10 % error).
pub(crate) fn for_durations(clock: &Clock, shortest: Duration) -> Clock {
    if clock.resolution().saturating_mul(10) > shortest {
        Clock::precise()
    } else {
        clock.clone()
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
