//! [`Logging::builder`], [`init`] and the [`LoggingGuard`].

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pr_core::units::ByteSize;
use tracing::Dispatch;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::{LookupSpan, Registry};

use crate::Error;
#[cfg(feature = "audit")]
use crate::audit::AuditLog;
use crate::config::{Color, Every, FileConfig, LogFormat, LoggingConfig, Stream};
use crate::filter::{Directives, LevelHandle, LevelState, LevelsFilter, parse_level};
use crate::layer::{Output, PrLayer};
use crate::output::{ConsoleSink, ConsoleTarget, FileSink, QueueSink, Sink, WriterSink};
use crate::redact::Redactor;
use crate::rolling::{Compressor, FileSettings, RollingFile};
use crate::stats::{Counters, HealthProbe, LoggingSnapshot};
use crate::time::{Period, Tz};
use pr_core::time::Clock;

/// Sets up logging from `config` and installs it as the global subscriber.
///
/// `RUST_LOG`, when set and `use_rust_log` is on, replaces `config.filter`.
/// Keep the returned guard alive for the life of the program: dropping it
/// flushes every output.
///
/// # Errors
///
/// [`Error::InvalidConfig`], [`Error::InvalidFilter`] (also for a bad
/// `RUST_LOG`), [`Error::Io`] when a log directory or file cannot be
/// created, and [`Error::AlreadyInitialized`] when a global subscriber is
/// already set.
pub fn init(config: &LoggingConfig) -> Result<LoggingGuard, Error> {
    Logging::builder(config).rust_log_from_env().init()
}

/// The entry point for building a logger without installing it.
#[derive(Debug)]
pub struct Logging;

impl Logging {
    /// A builder from `config`.
    pub fn builder(config: &LoggingConfig) -> LoggingBuilder {
        LoggingBuilder {
            config: config.clone(),
            clock: Clock::system(),
            rust_log: None,
            writers: Vec::new(),
            layers: Vec::new(),
        }
    }
}

/// A layer added with [`LoggingBuilder::with_layer`].
type ExtraLayer = Box<dyn Layer<Registry> + Send + Sync>;

struct ExtraWriter {
    name: String,
    level: LevelFilter,
    format: LogFormat,
    writer: Box<dyn io::Write + Send>,
}

/// Builds the subscriber; [`LoggingBuilder::build`] returns it without
/// installing it (for tests and scoped use), [`LoggingBuilder::init`]
/// installs it globally.
#[must_use = "a builder does nothing until built"]
pub struct LoggingBuilder {
    config: LoggingConfig,
    clock: Clock,
    rust_log: Option<String>,
    writers: Vec<ExtraWriter>,
    layers: Vec<ExtraLayer>,
}

impl std::fmt::Debug for LoggingBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggingBuilder")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("rust_log", &self.rust_log)
            .field("writers", &self.writers.len())
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl LoggingBuilder {
    /// The clock for timestamps, rotation, retention and level overrides.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A filter that replaces `config.filter` (what [`init`] passes from
    /// `RUST_LOG`).
    pub fn rust_log(mut self, filter: Option<String>) -> Self {
        self.rust_log = filter;
        self
    }

    /// Takes `RUST_LOG`, when it is set and not blank and the
    /// configuration's `use_rust_log` is on, as the filter (what [`init`]
    /// does).
    pub fn rust_log_from_env(self) -> Self {
        let rust_log = if self.config.use_rust_log {
            std::env::var("RUST_LOG")
                .ok()
                .filter(|v| !v.trim().is_empty())
        } else {
            None
        };
        self.rust_log(rust_log)
    }

    /// An extra output to any writer (a buffer, a socket, `io::sink()`),
    /// written synchronously, with its own level and format.
    pub fn writer(
        mut self,
        name: impl Into<String>,
        level: tracing::Level,
        format: LogFormat,
        writer: impl io::Write + Send + 'static,
    ) -> Self {
        self.writers.push(ExtraWriter {
            name: name.into(),
            level: LevelFilter::from_level(level),
            format,
            writer: Box::new(writer),
        });
        self
    }

    /// Another layer beside pr-logging's in the subscriber that
    /// [`build`](Self::build) and [`init`](Self::init) make: an OpenTelemetry
    /// layer (`tracing-opentelemetry`), tokio-console's, or one of your own.
    ///
    /// Each layer keeps its own filter: pr-logging's levels (and runtime
    /// changes to them) then decide only what pr-logging writes, so a layer
    /// without a filter sees every span and event. Layers run in the order
    /// added, before pr-logging's.
    ///
    /// ```
    /// use tracing_subscriber::Layer as _;
    ///
    /// # fn main() -> Result<(), pr_logging::Error> {
    /// let mut config = pr_logging::LoggingConfig::default();
    /// config.console.enabled = false;
    /// // Any `Layer<Registry>`; here a filtered no-op layer.
    /// let other = tracing_subscriber::layer::Identity::new()
    ///     .with_filter(tracing::level_filters::LevelFilter::DEBUG);
    /// let (dispatch, _guard) = pr_logging::Logging::builder(&config)
    ///     .with_layer(other)
    ///     .build()?;
    /// tracing::dispatcher::with_default(&dispatch, || {
    ///     tracing::info!(event = "demo.started", "hello");
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Registry> + Send + Sync + 'static,
    {
        self.layers.push(Box::new(layer));
        self
    }

    /// Builds pr-logging as a layer, to compose by hand:
    /// `registry().with(otel).with(layer)`. Its levels are a per-layer
    /// filter (as with [`with_layer`](Self::with_layer)); the guard works as
    /// [`build`](Self::build)'s does. Install the `log` bridge with
    /// [`bridge_log`] if you install the subscriber yourself.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt as _;
    ///
    /// # fn main() -> Result<(), pr_logging::Error> {
    /// let mut config = pr_logging::LoggingConfig::default();
    /// config.console.enabled = false;
    /// let (layer, _guard) = pr_logging::Logging::builder(&config).build_layer()?;
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::info!(event = "demo.started", "hello");
    /// });
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build), and [`Error::InvalidConfig`] (at
    /// `layers`) when layers were added with [`with_layer`](Self::with_layer):
    /// compose them beside this one instead.
    pub fn build_layer<S>(
        mut self,
    ) -> Result<(impl Layer<S> + Send + Sync + 'static, LoggingGuard), Error>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if !self.layers.is_empty() {
            return Err(Error::InvalidConfig {
                problems: vec![pr_core::validate::Violation::new(
                    "layers",
                    "`with_layer` adds to the subscriber of `build` and `init`; with \
                     `build_layer`, compose the other layers beside the one it returns",
                )],
            });
        }
        self.layers = Vec::new();
        let (layer, guard) = self.parts()?;
        let filter = LevelsFilter(Arc::clone(&layer.levels));
        Ok((layer.with_filter(filter), guard))
    }

    /// Builds the subscriber without installing it: use it with
    /// `tracing::subscriber::with_default` or `tracing::dispatcher::set_default`.
    ///
    /// # Errors
    ///
    /// As [`init`], except [`Error::AlreadyInitialized`].
    pub fn build(mut self) -> Result<(Dispatch, LoggingGuard), Error> {
        let layers = std::mem::take(&mut self.layers);
        let (layer, guard) = self.parts()?;
        let dispatch = if layers.is_empty() {
            // Alone, pr-logging's levels filter the whole subscriber, so a
            // disabled callsite costs what it costs in plain tracing.
            Dispatch::new(Registry::default().with(layer))
        } else {
            let filter = LevelsFilter(Arc::clone(&layer.levels));
            Dispatch::new(
                Registry::default()
                    .with(layers)
                    .with(layer.with_filter(filter)),
            )
        };
        Ok((dispatch, guard))
    }

    /// The layer and its guard.
    fn parts(self) -> Result<(PrLayer, LoggingGuard), Error> {
        let config = &self.config;
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        let base = match &self.rust_log {
            Some(filter) => Directives::parse(filter, "RUST_LOG")?,
            None => Directives::parse(&config.filter, "config")?,
        };
        let tz = Tz::parse(&config.timezone).map_err(|problem| Error::InvalidConfig {
            problems: vec![pr_core::validate::Violation::new("timezone", problem)],
        })?;
        let redactor = Arc::new(Redactor::new(&config.redaction));
        let compressor = if config.files.iter().any(|f| f.compress) {
            Some(Arc::new(Compressor::start()?))
        } else {
            None
        };

        let mut outputs = Vec::new();
        let mut shared = Vec::new();
        if config.console.enabled {
            let counters = Arc::new(Counters::named("console"));
            let sink: Arc<dyn Sink> = match &config.console.queue {
                Some(queue) => Arc::new(QueueSink::start(
                    ConsoleTarget::new(config.console.stream, Arc::clone(&counters)),
                    queue.capacity,
                    queue.when_full,
                    Arc::clone(&counters),
                )?),
                None => Arc::new(ConsoleSink {
                    stream: config.console.stream,
                    counters: Arc::clone(&counters),
                }),
            };
            let color = config.console.format == LogFormat::Text
                && match config.console.color {
                    Color::Always => true,
                    Color::Never => false,
                    _ => {
                        use std::io::IsTerminal as _;
                        match config.console.stream {
                            Stream::Stderr => io::stderr().is_terminal(),
                            _ => io::stdout().is_terminal(),
                        }
                    }
                };
            outputs.push(Output {
                level: parse_level(&config.console.level).unwrap_or(LevelFilter::TRACE),
                format: config.console.format,
                color,
                sink: Arc::clone(&sink),
            });
            shared.push(("console".to_owned(), sink, counters));
        }
        for file in &config.files {
            let counters = Arc::new(Counters::named(&file.path.display().to_string()));
            let sink = file_sink(file, &tz, &self.clock, &counters, compressor.as_ref())?;
            outputs.push(Output {
                level: parse_level(&file.level).unwrap_or(LevelFilter::TRACE),
                format: file.format,
                color: false,
                sink: Arc::clone(&sink),
            });
            shared.push((file.path.display().to_string(), sink, counters));
        }
        for extra in self.writers {
            let counters = Arc::new(Counters::named(&extra.name));
            let sink: Arc<dyn Sink> = Arc::new(WriterSink {
                writer: std::sync::Mutex::new(extra.writer),
                counters: Arc::clone(&counters),
            });
            outputs.push(Output {
                level: extra.level,
                format: extra.format,
                color: false,
                sink: Arc::clone(&sink),
            });
            shared.push((extra.name, sink, counters));
        }
        #[cfg(feature = "audit")]
        let audit = match &config.audit {
            Some(audit) => {
                let counters = Arc::new(Counters::named("audit"));
                let settings = Arc::new(FileSettings::new(
                    &audit.path,
                    audit.rotation.max_size.map(ByteSize::as_u64),
                    period(audit.rotation.every),
                    audit.retention.max_files,
                    audit.retention.max_age.map(Duration::from),
                    false,
                    audit.mode,
                    tz.clone(),
                ));
                let file = RollingFile::open(
                    Arc::clone(&settings),
                    self.clock.clone(),
                    Arc::clone(&counters),
                    None,
                )?;
                Some(Arc::new(AuditLog::new(
                    file,
                    &settings,
                    audit.key.expose().as_bytes(),
                    &audit.key_id,
                    counters,
                )))
            }
            None => None,
        };

        let outputs_max = outputs
            .iter()
            .map(|o| o.level)
            .max()
            .unwrap_or(LevelFilter::OFF);
        let levels = Arc::new(LevelState::new(
            base,
            self.clock.clone(),
            outputs_max,
            // Without feature `audit`, validation refused an audit log.
            config.audit.is_some(),
        ));
        let layer = PrLayer {
            levels: Arc::clone(&levels),
            json: outputs.iter().any(|o| o.format == LogFormat::Json),
            text: outputs.iter().any(|o| o.format == LogFormat::Text),
            outputs,
            #[cfg(feature = "audit")]
            audit: audit.clone(),
            redactor: Arc::clone(&redactor),
            tz,
            clock: self.clock.clone(),
            source_location: config.source_location,
            rate_limit: config
                .rate_limit
                .as_ref()
                .map(|limits| crate::ratelimit::RateLimiter::new(limits, self.clock.clone())),
            #[cfg(feature = "otel")]
            dispatch: std::sync::OnceLock::new(),
        };
        let guard = LoggingGuard {
            outputs: shared,
            #[cfg(feature = "audit")]
            audit,
            compressor,
            redactor,
            levels: LevelHandle::new(levels),
            flush_timeout: config.flush_timeout.as_std(),
            closed: false,
        };
        Ok((layer, guard))
    }

    /// Builds the subscriber and installs it globally.
    ///
    /// # Errors
    ///
    /// As [`init`].
    ///
    /// With `log_bridge` on (the default), records of the `log` crate
    /// become events too ([`bridge_log`]).
    pub fn init(self) -> Result<LoggingGuard, Error> {
        let bridge = self.config.log_bridge;
        let (dispatch, guard) = self.build()?;
        tracing::dispatcher::set_global_default(dispatch).map_err(|_| Error::AlreadyInitialized)?;
        if bridge {
            bridge_log()?;
        }
        Ok(guard)
    }
}

/// Routes the records of the `log` crate (which many libraries log
/// through) to tracing's current subscriber, as events with the record's
/// level; pr-logging writes them with the record's own target, module and
/// location, filtered by its directives for that target. [`init`] calls it
/// (`log_bridge`, on by default); call it yourself when you install the
/// subscriber another way. Calling it again is a no-op.
///
/// Every `log` record reaches the subscriber's filter (the bridge sets
/// `log`'s own maximum level to `trace`), so runtime level changes apply to
/// bridged records as to the others.
///
/// # Errors
///
/// [`Error::LogBridge`] when another `log` logger is installed in this
/// process.
pub fn bridge_log() -> Result<(), Error> {
    static BRIDGED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let bridged = *BRIDGED.get_or_init(|| tracing_log::LogTracer::init().is_ok());
    if bridged {
        Ok(())
    } else {
        Err(Error::LogBridge)
    }
}

fn period(every: Every) -> Option<Period> {
    match every {
        Every::Hourly => Some(Period::Hourly),
        Every::Daily => Some(Period::Daily),
        _ => None,
    }
}

fn file_sink(
    file: &FileConfig,
    tz: &Tz,
    clock: &Clock,
    counters: &Arc<Counters>,
    compressor: Option<&Arc<Compressor>>,
) -> Result<Arc<dyn Sink>, Error> {
    let settings = Arc::new(FileSettings::new(
        &file.path,
        file.rotation.max_size.map(ByteSize::as_u64),
        period(file.rotation.every),
        file.retention.max_files,
        file.retention.max_age.map(Duration::from),
        file.compress,
        file.mode,
        tz.clone(),
    ));
    let rolling = RollingFile::open(
        settings,
        clock.clone(),
        Arc::clone(counters),
        compressor.filter(|_| file.compress).cloned(),
    )?;
    Ok(match &file.queue {
        Some(queue) => Arc::new(QueueSink::start(
            rolling,
            queue.capacity,
            queue.when_full,
            Arc::clone(counters),
        )?),
        None => Arc::new(FileSink {
            file: std::sync::Mutex::new(rolling),
        }),
    })
}

/// Keeps logging running; dropping it (also while a panic unwinds) does
/// what [`LoggingGuard::shutdown`] does: writes out every output's queue,
/// within `flush_timeout`, stops the writer threads and finishes
/// compression.
#[must_use = "dropping the guard flushes and stops the writers"]
#[derive(Debug)]
pub struct LoggingGuard {
    outputs: Vec<(String, Arc<dyn Sink>, Arc<Counters>)>,
    #[cfg(feature = "audit")]
    audit: Option<Arc<AuditLog>>,
    compressor: Option<Arc<Compressor>>,
    redactor: Arc<Redactor>,
    levels: LevelHandle,
    flush_timeout: Duration,
    /// Shut down already: dropping does nothing more.
    closed: bool,
}

/// What [`LoggingGuard::flush`] or [`LoggingGuard::shutdown`] could not
/// write by the deadline (`flush_timeout`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// Each output with lines not written by the deadline, and how many:
    /// still queued after a flush, lost after a shutdown (and counted as
    /// dropped).
    pub unwritten: Vec<(String, u64)>,
}

impl FlushReport {
    /// Whether every line was written.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.unwritten.is_empty()
    }

    /// Lines not written, all outputs together.
    #[must_use]
    pub fn lines(&self) -> u64 {
        self.unwritten.iter().map(|(_, n)| n).sum()
    }
}

impl LoggingGuard {
    /// The audit log's counters, when there is one.
    fn audit_counters(&self) -> Option<&Arc<Counters>> {
        #[cfg(feature = "audit")]
        return self.audit.as_ref().map(|audit| &audit.counters);
        #[cfg(not(feature = "audit"))]
        None
    }

    /// The handle that changes levels at run time.
    #[must_use]
    pub fn levels(&self) -> LevelHandle {
        self.levels.clone()
    }

    /// Counters of every output and of redaction.
    #[must_use]
    pub fn snapshot(&self) -> LoggingSnapshot {
        let outputs = self
            .outputs
            .iter()
            .map(|(name, _, counters)| counters.snapshot(name))
            .chain(self.audit_counters().map(|c| c.snapshot("audit")))
            .collect();
        LoggingSnapshot {
            outputs,
            redactions: self.redactor.count(),
        }
    }

    /// A probe of each output's recent write errors and dropped lines, for
    /// a health check (see [`HealthProbe`]).
    #[must_use]
    pub fn health_probe(&self) -> HealthProbe {
        let outputs = self
            .outputs
            .iter()
            .map(|(name, _, counters)| (name.clone(), Arc::clone(counters)))
            .chain(
                self.audit_counters()
                    .map(|c| ("audit".to_owned(), Arc::clone(c))),
            )
            .collect();
        HealthProbe::new(outputs)
    }

    /// Installs a panic hook that logs each panic at ERROR (target `panic`,
    /// with its message, location and thread) through the global
    /// subscriber, flushes every output (waiting `flush_timeout` at
    /// most), then runs the previous hook.
    pub fn install_panic_hook(&self) {
        let sinks = self
            .outputs
            .iter()
            .map(|(_, sink, _)| Arc::clone(sink))
            .collect();
        crate::helpers::install_panic_hook(sinks, self.flush_timeout);
    }

    /// Writes out everything buffered or queued so far, waiting
    /// `flush_timeout` at most for the queues (all outputs together),
    /// and waits for the compression of files rotated so far. The report
    /// names the outputs whose queue was not written out by then (an output
    /// that does not drain, such as a stdout pipe nobody reads).
    #[expect(
        clippy::must_use_candidate,
        reason = "a caller that only wants the lines out (a shutdown path) may ignore the report"
    )]
    pub fn flush(&self) -> FlushReport {
        let deadline = Instant::now() + self.flush_timeout;
        let unwritten = self
            .outputs
            .iter()
            .filter_map(|(name, sink, _)| {
                let n = sink.flush(deadline);
                (n > 0).then(|| (name.clone(), n))
            })
            .collect();
        #[cfg(feature = "audit")]
        if let Some(audit) = &self.audit {
            audit.flush();
        }
        if let Some(compressor) = &self.compressor {
            compressor.wait();
        }
        FlushReport { unwritten }
    }

    /// Writes out every output's queue, waiting `flush_timeout` at most
    /// (all outputs together), stops the writer threads and finishes
    /// compression; what dropping the guard does, with the report of the
    /// lines lost: still queued at the deadline (a writer stuck on an
    /// output that does not drain is left behind). Lost lines are also
    /// counted as dropped. Lines logged afterwards are dropped.
    #[expect(
        clippy::must_use_candidate,
        reason = "a caller that only wants what dropping does, explicitly, may ignore the report"
    )]
    pub fn shutdown(mut self) -> FlushReport {
        self.close()
    }

    fn close(&mut self) -> FlushReport {
        if std::mem::replace(&mut self.closed, true) {
            return FlushReport::default();
        }
        let deadline = Instant::now() + self.flush_timeout;
        let unwritten = self
            .outputs
            .iter()
            .filter_map(|(name, sink, _)| {
                let n = sink.shutdown(deadline);
                (n > 0).then(|| (name.clone(), n))
            })
            .collect();
        #[cfg(feature = "audit")]
        if let Some(audit) = &self.audit {
            audit.flush();
        }
        if let Some(compressor) = &self.compressor {
            compressor.stop();
        }
        FlushReport { unwritten }
    }
}

impl Drop for LoggingGuard {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
