//! [`Recorder`]: the registry behind the `metrics` facade's macros.

use metrics::{Key, KeyName, Metadata, SharedString, Unit};

use crate::registry::{CellRef, Registry};
use crate::{Error, MetricKind};

/// A `metrics::Recorder` over a [`Registry`]: install it globally with
/// [`Registry::install`], or locally with `metrics::with_local_recorder`.
///
/// A registration that breaks a naming rule is refused: the macro gets a
/// no-op handle, and an error event with the rule's code is logged once per
/// name (see [`Registry::rejected`]). Names are never rewritten.
#[derive(Clone, Debug)]
pub struct Recorder {
    registry: Registry,
}

impl Recorder {
    /// The registry this recorder writes to.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn describe(&self, key: &KeyName, kind: MetricKind, unit: Option<Unit>, help: &SharedString) {
        if let Err(error) = self.registry.describe(key.as_str(), kind, unit, help) {
            self.registry.reject(key.as_str(), &error);
        }
    }
}

impl Registry {
    /// This registry's `metrics` recorder.
    #[must_use]
    pub fn recorder(&self) -> Recorder {
        Recorder {
            registry: self.clone(),
        }
    }

    /// Installs this registry as the process-wide `metrics` recorder.
    ///
    /// # Errors
    ///
    /// [`Error::RecorderInstalled`] when a global recorder is already set.
    pub fn install(&self) -> Result<(), Error> {
        metrics::set_global_recorder(self.recorder()).map_err(|_| Error::RecorderInstalled)
    }
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, MetricKind::Counter, unit, &description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, MetricKind::Gauge, unit, &description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, MetricKind::Histogram, unit, &description);
    }

    #[inline]
    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Counter {
        match self.registry.lookup(key, MetricKind::Counter) {
            Some(CellRef::Counter(cell)) => metrics::Counter::from_arc(cell),
            Some(_) => {
                self.registry.reject(
                    key.name(),
                    &self.registry.conflict(key.name(), MetricKind::Counter),
                );
                metrics::Counter::noop()
            }
            None => metrics::Counter::noop(),
        }
    }

    #[inline]
    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Gauge {
        match self.registry.lookup(key, MetricKind::Gauge) {
            Some(CellRef::Gauge(cell)) => metrics::Gauge::from_arc(cell),
            Some(_) => {
                self.registry.reject(
                    key.name(),
                    &self.registry.conflict(key.name(), MetricKind::Gauge),
                );
                metrics::Gauge::noop()
            }
            None => metrics::Gauge::noop(),
        }
    }

    #[inline]
    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Histogram {
        match self.registry.lookup(key, MetricKind::Histogram) {
            Some(CellRef::Histogram(cell)) => metrics::Histogram::from_arc(cell),
            Some(_) => {
                self.registry.reject(
                    key.name(),
                    &self.registry.conflict(key.name(), MetricKind::Histogram),
                );
                metrics::Histogram::noop()
            }
            None => metrics::Histogram::noop(),
        }
    }
}
