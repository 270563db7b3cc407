//! Counters of each output, the [`LoggingSnapshot`] of them and the [`HealthProbe`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Handles registered once per output with the `metrics` recorder.
#[cfg(feature = "metrics")]
struct Handles {
    lines: metrics::Counter,
    bytes: metrics::Counter,
    dropped: metrics::Counter,
    write_errors: metrics::Counter,
    rotations: metrics::Counter,
    compressed: metrics::Counter,
    deleted: metrics::Counter,
    reopens: metrics::Counter,
}

#[cfg(feature = "metrics")]
impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handles")
    }
}

#[cfg(feature = "metrics")]
impl Handles {
    fn new(output: &str) -> Self {
        describe();
        let output = output.to_owned();
        Self {
            lines: metrics::counter!("pr_logging_lines_total", "output" => output.clone()),
            bytes: metrics::counter!("pr_logging_written_bytes_total", "output" => output.clone()),
            dropped: metrics::counter!("pr_logging_dropped_lines_total", "output" => output.clone()),
            write_errors: metrics::counter!("pr_logging_write_errors_total", "output" => output.clone()),
            rotations: metrics::counter!("pr_logging_rotations_total", "output" => output.clone()),
            compressed: metrics::counter!("pr_logging_compressed_files_total", "output" => output.clone()),
            deleted: metrics::counter!("pr_logging_deleted_files_total", "output" => output.clone()),
            reopens: metrics::counter!("pr_logging_reopens_total", "output" => output),
        }
    }
}

/// Describes pr-logging's metrics to the recorder (help text and unit), so
/// that the exposition passes `promtool check metrics`.
#[cfg(feature = "metrics")]
pub(crate) fn describe() {
    use metrics::{Unit, describe_counter};
    describe_counter!(
        "pr_logging_lines_total",
        "Log lines accepted for writing, per output."
    );
    describe_counter!(
        "pr_logging_written_bytes_total",
        Unit::Bytes,
        "Bytes of log lines accepted for writing, per output."
    );
    describe_counter!(
        "pr_logging_dropped_lines_total",
        "Log lines lost: queue full, writer stopped or write error."
    );
    describe_counter!(
        "pr_logging_write_errors_total",
        "Failed log writes, opens, renames or compressions."
    );
    describe_counter!("pr_logging_rotations_total", "Log file rotations.");
    describe_counter!(
        "pr_logging_compressed_files_total",
        "Rotated log files compressed."
    );
    describe_counter!(
        "pr_logging_deleted_files_total",
        "Rotated log files deleted by retention."
    );
    describe_counter!(
        "pr_logging_reopens_total",
        "Log files reopened after being moved or removed."
    );
    describe_counter!(
        "pr_logging_redactions_total",
        "Values redacted from log events."
    );
}

/// Bumps the `metrics` handle too when the feature is on.
macro_rules! bump {
    ($self:ident, $field:ident, $n:expr) => {
        $self.$field.fetch_add($n, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(handles) = &$self.handles {
            handles.$field.increment($n);
        }
    };
}

/// The counters of one output, shared with its writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    #[cfg(feature = "metrics")]
    handles: Option<Handles>,
    lines: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    write_errors: AtomicU64,
    rotations: AtomicU64,
    compressed: AtomicU64,
    deleted: AtomicU64,
    reopens: AtomicU64,
    /// The last write failed and none has succeeded since.
    failing: AtomicBool,
}

impl Counters {
    /// Counters for the output `name`; with the `metrics` feature, handles
    /// are registered once here with the recorder installed now.
    pub(crate) fn named(name: &str) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = name;
        Self {
            #[cfg(feature = "metrics")]
            handles: Some(Handles::new(name)),
            ..Self::default()
        }
    }

    pub(crate) fn add_line(&self, bytes: usize) {
        bump!(self, lines, 1);
        bump!(self, bytes, u64::try_from(bytes).unwrap_or(0));
    }
    pub(crate) fn add_dropped(&self, lines: u64) {
        bump!(self, dropped, lines);
    }
    pub(crate) fn add_write_error(&self) {
        self.failing.store(true, Ordering::Relaxed);
        bump!(self, write_errors, 1);
    }
    /// A write reached the output: it is no longer failing.
    pub(crate) fn wrote_ok(&self) {
        // A load first: the common case writes nothing to the shared line.
        if self.failing.load(Ordering::Relaxed) {
            self.failing.store(false, Ordering::Relaxed);
        }
    }
    pub(crate) fn add_rotation(&self) {
        bump!(self, rotations, 1);
    }
    pub(crate) fn add_compressed(&self) {
        bump!(self, compressed, 1);
    }
    pub(crate) fn add_deleted(&self) {
        bump!(self, deleted, 1);
    }
    pub(crate) fn add_reopen(&self) {
        bump!(self, reopens, 1);
    }

    pub(crate) fn snapshot(&self, name: &str) -> OutputSnapshot {
        OutputSnapshot {
            name: name.to_owned(),
            lines: self.lines.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
            compressed: self.compressed.load(Ordering::Relaxed),
            deleted: self.deleted.load(Ordering::Relaxed),
            reopens: self.reopens.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of one output's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct OutputSnapshot {
    /// `console`, the file's path, `audit:<path>` or a custom writer's name.
    pub name: String,
    /// Lines accepted for writing.
    pub lines: u64,
    /// Bytes accepted for writing.
    pub bytes: u64,
    /// Lines lost: dropped because the queue was full (`drop` policy) or
    /// the writer had stopped, or lost to a write error.
    pub dropped: u64,
    /// Failed writes, opens, renames or compressions (operations, not lines).
    pub write_errors: u64,
    /// Rotations.
    pub rotations: u64,
    /// Rotated files compressed.
    pub compressed: u64,
    /// Rotated files deleted by retention.
    pub deleted: u64,
    /// Reopens after the current file was moved or removed.
    pub reopens: u64,
}

/// A snapshot of every output's counters and of the redaction count, from
/// [`crate::LoggingGuard::snapshot`]; serializable for a status page.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LoggingSnapshot {
    /// One entry per output, in configuration order.
    pub outputs: Vec<OutputSnapshot>,
    /// Values redacted so far.
    pub redactions: u64,
}

impl LoggingSnapshot {
    /// The output with this name.
    #[must_use]
    pub fn output(&self, name: &str) -> Option<&OutputSnapshot> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// Tells whether each output has had trouble recently, for a health check:
/// from [`crate::LoggingGuard::health_probe`].
///
/// An output is degraded in a [`HealthProbe::check`] when it had write
/// errors or dropped lines since the previous check of this probe (or since
/// the probe was made), or when its last write failed and none has
/// succeeded since. It is healthy again at the first check after writes
/// succeed with nothing lost in between. pr-logging does not depend on
/// `pr-health` (the layering keeps it below); a service wraps the report in
/// a health check, Degraded with the outputs' names in the details.
#[derive(Debug)]
pub struct HealthProbe {
    outputs: Vec<(String, Arc<Counters>)>,
    /// Write errors and dropped lines of each output at the previous check.
    seen: Mutex<Vec<(u64, u64)>>,
}

impl HealthProbe {
    pub(crate) fn new(outputs: Vec<(String, Arc<Counters>)>) -> Self {
        let seen = outputs
            .iter()
            .map(|(_, c)| {
                (
                    c.write_errors.load(Ordering::Relaxed),
                    c.dropped.load(Ordering::Relaxed),
                )
            })
            .collect();
        Self {
            outputs,
            seen: Mutex::new(seen),
        }
    }

    /// Each output's state since the previous check.
    #[must_use]
    pub fn check(&self) -> LoggingHealth {
        let mut seen = pr_core::sync::lock(&self.seen);
        let outputs = self
            .outputs
            .iter()
            .zip(seen.iter_mut())
            .map(|((name, counters), seen)| {
                let errors = counters.write_errors.load(Ordering::Relaxed);
                let dropped = counters.dropped.load(Ordering::Relaxed);
                let health = OutputHealth {
                    name: name.clone(),
                    new_write_errors: errors.saturating_sub(seen.0),
                    new_dropped: dropped.saturating_sub(seen.1),
                    failing: counters.failing.load(Ordering::Relaxed),
                };
                *seen = (errors, dropped);
                health
            })
            .collect();
        LoggingHealth { outputs }
    }
}

/// One output's state in a [`LoggingHealth`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputHealth {
    /// The output's name, as in [`OutputSnapshot::name`].
    pub name: String,
    /// Write errors since the previous check.
    pub new_write_errors: u64,
    /// Lines dropped since the previous check (full queue, write error,
    /// writer stopped).
    pub new_dropped: u64,
    /// Its last write failed and none has succeeded since.
    pub failing: bool,
}

impl OutputHealth {
    /// Whether the output had trouble since the previous check or is
    /// failing now.
    #[must_use]
    pub fn is_degraded(&self) -> bool {
        self.failing || self.new_write_errors > 0 || self.new_dropped > 0
    }
}

/// What a [`HealthProbe::check`] found, one entry per output in
/// configuration order (the audit log last).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggingHealth {
    /// Every output.
    pub outputs: Vec<OutputHealth>,
}

impl LoggingHealth {
    /// Whether any output is degraded.
    #[must_use]
    pub fn is_degraded(&self) -> bool {
        self.outputs.iter().any(OutputHealth::is_degraded)
    }

    /// The degraded outputs.
    pub fn degraded(&self) -> impl Iterator<Item = &OutputHealth> {
        self.outputs.iter().filter(|o| o.is_degraded())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The snapshot is what a status page serializes: its keys are the API.
    #[test]
    fn logging_snapshot_serializes_with_its_field_names_and_round_trips() {
        let counters = Counters::default();
        counters.add_dropped(2);
        let snapshot = LoggingSnapshot {
            outputs: vec![counters.snapshot("console")],
            redactions: 5,
        };
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["redactions"], 5);
        let out = &json["outputs"][0];
        assert_eq!(out["name"], "console");
        assert_eq!(out["dropped"], 2);
        for key in [
            "lines",
            "bytes",
            "write_errors",
            "rotations",
            "compressed",
            "deleted",
            "reopens",
        ] {
            assert_eq!(out[key], 0, "{key} in {out}");
        }
        let back: LoggingSnapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, snapshot);
    }

    #[test]
    fn degraded_on_new_trouble_and_healthy_after_a_clean_interval() {
        let counters = Arc::new(Counters::default());
        let probe = HealthProbe::new(vec![("out".to_owned(), Arc::clone(&counters))]);
        assert!(!probe.check().is_degraded());
        counters.add_dropped(3);
        let report = probe.check();
        assert!(report.is_degraded());
        let out = report
            .degraded()
            .next()
            .map(|o| (o.name.as_str(), o.new_dropped));
        assert_eq!(out, Some(("out", 3)));
        // Nothing new since: healthy again.
        assert!(!probe.check().is_degraded());
        counters.add_write_error();
        assert_eq!(probe.check().outputs[0].new_write_errors, 1);
        // Still failing: no write has succeeded.
        let report = probe.check();
        assert!(report.outputs[0].failing && report.is_degraded());
        counters.wrote_ok();
        assert!(!probe.check().is_degraded());
    }
}
