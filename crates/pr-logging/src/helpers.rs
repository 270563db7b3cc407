//! Helpers: log a metric value or a duration as a structured event, and a
//! panic hook that logs the panic before the previous hook runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::output::Sink;

/// Logs `value` of the metric `name` (in `unit`) as an INFO event
/// `logging.metric_recorded` with target `pr_logging::metric` and fields
/// `metric`, `value` and `unit`.
pub fn log_metric(name: &str, value: f64, unit: &str) {
    tracing::info!(target: "pr_logging::metric", event = "logging.metric_recorded", metric = name, value, unit, "metric");
}

/// Logs the time from its creation to its drop as an INFO event
/// `logging.operation_timed` with target `pr_logging::timing` and fields
/// `operation` and `elapsed_seconds`.
///
/// ```
/// let _timed = pr_logging::timed("load_catalogue");
/// // ... work ...
/// // dropped here: logs `operation="load_catalogue"` and `elapsed_seconds`.
/// ```
#[must_use = "the time is logged when the guard is dropped"]
#[derive(Debug)]
pub struct Timed {
    operation: &'static str,
    start: Instant,
}

/// Starts a [`Timed`] guard for `operation`.
pub fn timed(operation: &'static str) -> Timed {
    Timed {
        operation,
        start: Instant::now(),
    }
}

impl Timed {
    /// The time elapsed so far.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        tracing::info!(
            target: "pr_logging::timing",
            event = "logging.operation_timed",
            operation = self.operation,
            elapsed_seconds = self.start.elapsed().as_secs_f64(),
            "timed"
        );
    }
}

/// Installs a panic hook that logs the panic at ERROR (`logging.panicked`,
/// target `panic`, with its message, location and thread), flushes `sinks` (waiting `timeout` at
/// most), then runs the hook that was installed before.
pub(crate) fn install_panic_hook(sinks: Vec<Arc<dyn Sink>>, timeout: Duration) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        tracing::error!(
            target: "panic",
            event = "logging.panicked",
            panic_message = %message,
            panic_location = %location,
            thread = thread.name().unwrap_or("<unnamed>"),
            "panic"
        );
        let deadline = Instant::now() + timeout;
        for sink in &sinks {
            let _ = sink.flush(deadline);
        }
        previous(info);
    }));
}
