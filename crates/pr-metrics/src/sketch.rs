//! A bounded quantile sketch over a rolling window.
//!
//! Samples are counted in log-linear buckets: each power of two between
//! 2^-32 (≈ 2.3e-10) and 2^32 (≈ 4.3e9) is split into 16 equal sub-buckets,
//! 1 024 buckets in all, plus one for smaller values (zero and negatives) and
//! one for larger ones. A quantile is the midpoint of the bucket holding the
//! sample of that rank, clamped to the histogram's min and max, so for
//! samples inside that range its **relative error is at most 1/32 (3.125 %)**
//! of the exact nearest-rank quantile of the window. Counting is exact; only
//! the value is rounded.
//!
//! The window is a ring of `slices` slots of `window / slices` each; a slot
//! is allocated (4 KiB) on its first sample and reused after, so a series
//! never holds more than `slices × 4 KiB` whatever the sample or scrape
//! rate. The ring turns when the sketch is read (a scrape, a snapshot, or
//! [`Registry::upkeep`](crate::Registry::upkeep)), by the time the clock
//! says has passed; samples recorded since the previous read stay in the
//! window as its newest completed slice.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::Clock;

const SUB_BITS: u32 = 4;
const SUBS: usize = 1 << SUB_BITS;
const MIN_EXP: i32 = -32;
const MAX_EXP: i32 = 32;
const EXPONENTS: usize = (MAX_EXP - MIN_EXP) as usize;
/// Underflow, the log-linear buckets, overflow.
pub(crate) const BUCKETS: usize = EXPONENTS * SUBS + 2;
/// The sketch's worst relative error inside its range.
pub const QUANTILE_RELATIVE_ERROR: f64 = 1.0 / 32.0;

/// The bucket index of a value.
#[inline]
fn index_of(value: f64) -> usize {
    // 2^MIN_EXP and 2^MAX_EXP as f64 literals.
    const LOW: f64 = 1.0 / 4_294_967_296.0;
    const HIGH: f64 = 4_294_967_296.0;
    if value.is_nan() || value < LOW {
        return 0;
    }
    if value >= HIGH {
        return BUCKETS - 1;
    }
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let sub = ((bits >> (52 - SUB_BITS)) & (SUBS as u64 - 1)) as usize;
    let octave = (exponent - MIN_EXP) as usize;
    1 + octave * SUBS + sub
}

/// The value a bucket stands for: the midpoint of its range.
fn value_of(index: usize) -> f64 {
    match index {
        0 => 0.0,
        i if i >= BUCKETS - 1 => f64::INFINITY,
        i => {
            let octave = (i - 1) / SUBS;
            let sub = (i - 1) % SUBS;
            let base = 2f64.powi(octave as i32 + MIN_EXP);
            let lower = base * (1.0 + sub as f64 / SUBS as f64);
            let upper = base * (1.0 + (sub + 1) as f64 / SUBS as f64);
            f64::midpoint(lower, upper)
        }
    }
}

type Counts = Box<[AtomicU32]>;

/// Quantiles over a rolling window, in bounded memory.
#[derive(Debug)]
pub(crate) struct WindowSketch {
    clock: Clock,
    slice: Duration,
    slots: Box<[OnceLock<Counts>]>,
    current: AtomicUsize,
    /// When the current slot began.
    started: Mutex<Duration>,
}

impl WindowSketch {
    /// A sketch over `window`, turned in `slices` steps (at least 2).
    pub(crate) fn new(clock: Clock, window: Duration, slices: u32) -> Self {
        let slices = slices.max(2);
        let started = clock.elapsed();
        Self {
            clock,
            slice: (window / slices).max(Duration::from_millis(1)),
            slots: (0..slices).map(|_| OnceLock::new()).collect(),
            current: AtomicUsize::new(0),
            started: Mutex::new(started),
        }
    }

    fn counts(&self, slot: usize) -> Option<&Counts> {
        self.slots
            .get(slot)
            .map(|cell| cell.get_or_init(|| (0..BUCKETS).map(|_| AtomicU32::new(0)).collect()))
    }

    #[inline]
    pub(crate) fn record(&self, value: f64) {
        if let Some(counts) = self.counts(self.current.load(Relaxed))
            && let Some(count) = counts.get(index_of(value))
        {
            count.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn record_many(&self, value: f64, n: u64) {
        if let Some(counts) = self.counts(self.current.load(Relaxed))
            && let Some(count) = counts.get(index_of(value))
        {
            count.fetch_add(u32::try_from(n).unwrap_or(u32::MAX), Relaxed);
        }
    }

    /// Turns the ring by the time passed since the current slot began.
    pub(crate) fn rotate(&self) {
        let now = self.clock.elapsed();
        let mut started = pr_core::sync::lock(&self.started);
        let elapsed = now.saturating_sub(*started);
        let turns = elapsed.as_nanos() / self.slice.as_nanos().max(1);
        if turns == 0 {
            return;
        }
        let n = self.slots.len();
        let steps = usize::try_from(turns).unwrap_or(usize::MAX).min(n - 1);
        let current = self.current.load(Relaxed);
        // Clear before publishing: writers only ever touch the current slot.
        for step in 1..=steps {
            if let Some(counts) = self.slots.get((current + step) % n).and_then(OnceLock::get) {
                counts.iter().for_each(|c| c.store(0, Relaxed));
            }
        }
        self.current.store((current + steps) % n, Relaxed);
        *started = if turns >= n as u128 {
            now
        } else {
            *started + self.slice * u32::try_from(turns).unwrap_or(u32::MAX)
        };
    }

    /// The window's quantiles (`qs` in `[0, 1]`), `None` when it is empty.
    /// Turns the ring first.
    pub(crate) fn quantiles(&self, qs: &[f64], min: f64, max: f64) -> Vec<Option<f64>> {
        self.rotate();
        let mut merged = vec![0u64; BUCKETS];
        for slot in self.slots.iter().filter_map(OnceLock::get) {
            for (sum, count) in merged.iter_mut().zip(slot.iter()) {
                *sum += u64::from(count.load(Relaxed));
            }
        }
        let total: u64 = merged.iter().sum();
        qs.iter()
            .map(|&q| {
                if total == 0 {
                    return None;
                }
                let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
                let mut seen = 0;
                let index = merged
                    .iter()
                    .position(|&c| {
                        seen += c;
                        seen >= rank
                    })
                    .unwrap_or(BUCKETS - 1);
                Some(value_of(index).clamp(min.min(max), max.max(min)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_the_relative_error() {
        let mut v = 3e-10;
        while v < 4e9 {
            let estimate = value_of(index_of(v));
            assert!(
                ((estimate - v) / v).abs() <= QUANTILE_RELATIVE_ERROR,
                "{v} -> {estimate}"
            );
            v *= 1.013;
        }
        assert_eq!(index_of(0.0), 0);
        assert_eq!(index_of(-5.0), 0);
        assert_eq!(index_of(1e12), BUCKETS - 1);
    }

    #[test]
    fn window_forgets_old_samples_and_keeps_recent_ones() {
        let clock = pr_core::time::ManualClock::new();
        let sketch = WindowSketch::new(clock.clock(), Duration::from_secs(60), 4);
        for _ in 0..100 {
            sketch.record(1.0);
        }
        assert_eq!(
            sketch.quantiles(&[0.5], 0.0, 100.0),
            vec![Some(value_of(index_of(1.0)))]
        );
        clock.advance(Duration::from_secs(20));
        sketch.rotate();
        for _ in 0..300 {
            sketch.record(10.0);
        }
        // Both slots are inside the window.
        let p = sketch.quantiles(&[0.1, 0.9], 0.0, 100.0);
        assert!((p[0].unwrap() - 1.0).abs() < 0.05 && (p[1].unwrap() - 10.0).abs() < 0.5);
        // Long idle: the slot of the samples recorded since the last read
        // survives as the newest completed one; older slots are cleared.
        clock.advance(Duration::from_secs(600));
        let p = sketch.quantiles(&[0.1], 0.0, 100.0);
        assert!((p[0].unwrap() - 10.0).abs() < 0.5, "{p:?}");
        clock.advance(Duration::from_secs(600));
        assert_eq!(sketch.quantiles(&[0.5], 0.0, 100.0), vec![None]);
    }
}
