//! Typed handles: [`Counter`], [`Gauge`], [`Histogram`] and the [`Timer`]
//! guard. A handle points straight at its series' cell: recording is a few
//! atomic operations, with no name lookup, lock or allocation.

use std::sync::Arc;
use std::time::Duration;

use crate::cells::{CounterCell, GaugeCell, HistogramCell};
use crate::{Clock, HistogramSnapshot};

/// A monotonic counter. Cheap to clone; clones share the series.
///
/// Increments from many threads land on per-thread cache-line shards, so a
/// contended counter scales and its total stays exact.
#[derive(Clone, Debug)]
pub struct Counter {
    cell: Arc<CounterCell>,
}

impl Counter {
    pub(crate) fn from_cell(cell: Arc<CounterCell>) -> Self {
        Self { cell }
    }

    /// A counter that belongs to no registry (for tests and defaults).
    #[must_use]
    pub fn detached() -> Self {
        Self::from_cell(Arc::new(CounterCell::new(None)))
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.cell.add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        self.cell.add(n);
    }

    /// The current total.
    #[must_use]
    pub fn value(&self) -> u64 {
        self.cell.value()
    }
}

impl From<Counter> for metrics::Counter {
    fn from(counter: Counter) -> Self {
        Self::from_arc(counter.cell)
    }
}

/// A value that goes up and down. Cheap to clone; clones share the series.
#[derive(Clone, Debug)]
pub struct Gauge {
    cell: Arc<GaugeCell>,
}

impl Gauge {
    pub(crate) fn from_cell(cell: Arc<GaugeCell>) -> Self {
        Self { cell }
    }

    /// A gauge that belongs to no registry.
    #[must_use]
    pub fn detached() -> Self {
        Self::from_cell(Arc::new(GaugeCell::new()))
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.cell.set(value);
    }

    /// Adds `delta` (negative to subtract).
    #[inline]
    pub fn add(&self, delta: f64) {
        self.cell.add(delta);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.cell.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.cell.add(-1.0);
    }

    /// The current value.
    #[must_use]
    pub fn value(&self) -> f64 {
        self.cell.value()
    }
}

impl From<Gauge> for metrics::Gauge {
    fn from(gauge: Gauge) -> Self {
        Self::from_arc(gauge.cell)
    }
}

/// A histogram with fixed buckets, statistics and windowed quantiles.
/// Cheap to clone; clones share the series.
#[derive(Clone, Debug)]
pub struct Histogram {
    cell: Arc<HistogramCell>,
    clock: Clock,
}

impl Histogram {
    pub(crate) fn from_cell(cell: Arc<HistogramCell>, clock: Clock) -> Self {
        Self { cell, clock }
    }

    /// Records one sample (`NaN` is ignored).
    #[inline]
    pub fn record(&self, value: f64) {
        self.cell.record(value);
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn record_duration(&self, duration: Duration) {
        self.cell.record(duration.as_secs_f64());
    }

    /// Starts a timer that records the seconds elapsed when dropped.
    pub fn start_timer(&self) -> Timer {
        Timer {
            histogram: Some(self.clone()),
            started: self.clock.elapsed(),
        }
    }

    /// The running figures now: count, sum, mean, min, max, standard
    /// deviation and quantiles (serializable, as in a registry [`Snapshot`](crate::Snapshot)).
    #[must_use]
    pub fn snapshot(&self) -> HistogramSnapshot {
        crate::snapshot::stats(&self.cell)
    }
}

impl From<Histogram> for metrics::Histogram {
    fn from(histogram: Histogram) -> Self {
        Self::from_arc(histogram.cell)
    }
}

/// Records the seconds between its start and its drop into a histogram,
/// on the registry's clock.
#[must_use = "a timer records when it is dropped; dropping it at once records ~0 s"]
#[derive(Debug)]
pub struct Timer {
    histogram: Option<Histogram>,
    started: Duration,
}

impl Timer {
    /// Time elapsed so far.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.histogram.as_ref().map_or(Duration::ZERO, |h| {
            h.clock.elapsed().saturating_sub(self.started)
        })
    }

    /// Records now and returns the seconds recorded.
    #[must_use = "the seconds recorded; use `drop(timer)` to ignore them"]
    pub fn stop_and_record(mut self) -> f64 {
        let seconds = self.elapsed().as_secs_f64();
        if let Some(histogram) = self.histogram.take() {
            histogram.record(seconds);
        }
        seconds
    }

    /// Stops without recording anything.
    pub fn stop_and_discard(mut self) {
        self.histogram = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(histogram) = self.histogram.take() {
            let seconds = histogram
                .clock
                .elapsed()
                .saturating_sub(self.started)
                .as_secs_f64();
            histogram.record(seconds);
        }
    }
}
