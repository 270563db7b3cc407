//! [`Registry`]: metric families, their series, registration with linting
//! and label limits, and idle-series expiry.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Key, Unit};

use crate::cells::{CounterCell, GaugeCell, HistogramCell};
use crate::exemplar::{ExemplarSource, Exemplars};
use crate::sketch::WindowSketch;
use crate::{
    Clock, Counter, Error, Gauge, Histogram, MetricKind, MetricsConfig, TraceIds, lint, literal,
};

use crate::lint::OVERFLOW_LABEL;

const KEY_SHARDS: usize = 16;

use pr_core::sync::{read, write};

/// A `metrics::Key` hashes itself to its precomputed hash with one
/// `write_u64`; this hasher passes that through.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A family's series by their sorted labels.
type SeriesMap = BTreeMap<Vec<(String, String)>, Arc<Series>>;

type KeyMap = std::collections::HashMap<Key, Arc<Series>, BuildHasherDefault<KeyHasher>>;

/// The cell of one series.
#[derive(Debug, Clone)]
pub(crate) enum CellRef {
    Counter(Arc<CounterCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

impl CellRef {
    /// A number that changes whenever the series is updated (almost always).
    fn fingerprint(&self) -> u64 {
        match self {
            Self::Counter(c) => c.value(),
            Self::Gauge(g) => g.bits(),
            Self::Histogram(h) => h.count(),
        }
    }

    /// Whether a handle outside the registry holds the cell.
    fn is_held(&self) -> bool {
        match self {
            Self::Counter(c) => Arc::strong_count(c) > 1,
            Self::Gauge(g) => Arc::strong_count(g) > 1,
            Self::Histogram(h) => Arc::strong_count(h) > 1,
        }
    }
}

/// One labelled time series.
#[derive(Debug)]
pub(crate) struct Series {
    /// The series' own labels, sorted by name (global labels excluded).
    pub(crate) labels: Vec<(String, String)>,
    /// Global and own labels, escaped: `a="b",c="d"` (empty when none).
    pub(crate) labels_text: String,
    pub(crate) cell: CellRef,
    /// Creation time, seconds since the Unix epoch.
    pub(crate) created: f64,
    /// Last fingerprint seen and when it changed, for expiry.
    activity: Mutex<(u64, Duration)>,
}

/// HELP text and unit of a family.
#[derive(Debug, Default, Clone)]
pub(crate) struct Meta {
    pub(crate) help: Option<String>,
    pub(crate) unit: Option<&'static str>,
}

/// A metric family: one name, one type, many series.
#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) name: String,
    pub(crate) kind: MetricKind,
    pub(crate) meta: RwLock<Meta>,
    pub(crate) bounds: Arc<[f64]>,
    /// `le` label values, formatted once.
    pub(crate) le_texts: Box<[String]>,
    max_series: usize,
    pub(crate) series: RwLock<SeriesMap>,
    pub(crate) overflow: OnceLock<Arc<Series>>,
    warned: AtomicBool,
}

pub(crate) struct Inner {
    pub(crate) config: MetricsConfig,
    pub(crate) clock: Clock,
    /// Where exemplars come from; `None` keeps observations exemplar-free.
    exemplars: Option<ExemplarSource>,
    global: Vec<(String, String)>,
    pub(crate) families: RwLock<BTreeMap<String, Arc<Family>>>,
    keys: Box<[RwLock<KeyMap>]>,
    /// Names already reported as rejected (facade registrations log once).
    rejected: Mutex<HashSet<String>>,
    /// Quantile labels of summaries, formatted once.
    pub(crate) quantile_texts: Box<[String]>,
    /// Run before every render and snapshot ([`Registry::add_collector`]).
    collectors: RwLock<Vec<Collector>>,
}

/// A figure source read at scrape time.
type Collector = Arc<dyn Fn() + Send + Sync>;

/// The set of all metrics of a process: typed registration, the
/// `metrics` facade's [`Recorder`](crate::Recorder), rendering and snapshots.
///
/// Clones share the same metrics.
#[derive(Clone)]
pub struct Registry {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("families", &read(&self.inner.families).len())
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::from_parts(MetricsConfig::default(), Clock::precise(), None)
    }
}

/// Builds a [`Registry`]: `Registry::builder().global_label(..).build()?`.
#[derive(Debug)]
#[must_use]
pub struct RegistryBuilder {
    config: MetricsConfig,
    clock: Clock,
    exemplars: Option<ExemplarSource>,
}

impl Default for RegistryBuilder {
    fn default() -> Self {
        Self {
            config: MetricsConfig::default(),
            // Precise: a timer measures to the nanosecond, not to a kernel tick.
            clock: Clock::precise(),
            exemplars: None,
        }
    }
}

/// Seconds since the Unix epoch of `clock`'s wall time (for `OpenMetrics`
/// `_created`; 0 before the epoch).
fn unix_seconds(clock: &Clock) -> f64 {
    clock
        .wall()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl RegistryBuilder {
    /// Starts from `config` (replacing what was set so far).
    pub fn config(mut self, config: MetricsConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a label to every series.
    pub fn global_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.global_labels.insert(name.into(), value.into());
        self
    }

    /// Most label sets per metric before the overflow series.
    pub fn max_series_per_metric(mut self, max: usize) -> Self {
        self.config.max_series_per_metric = max;
        self
    }

    /// Drops series idle (unchanged and unheld) longer than `timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        // Zero would mean "keep forever" in the config; here it asks for the
        // shortest idle time.
        self.config.idle_timeout = timeout.max(Duration::from_nanos(1)).into();
        self
    }

    /// Bucket bounds of the histogram `name`.
    pub fn buckets(mut self, name: impl Into<String>, bounds: Vec<f64>) -> Self {
        self.config.buckets.insert(name.into(), bounds);
        self
    }

    /// Exposes the histogram `name` as a summary.
    pub fn summary(mut self, name: impl Into<String>) -> Self {
        self.config.summaries.push(name.into());
        self
    }

    /// The clock of timers, quantile windows, expiry and `_created` (default
    /// [`Clock::precise`]; a test hands in a
    /// [`ManualClock`](pr_core::time::ManualClock)'s).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Attaches `OpenMetrics` exemplars to histogram observations and
    /// counter increments: on each, `source` is asked for the current
    /// trace, and when it answers, the value (a counter's increment), the
    /// ids and the registry clock's wall time (to the millisecond) become
    /// the exemplar of the bucket the value fell in, or of the counter's
    /// `_total`; the last one per bucket or counter series is kept.
    /// `OpenMetrics` scrapes show them; Prometheus text 0.0.4 has no
    /// exemplars. Summaries, gauges and a facade counter's `absolute` (a
    /// total mirrored from elsewhere) carry none.
    ///
    /// `source` runs on every observation, on the recording thread, so it
    /// should be cheap (read the current span's ids, allocate nothing) and
    /// answer `None` when no trace is active (an all-zero trace id counts
    /// as none). Keeping an exemplar is a few atomic stores into its
    /// bucket's slot, no lock. Without a source (the default), recording
    /// costs one branch more than before and no memory.
    ///
    /// ```
    /// use pr_metrics::{ExpositionFormat, Registry, TraceIds};
    ///
    /// # fn main() -> Result<(), pr_metrics::Error> {
    /// // An application reads its tracing context here (pr-facade reads
    /// // the current span's OpenTelemetry ids).
    /// let registry = Registry::builder()
    ///     .exemplars(|| Some(TraceIds::new([0x4b; 16], [0x0f; 8])))
    ///     .build()?;
    /// registry.histogram("db_query_duration_seconds", &[])?.record(0.02);
    /// let text = registry.render(ExpositionFormat::OpenMetrics);
    /// assert!(text.contains(r#"le="0.025"} 1 # {trace_id="4b4b"#));
    /// # Ok(())
    /// # }
    /// ```
    pub fn exemplars(
        mut self,
        source: impl Fn() -> Option<TraceIds> + Send + Sync + 'static,
    ) -> Self {
        self.exemplars = Some(ExemplarSource::new(source));
        self
    }

    /// Validates the configuration and builds the registry.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every invalid field.
    pub fn build(self) -> Result<Registry, Error> {
        pr_core::validate::check(&self.config)
            .map_err(|problems| Error::InvalidConfig { problems })?;
        Ok(Registry::from_parts(
            self.config,
            self.clock,
            self.exemplars,
        ))
    }
}

impl Registry {
    /// A registry configured by `config`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every invalid field.
    pub fn new(config: MetricsConfig) -> Result<Self, Error> {
        Self::builder().config(config).build()
    }

    /// A builder, starting from the default configuration.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    fn from_parts(config: MetricsConfig, clock: Clock, exemplars: Option<ExemplarSource>) -> Self {
        let global: Vec<(String, String)> = config
            .global_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let quantile_texts = config
            .summary_quantiles
            .iter()
            .map(|q| literal::format_f64(*q))
            .collect();
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                exemplars,
                global,
                families: RwLock::new(BTreeMap::new()),
                keys: (0..KEY_SHARDS)
                    .map(|_| RwLock::new(KeyMap::default()))
                    .collect(),
                rejected: Mutex::new(HashSet::new()),
                quantile_texts,
                collectors: RwLock::new(Vec::new()),
            }),
        }
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &MetricsConfig {
        &self.inner.config
    }

    /// The registry's clock.
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Registers (or finds) the counter `name` with `labels`.
    ///
    /// # Errors
    ///
    /// [`Error::Lint`] for a name or label that breaks a naming rule,
    /// [`Error::KindConflict`] when `name` is another type already.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Result<Counter, Error> {
        match self
            .register(name, MetricKind::Counter, labels)?
            .cell
            .clone()
        {
            CellRef::Counter(cell) => Ok(Counter::from_cell(cell)),
            _ => Err(self.conflict(name, MetricKind::Counter)),
        }
    }

    /// Registers (or finds) the gauge `name` with `labels`.
    ///
    /// # Errors
    ///
    /// As [`counter`](Self::counter).
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Result<Gauge, Error> {
        match self.register(name, MetricKind::Gauge, labels)?.cell.clone() {
            CellRef::Gauge(cell) => Ok(Gauge::from_cell(cell)),
            _ => Err(self.conflict(name, MetricKind::Gauge)),
        }
    }

    /// Registers (or finds) the histogram `name` with `labels`; its buckets
    /// come from the configuration (`buckets`, else `default_buckets`), and
    /// it is exposed as a summary when listed in `summaries`.
    ///
    /// # Errors
    ///
    /// As [`counter`](Self::counter).
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Result<Histogram, Error> {
        match self
            .register(name, MetricKind::Histogram, labels)?
            .cell
            .clone()
        {
            CellRef::Histogram(cell) => Ok(Histogram::from_cell(cell, self.inner.clock.clone())),
            _ => Err(self.conflict(name, MetricKind::Histogram)),
        }
    }

    /// Sets the HELP text and unit of `name`, registering the family if
    /// needed. `Unit::Count` means no unit.
    ///
    /// # Errors
    ///
    /// [`Error::Lint`] for a bad name or a non-base unit, or a unit the name
    /// does not end with; [`Error::KindConflict`].
    pub fn describe(
        &self,
        name: &str,
        kind: MetricKind,
        unit: Option<Unit>,
        help: &str,
    ) -> Result<(), Error> {
        let family = self.family(name, kind, unit)?;
        let suffix = match unit {
            Some(unit) => {
                lint::check_name(name, family.kind, Some(unit))?;
                lint::unit_suffix(name, unit)?
            }
            None => None,
        };
        let mut meta = write(&family.meta);
        meta.help = Some(help.to_owned());
        if suffix.is_some() {
            meta.unit = suffix;
        }
        Ok(())
    }

    fn resolve(&self, name: &str, kind: MetricKind) -> MetricKind {
        if kind == MetricKind::Histogram && self.inner.config.summaries.iter().any(|s| s == name) {
            MetricKind::Summary
        } else {
            kind
        }
    }

    pub(crate) fn conflict(&self, name: &str, requested: MetricKind) -> Error {
        let existing = read(&self.inner.families)
            .get(name)
            .map_or(requested, |f| f.kind);
        Error::KindConflict {
            name: name.to_owned(),
            existing,
            requested,
        }
    }

    /// Finds or creates the family `name` of `kind`.
    pub(crate) fn family(
        &self,
        name: &str,
        kind: MetricKind,
        unit: Option<Unit>,
    ) -> Result<Arc<Family>, Error> {
        let kind = self.resolve(name, kind);
        let found = read(&self.inner.families).get(name).cloned();
        let family = match found {
            Some(family) => family,
            None => {
                lint::check_name(name, kind, unit)?;
                let bounds: Arc<[f64]> = Arc::from(
                    self.inner
                        .config
                        .buckets
                        .get(name)
                        .unwrap_or(&self.inner.config.default_buckets)
                        .as_slice(),
                );
                let family = Arc::new(Family {
                    name: name.to_owned(),
                    kind,
                    meta: RwLock::new(Meta::default()),
                    le_texts: bounds.iter().map(|b| literal::format_f64(*b)).collect(),
                    bounds,
                    max_series: self.inner.config.max_series_per_metric,
                    series: RwLock::new(BTreeMap::new()),
                    overflow: OnceLock::new(),
                    warned: AtomicBool::new(false),
                });
                write(&self.inner.families)
                    .entry(name.to_owned())
                    .or_insert(family)
                    .clone()
            }
        };
        let same = family.kind == kind
            || (kind == MetricKind::Histogram && family.kind == MetricKind::Summary);
        if same {
            Ok(family)
        } else {
            Err(Error::KindConflict {
                name: name.to_owned(),
                existing: family.kind,
                requested: kind,
            })
        }
    }

    fn register(
        &self,
        name: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
    ) -> Result<Arc<Series>, Error> {
        let family = self.family(name, kind, None)?;
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Ok(self.series(&family, labels)?.0)
    }

    fn new_cell(&self, family: &Family) -> CellRef {
        match family.kind {
            MetricKind::Counter => CellRef::Counter(Arc::new(CounterCell::new(
                self.inner
                    .exemplars
                    .clone()
                    .map(|source| Exemplars::new(source, self.inner.clock.clone(), 1)),
            ))),
            MetricKind::Gauge => CellRef::Gauge(Arc::new(GaugeCell::new())),
            _ => CellRef::Histogram(Arc::new(HistogramCell::new(
                family.bounds.clone(),
                WindowSketch::new(
                    self.inner.clock.clone(),
                    self.inner.config.quantile_window.as_std(),
                    self.inner.config.quantile_window_slices,
                ),
                // Summaries have no buckets to hang exemplars on.
                (family.kind == MetricKind::Histogram)
                    .then(|| self.inner.exemplars.clone())
                    .flatten()
                    .map(|source| {
                        Exemplars::new(source, self.inner.clock.clone(), family.bounds.len() + 1)
                    }),
            ))),
        }
    }

    fn new_series(&self, family: &Family, labels: Vec<(String, String)>) -> Arc<Series> {
        let mut labels_text = String::new();
        for (k, v) in self.inner.global.iter().chain(labels.iter()) {
            if !labels_text.is_empty() {
                labels_text.push(',');
            }
            labels_text.push_str(k);
            labels_text.push_str("=\"");
            literal::escape_label_value(&mut labels_text, v);
            labels_text.push('"');
        }
        Arc::new(Series {
            labels,
            labels_text,
            cell: self.new_cell(family),
            created: unix_seconds(&self.inner.clock),
            activity: Mutex::new((0, self.inner.clock.elapsed())),
        })
    }

    /// Finds or creates the series of `family` with `labels`; past the
    /// family's limit, its overflow series (second value `true`).
    pub(crate) fn series(
        &self,
        family: &Family,
        mut labels: Vec<(String, String)>,
    ) -> Result<(Arc<Series>, bool), Error> {
        labels.sort_unstable();
        for (i, (name, _)) in labels.iter().enumerate() {
            lint::check_label(&family.name, name, &self.inner.global)?;
            if i > 0 && labels[i - 1].0 == *name {
                return Err(Error::Lint {
                    name: family.name.clone(),
                    rule: crate::LintRule::InvalidLabel {
                        label: name.clone(),
                    },
                });
            }
        }
        let full = {
            let map = read(&family.series);
            if let Some(series) = map.get(&labels) {
                return Ok((series.clone(), false));
            }
            map.len() >= family.max_series
        };
        if !full {
            let mut map = write(&family.series);
            if let Some(series) = map.get(&labels) {
                return Ok((series.clone(), false));
            }
            if map.len() < family.max_series {
                let series = self.new_series(family, labels.clone());
                map.insert(labels, series.clone());
                return Ok((series, false));
            }
        }
        if !family.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                event = "metrics.cardinality_overflow",
                metric = %family.name,
                limit = family.max_series,
                "metric has reached its label set limit; further label sets go to its \
                 overflow series {OVERFLOW_LABEL}=\"true\""
            );
        }
        let overflow = family.overflow.get_or_init(|| {
            self.new_series(family, vec![(OVERFLOW_LABEL.to_owned(), "true".to_owned())])
        });
        Ok((overflow.clone(), true))
    }

    /// The facade's registration: one hash lookup when the key is known.
    #[inline]
    pub(crate) fn lookup(&self, key: &Key, kind: MetricKind) -> Option<CellRef> {
        let shard = (key.get_hash() >> 60) as usize;
        let keys = self.inner.keys.get(shard % KEY_SHARDS)?;
        if let Some(series) = read(keys).get(key) {
            return Some(series.cell.clone());
        }
        self.register_key(key, kind, keys)
    }

    #[cold]
    fn register_key(&self, key: &Key, kind: MetricKind, keys: &RwLock<KeyMap>) -> Option<CellRef> {
        let result = self.family(key.name(), kind, None).and_then(|family| {
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            self.series(&family, labels)
        });
        match result {
            Ok((series, overflowed)) => {
                if !overflowed {
                    write(keys).insert(key.clone(), series.clone());
                }
                Some(series.cell.clone())
            }
            Err(error) => {
                self.reject(key.name(), &error);
                None
            }
        }
    }

    /// Logs a refused facade registration, once per name.
    pub(crate) fn reject(&self, name: &str, error: &Error) {
        let first = pr_core::sync::lock(&self.inner.rejected).insert(name.to_owned());
        if first {
            use pr_errors::CodedError;
            tracing::error!(
                event = "metrics.registration_refused",
                code = error.code().as_str(),
                metric = %name,
                "{error}; its samples are dropped"
            );
        }
    }

    /// Names whose facade registration was refused (each is logged once).
    #[must_use]
    pub fn rejected(&self) -> Vec<String> {
        let mut names: Vec<String> = pr_core::sync::lock(&self.inner.rejected)
            .iter()
            .cloned()
            .collect();
        names.sort_unstable();
        names
    }

    /// Adds `collect`, run before every render and snapshot: it sets the
    /// metrics of figures kept outside the registry (a cache's statistics,
    /// a pool's size) so that each scrape sees them current, with no
    /// publishing loop and nothing on the component's hot path, as
    /// `client_golang`'s collectors do. It runs on the scraping thread with
    /// no registry lock held, so it may register and set metrics; it should
    /// be quick (a scrape waits for it) and set absolute values (scrapes can
    /// run concurrently).
    pub fn add_collector(&self, collect: impl Fn() + Send + Sync + 'static) {
        write(&self.inner.collectors).push(Arc::new(collect));
    }

    /// Housekeeping, run by every scrape and snapshot: runs the collectors
    /// ([`Registry::add_collector`]), turns the quantile windows and, when
    /// an idle timeout is set, drops series that changed no value for that
    /// long and that no handle outside the registry holds.
    pub fn upkeep(&self) {
        // Cloned out so that a collector registering metrics, or adding a
        // collector, never meets a lock this thread holds.
        let collectors: Vec<Collector> = read(&self.inner.collectors).clone();
        for collect in &collectors {
            collect();
        }
        let families: Vec<Arc<Family>> = read(&self.inner.families).values().cloned().collect();
        for family in &families {
            for series in read(&family.series).values().chain(family.overflow.get()) {
                if let CellRef::Histogram(h) = &series.cell {
                    h.sketch.rotate();
                }
            }
        }
        let Some(idle) = self.inner.config.series_idle_limit() else {
            return;
        };
        let now = self.inner.clock.elapsed();
        let mut removed: Vec<Arc<Series>> = Vec::new();
        for family in &families {
            write(&family.series).retain(|_, series| {
                let fingerprint = series.cell.fingerprint();
                let mut activity = pr_core::sync::lock(&series.activity);
                if activity.0 != fingerprint {
                    *activity = (fingerprint, now);
                    return true;
                }
                let keep = now.saturating_sub(activity.1) < idle || series.cell.is_held();
                if !keep {
                    removed.push(series.clone());
                }
                keep
            });
        }
        if removed.is_empty() {
            return;
        }
        tracing::debug!(
            event = "metrics.series_expired",
            count = removed.len(),
            "idle series dropped"
        );
        for keys in &self.inner.keys {
            write(keys).retain(|_, series| !removed.iter().any(|r| Arc::ptr_eq(r, series)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pr_core::time::ManualClock;

    use super::*;

    #[test]
    fn created_follows_a_manual_clock_s_wall_time() {
        let manual = ManualClock::at_unix(1_700_000_000);
        let clock = manual.clock();
        manual.advance(Duration::from_millis(1500));
        assert_eq!(clock.elapsed(), Duration::from_millis(1500));
        assert!((unix_seconds(&clock) - 1_700_000_001.5).abs() < 1e-6);
        assert!(clock.is_manual() && !Clock::precise().is_manual());
    }

    #[test]
    fn the_default_clock_is_precise_with_real_wall_time() {
        let registry = Registry::default();
        let clock = registry.clock();
        assert_eq!(clock.resolution(), Duration::from_nanos(1));
        assert!(unix_seconds(clock) > 1.6e9);
        assert!(
            !Registry::builder()
                .build()
                .unwrap_or_default()
                .clock()
                .is_manual()
        );
    }
}
