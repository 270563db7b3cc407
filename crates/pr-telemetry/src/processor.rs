//! The export queue: a bounded span processor with its own thread.
//!
//! The SDK's `BatchSpanProcessor` drops spans when its queue is full but
//! keeps the count to itself, and its exporters need a Tokio runtime it
//! does not provide. This one counts every span it drops, by reason, and
//! runs the exporter on a current-thread runtime in its own thread, where
//! tracing is off: the HTTP and gRPC stacks' own spans never become spans
//! to export.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// What the queue has done, shared with [`crate::Telemetry::snapshot`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) exported: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_export_failed: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
}

impl Counters {
    fn dropped(&self, reason: DropReason, spans: u64) {
        let counter = match reason {
            DropReason::QueueFull => &self.dropped_queue_full,
            DropReason::ExportFailed => &self.dropped_export_failed,
            DropReason::Shutdown => &self.dropped_shutdown,
        };
        counter.fetch_add(spans, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metric::DROPPED, "reason" => reason.as_str()).increment(spans);
    }
}

/// Why spans were dropped: the `reason` label of
/// `pr_telemetry_spans_dropped_total`.
#[derive(Clone, Copy, Debug)]
enum DropReason {
    QueueFull,
    ExportFailed,
    Shutdown,
}

impl DropReason {
    #[cfg(feature = "metrics")]
    const fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::ExportFailed => "export_failed",
            Self::Shutdown => "shutdown",
        }
    }
}

/// A message to the export thread.
enum Message {
    Span(Box<SpanData>),
    /// Look at the control channel now.
    Wake,
}

/// A request the export thread answers.
enum Control {
    Flush(Sender<OTelSdkResult>),
    Shutdown(Instant, Sender<OTelSdkResult>),
    Resource(Resource),
}

/// The bounds of the queue and its exports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueSettings {
    pub(crate) queue_size: usize,
    pub(crate) batch_size: usize,
    pub(crate) batch_delay: Duration,
    pub(crate) export_timeout: Duration,
}

/// The span processor.
#[derive(Debug)]
pub(crate) struct QueueProcessor {
    spans: SyncSender<Message>,
    control: Sender<Control>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Span(_) => "Span",
            Self::Wake => "Wake",
        })
    }
}

impl QueueProcessor {
    /// Starts the export thread; `make_exporter` runs on it, inside its
    /// runtime (a gRPC channel needs one to be made).
    pub(crate) fn start<E, F>(
        settings: QueueSettings,
        counters: Arc<Counters>,
        make_exporter: F,
    ) -> Result<Self, String>
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Result<E, String> + Send + 'static,
    {
        let (spans, spans_rx) = std::sync::mpsc::sync_channel(settings.queue_size);
        let (control, control_rx) = std::sync::mpsc::channel();
        let (ready, ready_rx) = std::sync::mpsc::channel();
        let thread_counters = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("pr-telemetry-export".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(format!("cannot start the export runtime: {e}")));
                        return;
                    }
                };
                let exporter = quiet(|| {
                    let _entered = runtime.enter();
                    make_exporter()
                });
                match exporter {
                    Ok(exporter) => {
                        let _ = ready.send(Ok(()));
                        Worker {
                            exporter,
                            runtime,
                            spans: spans_rx,
                            control: control_rx,
                            settings,
                            counters: thread_counters,
                            warnings: Warnings::default(),
                        }
                        .run();
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|e| format!("cannot start the export thread: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "the export thread stopped while starting".to_owned())??;
        Ok(Self {
            spans,
            control,
            counters,
        })
    }

    fn ask(
        &self,
        make: impl FnOnce(Sender<OTelSdkResult>) -> Control,
        wait: Duration,
    ) -> OTelSdkResult {
        let (reply, answer) = std::sync::mpsc::channel();
        self.control
            .send(make(reply))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        // A full queue means the thread is busy and looks at the control
        // channel after its next span anyway.
        let _ = self.spans.try_send(Message::Wake);
        match answer.recv_timeout(wait) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(wait)),
            Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.spans.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.counters.dropped(DropReason::QueueFull, 1),
            Err(TrySendError::Disconnected(_)) => self.counters.dropped(DropReason::Shutdown, 1),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Control::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        self.ask(|reply| Control::Shutdown(deadline, reply), timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.control.send(Control::Resource(resource.clone()));
    }
}

/// Rate-limits the export-failure warning to one a minute.
#[derive(Default)]
struct Warnings {
    last: Option<Instant>,
    suppressed: u64,
}

/// The export thread.
struct Worker<E> {
    exporter: E,
    runtime: tokio::runtime::Runtime,
    spans: Receiver<Message>,
    control: Receiver<Control>,
    settings: QueueSettings,
    counters: Arc<Counters>,
    warnings: Warnings,
}

/// How often an unreachable collector is worth a warning.
const WARN_EVERY: Duration = Duration::from_secs(60);

impl<E: SpanExporter> Worker<E> {
    /// A scheduled export: its failure is counted and warned about in
    /// [`export`](Self::export), with nobody waiting to be told.
    fn send(&mut self, batch: &mut Vec<SpanData>) {
        let _ = self.export(batch, None);
    }

    fn run(mut self) {
        let mut batch: Vec<SpanData> = Vec::with_capacity(self.settings.batch_size);
        let mut due = Instant::now() + self.settings.batch_delay;
        loop {
            let wait = due.saturating_duration_since(Instant::now());
            match self.spans.recv_timeout(wait) {
                Ok(Message::Span(span)) => {
                    batch.push(*span);
                    if batch.len() >= self.settings.batch_size {
                        self.send(&mut batch);
                        due = Instant::now() + self.settings.batch_delay;
                    }
                }
                Ok(Message::Wake) => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.send(&mut batch);
                    due = Instant::now() + self.settings.batch_delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.send(&mut batch);
                    return;
                }
            }
            while let Ok(control) = self.control.try_recv() {
                match control {
                    Control::Resource(resource) => self.exporter.set_resource(&resource),
                    Control::Flush(reply) => {
                        let result = self.drain(&mut batch, None);
                        let _ = reply.send(result);
                    }
                    Control::Shutdown(deadline, reply) => {
                        let mut result = self.drain(&mut batch, Some(deadline));
                        let left = deadline.saturating_duration_since(Instant::now());
                        if let Err(e) = self.exporter.shutdown_with_timeout(left) {
                            result = result.and(Err(e));
                        }
                        let _ = reply.send(result);
                        return;
                    }
                }
            }
        }
    }

    /// Exports everything queued, in batches; with a deadline, what is
    /// left once it passes is dropped (reason `shutdown`).
    fn drain(&mut self, batch: &mut Vec<SpanData>, deadline: Option<Instant>) -> OTelSdkResult {
        let mut result = Ok(());
        loop {
            while batch.len() < self.settings.batch_size {
                match self.spans.try_recv() {
                    Ok(Message::Span(span)) => batch.push(*span),
                    Ok(Message::Wake) => {}
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                return result;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let mut left = batch.len() as u64;
                batch.clear();
                while let Ok(message) = self.spans.try_recv() {
                    left += u64::from(matches!(message, Message::Span(_)));
                }
                self.counters.dropped(DropReason::Shutdown, left);
                return Err(OTelSdkError::Timeout(Duration::ZERO));
            }
            if let Err(e) = self.export(batch, deadline) {
                result = Err(e);
            }
        }
    }

    /// Sends `batch` (emptied), within the export timeout and `deadline`.
    fn export(&mut self, batch: &mut Vec<SpanData>, deadline: Option<Instant>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let spans = std::mem::replace(batch, Vec::with_capacity(self.settings.batch_size));
        let count = spans.len() as u64;
        let mut limit = self.settings.export_timeout;
        if let Some(deadline) = deadline {
            limit = limit.min(deadline.saturating_duration_since(Instant::now()));
        }
        let outcome = quiet(|| {
            self.runtime
                .block_on(async { tokio::time::timeout(limit, self.exporter.export(spans)).await })
        });
        let error = match outcome {
            Ok(Ok(())) => {
                self.counters.exported.fetch_add(count, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                metrics::counter!(crate::metric::EXPORTED).increment(count);
                return Ok(());
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {limit:?}"),
        };
        self.counters.failed_exports.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metric::FAILED_EXPORTS).increment(1);
        self.counters.dropped(DropReason::ExportFailed, count);
        self.warn(&error, count);
        Err(OTelSdkError::InternalFailure(error))
    }

    fn warn(&mut self, error: &str, spans: u64) {
        let now = Instant::now();
        if self
            .warnings
            .last
            .is_some_and(|last| now.duration_since(last) < WARN_EVERY)
        {
            self.warnings.suppressed += 1;
            return;
        }
        let suppressed = std::mem::take(&mut self.warnings.suppressed);
        self.warnings.last = Some(now);
        // Outside the quiet scope: this one is the service's to see.
        tracing::warn!(
            event = "telemetry.export_failed",
            error,
            spans,
            failures_not_logged = suppressed,
            "spans could not be exported; they are dropped and counted (at most one warning a minute)"
        );
    }
}

/// Runs `f` with tracing off on this thread: the export stack's own spans
/// and events (hyper, h2, tonic), exported, would feed themselves. The
/// runtime's tasks are polled only inside `block_on`, so inside this too.
fn quiet<T>(f: impl FnOnce() -> T) -> T {
    tracing::dispatcher::with_default(&tracing::Dispatch::none(), f)
}
