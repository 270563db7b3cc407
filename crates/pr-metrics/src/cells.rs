//! The atomic cells behind every series: a sharded counter, a gauge, and a
//! fixed-bucket histogram with statistics and a quantile sketch.
//!
//! Nothing here takes a lock or allocates on the recording path.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::exemplar::{Exemplar, Exemplars};
use crate::sketch::WindowSketch;

/// One cache line, so that shards written by different threads do not share one.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded(AtomicU64);

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// A small number, distinct for each of the first threads that ask, used
/// to pick a counter shard.
#[inline]
fn thread_index() -> usize {
    THREAD_INDEX.with(|index| {
        let value = index.get();
        if value == usize::MAX {
            let value = NEXT_THREAD.fetch_add(1, Relaxed);
            index.set(value);
            value
        } else {
            value
        }
    })
}

/// How many shards a counter has: enough for the machine's threads, at least 4, at most 32.
fn shard_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(4, std::num::NonZero::get)
            .next_power_of_two()
            .clamp(4, 32)
    })
}

/// A monotonic counter split over cache-line-padded shards: threads add to
/// their own shard, a reader sums them. Exact under any contention.
#[derive(Debug)]
pub(crate) struct CounterCell {
    shards: Box<[Padded]>,
    mask: usize,
    /// The last increment's exemplar (one slot), when the registry has a source.
    exemplar: Option<Exemplars>,
}

impl CounterCell {
    pub(crate) fn new(exemplar: Option<Exemplars>) -> Self {
        let n = shard_count();
        Self {
            shards: (0..n).map(|_| Padded::default()).collect(),
            mask: n - 1,
            exemplar,
        }
    }

    /// Adds `value`, an event of the caller's: it may carry an exemplar.
    #[inline]
    pub(crate) fn add(&self, value: u64) {
        self.add_quietly(value);
        if let Some(exemplar) = &self.exemplar {
            exemplar.offer(0, value as f64);
        }
    }

    #[inline]
    fn add_quietly(&self, value: u64) {
        if let Some(shard) = self.shards.get(thread_index() & self.mask) {
            shard.0.fetch_add(value, Relaxed);
        }
    }

    /// Raises the counter to `value` if it is lower (a counter never goes
    /// down). No exemplar: the jump mirrors a total kept elsewhere, not an
    /// event of the current trace.
    pub(crate) fn absolute(&self, value: u64) {
        let current = self.value();
        if value > current {
            self.add_quietly(value - current);
        }
    }

    /// The last increment's exemplar, if any.
    pub(crate) fn exemplar(&self) -> Option<Exemplar> {
        self.exemplar.as_ref()?.get(0)
    }

    pub(crate) fn value(&self) -> u64 {
        self.shards
            .iter()
            .fold(0u64, |sum, shard| sum.wrapping_add(shard.0.load(Relaxed)))
    }
}

impl metrics::CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.add(value);
    }

    fn absolute(&self, value: u64) {
        Self::absolute(self, value);
    }
}

/// Adds to an `f64` stored as bits.
#[inline]
fn add_f64(cell: &AtomicU64, value: f64) {
    let mut current = cell.load(Relaxed);
    loop {
        let next = (f64::from_bits(current) + value).to_bits();
        match cell.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

/// A gauge: an `f64` stored as bits.
#[derive(Debug)]
pub(crate) struct GaugeCell(AtomicU64);

impl GaugeCell {
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(0f64.to_bits()))
    }

    #[inline]
    pub(crate) fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Relaxed);
    }

    #[inline]
    pub(crate) fn add(&self, value: f64) {
        add_f64(&self.0, value);
    }

    pub(crate) fn value(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }

    /// The raw bits, to tell whether the gauge changed.
    pub(crate) fn bits(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

impl metrics::GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.add(value);
    }

    fn decrement(&self, value: f64) {
        self.add(-value);
    }

    fn set(&self, value: f64) {
        Self::set(self, value);
    }
}

/// A histogram: fixed cumulative buckets (the Prometheus view), sum, sum of
/// squares, min and max (statistics since creation), and a rolling-window
/// sketch for quantiles. Memory is fixed at creation.
#[derive(Debug)]
pub(crate) struct HistogramCell {
    /// Upper bounds, finite and strictly increasing; `+Inf` is implicit.
    bounds: std::sync::Arc<[f64]>,
    /// Per-bucket (non-cumulative) counts; one more than `bounds` for `+Inf`.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    sum_of_squares: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    pub(crate) sketch: WindowSketch,
    /// The last exemplar per bucket, when the registry has a source.
    exemplars: Option<Exemplars>,
}

/// Everything a histogram knows, read at one moment.
#[derive(Clone, Debug, Default)]
pub(crate) struct HistogramRead {
    /// Cumulative counts per finite bound.
    pub(crate) cumulative: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) sum_of_squares: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl HistogramCell {
    pub(crate) fn new(
        bounds: std::sync::Arc<[f64]>,
        sketch: WindowSketch,
        exemplars: Option<Exemplars>,
    ) -> Self {
        Self {
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            bounds,
            sum: AtomicU64::new(0f64.to_bits()),
            sum_of_squares: AtomicU64::new(0f64.to_bits()),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
            sketch,
            exemplars,
        }
    }

    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Records one sample. `NaN` is ignored: it has no bucket and would
    /// poison the sum.
    #[inline]
    pub(crate) fn record(&self, value: f64) {
        if value.is_nan() {
            return;
        }
        let index = self.bounds.partition_point(|bound| *bound < value);
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Relaxed);
        }
        if let Some(exemplars) = &self.exemplars {
            exemplars.offer(index, value);
        }
        add_f64(&self.sum, value);
        add_f64(&self.sum_of_squares, value * value);
        if value < f64::from_bits(self.min.load(Relaxed)) {
            self.min
                .fetch_update(Relaxed, Relaxed, |m| {
                    (value < f64::from_bits(m)).then_some(value.to_bits())
                })
                .ok();
        }
        if value > f64::from_bits(self.max.load(Relaxed)) {
            self.max
                .fetch_update(Relaxed, Relaxed, |m| {
                    (value > f64::from_bits(m)).then_some(value.to_bits())
                })
                .ok();
        }
        self.sketch.record(value);
    }

    /// Records `value` `n` times.
    pub(crate) fn record_many(&self, value: f64, n: u64) {
        if value.is_nan() || n == 0 {
            return;
        }
        let index = self.bounds.partition_point(|bound| *bound < value);
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(n, Relaxed);
        }
        if let Some(exemplars) = &self.exemplars {
            exemplars.offer(index, value);
        }
        let times = n as f64;
        add_f64(&self.sum, value * times);
        add_f64(&self.sum_of_squares, value * value * times);
        self.min
            .fetch_update(Relaxed, Relaxed, |m| {
                (value < f64::from_bits(m)).then_some(value.to_bits())
            })
            .ok();
        self.max
            .fetch_update(Relaxed, Relaxed, |m| {
                (value > f64::from_bits(m)).then_some(value.to_bits())
            })
            .ok();
        self.sketch.record_many(value, n);
    }

    /// The exemplar of bucket `index` (`bounds().len()` for `+Inf`), if any.
    pub(crate) fn exemplar(&self, index: usize) -> Option<Exemplar> {
        self.exemplars.as_ref()?.get(index)
    }

    /// The number of samples, cheap enough for expiry checks.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// Reads buckets, count and statistics. The `+Inf` bucket and the count
    /// are the same number by construction.
    pub(crate) fn read(&self) -> HistogramRead {
        let mut cumulative = Vec::with_capacity(self.bounds.len());
        let mut running = 0u64;
        for (i, bucket) in self.buckets.iter().enumerate() {
            running = running.wrapping_add(bucket.load(Relaxed));
            if i < self.bounds.len() {
                cumulative.push(running);
            }
        }
        HistogramRead {
            cumulative,
            count: running,
            sum: f64::from_bits(self.sum.load(Relaxed)),
            sum_of_squares: f64::from_bits(self.sum_of_squares.load(Relaxed)),
            min: f64::from_bits(self.min.load(Relaxed)),
            max: f64::from_bits(self.max.load(Relaxed)),
        }
    }
}

impl metrics::HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        Self::record(self, value);
    }

    fn record_many(&self, value: f64, count: usize) {
        Self::record_many(self, value, count as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_core::time::ManualClock;
    use std::sync::Arc;
    use std::time::Duration;

    fn histogram(bounds: &[f64]) -> HistogramCell {
        HistogramCell::new(
            Arc::from(bounds),
            WindowSketch::new(ManualClock::new().clock(), Duration::from_secs(60), 4),
            None,
        )
    }

    #[test]
    fn counter_sums_shards_and_absolute_never_lowers() {
        let counter = CounterCell::new(None);
        counter.add(3);
        counter.add(4);
        assert_eq!(counter.value(), 7);
        counter.absolute(5);
        assert_eq!(counter.value(), 7);
        counter.absolute(10);
        assert_eq!(counter.value(), 10);
    }

    #[test]
    fn gauge_set_and_add() {
        let gauge = GaugeCell::new();
        gauge.set(2.5);
        gauge.add(-1.0);
        assert!((gauge.value() - 1.5).abs() < f64::EPSILON);
    }

    #[test]
    fn histogram_buckets_are_le_and_cumulative() {
        let h = histogram(&[1.0, 2.0, 5.0]);
        for v in [0.5, 1.0, 1.5, 2.0, 7.0, f64::NAN] {
            h.record(v);
        }
        h.record_many(3.0, 2);
        let read = h.read();
        assert_eq!(read.cumulative, vec![2, 4, 6]);
        assert_eq!(read.count, 7);
        assert!((read.sum - 18.0).abs() < 1e-9);
        assert!((read.min - 0.5).abs() < f64::EPSILON && (read.max - 7.0).abs() < f64::EPSILON);
    }
}
