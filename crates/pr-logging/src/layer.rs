//! The `tracing-subscriber` layer: filters, formats each event once per
//! format (JSON, text) with redaction, and hands the line to each output
//! whose level admits it. Audit events go to the audit log only.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

#[cfg(feature = "audit")]
use crate::audit::AuditLog;
use crate::config::LogFormat;
use crate::filter::LevelState;
use crate::json::{Escaper, escape_into, quoted};
use crate::output::Sink;
use crate::redact::Redactor;
use crate::time::{Tz, write_rfc3339};
use pr_core::time::Clock;

/// One output as the layer sees it.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) level: LevelFilter,
    pub(crate) format: LogFormat,
    pub(crate) color: bool,
    pub(crate) sink: Arc<dyn Sink>,
}

/// The layer.
#[derive(Debug)]
pub(crate) struct PrLayer {
    pub(crate) levels: Arc<LevelState>,
    pub(crate) outputs: Vec<Output>,
    #[cfg(feature = "audit")]
    pub(crate) audit: Option<Arc<AuditLog>>,
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) tz: Tz,
    pub(crate) clock: Clock,
    pub(crate) source_location: bool,
    pub(crate) json: bool,
    pub(crate) text: bool,
    pub(crate) rate_limit: Option<crate::ratelimit::RateLimiter>,
    /// The subscriber this layer is part of, to read a span's
    /// OpenTelemetry context through (feature `otel`).
    #[cfg(feature = "otel")]
    pub(crate) dispatch: std::sync::OnceLock<tracing::dispatcher::WeakDispatch>,
}

/// A span's formatted fields, kept in its extensions.
#[derive(Debug, Default)]
struct SpanFields {
    /// `,"k":v` entries.
    json: String,
    /// ` k=v` entries.
    text: String,
    trace_id: Option<String>,
    span_id: Option<String>,
}

#[derive(Default)]
struct Buffers {
    json: String,
    text: String,
    scratch: String,
    debug: String,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

fn level_str(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

fn level_color(level: Level) -> &'static str {
    match level {
        Level::ERROR => "\x1b[31m",
        Level::WARN => "\x1b[33m",
        Level::INFO => "\x1b[32m",
        Level::DEBUG => "\x1b[34m",
        Level::TRACE => "\x1b[35m",
    }
}

/// Writes fields as JSON entries and/or text entries, redacting.
struct FieldWriter<'a> {
    json: Option<&'a mut String>,
    text: Option<&'a mut String>,
    scratch: &'a mut String,
    debug: &'a mut String,
    redactor: &'a Redactor,
    /// Whether the `message` field is written bare in text (events only).
    bare_message: bool,
    trace_id: Option<&'a mut Option<String>>,
    span_id: Option<&'a mut Option<String>>,
}

impl FieldWriter<'_> {
    fn key(&mut self, name: &str) {
        if let Some(json) = self.json.as_deref_mut() {
            json.push_str(",\"");
            escape_into(json, name);
            json.push_str("\":");
        }
        if let Some(text) = self.text.as_deref_mut()
            && !(self.bare_message && name == "message")
        {
            text.push(' ');
            escape_into(text, name);
            text.push('=');
        }
    }

    fn string(&mut self, name: &str, value: &str) {
        self.capture_ids(name, value);
        self.key(name);
        if self.redactor.is_sensitive(name) {
            self.scratch.clear();
            self.redactor.replacement(value, self.scratch);
            let redacted = std::mem::take(self.scratch);
            self.raw_string(name, &redacted);
            *self.scratch = redacted;
            return;
        }
        if self.redactor.patterns() {
            self.scratch.clear();
            if self.redactor.scan(value, self.scratch) {
                let redacted = std::mem::take(self.scratch);
                self.raw_string(name, &redacted);
                *self.scratch = redacted;
                return;
            }
        }
        self.raw_string(name, value);
    }

    fn raw_string(&mut self, name: &str, value: &str) {
        if let Some(json) = self.json.as_deref_mut() {
            quoted(json, value);
        }
        if let Some(text) = self.text.as_deref_mut() {
            if self.bare_message && name == "message" {
                text.push(' ');
                escape_into(text, value);
            } else {
                quoted(text, value);
            }
        }
    }

    fn capture_ids(&mut self, name: &str, value: &str) {
        match name {
            "trace_id" => {
                if let Some(slot) = self.trace_id.as_deref_mut() {
                    *slot = Some(value.to_owned());
                }
            }
            "span_id" => {
                if let Some(slot) = self.span_id.as_deref_mut() {
                    *slot = Some(value.to_owned());
                }
            }
            _ => {}
        }
    }

    fn number(&mut self, name: &str, value: impl fmt::Display) {
        if self.redactor.is_sensitive(name) {
            let mut scratch = String::new();
            write!(scratch, "{value}").ok();
            self.string(name, &scratch);
            return;
        }
        self.key(name);
        if let Some(json) = self.json.as_deref_mut() {
            write!(json, "{value}").ok();
        }
        if let Some(text) = self.text.as_deref_mut() {
            write!(text, "{value}").ok();
        }
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.string(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        let needs_text = self.redactor.is_sensitive(name)
            || self.redactor.patterns()
            || matches!(name, "trace_id" | "span_id");
        if needs_text {
            let mut formatted = std::mem::take(self.debug);
            formatted.clear();
            write!(formatted, "{value:?}").ok();
            self.string(name, &formatted);
            *self.debug = formatted;
            return;
        }
        self.key(name);
        if let Some(json) = self.json.as_deref_mut() {
            json.push('"');
            write!(Escaper(json), "{value:?}").ok();
            json.push('"');
        }
        if let Some(text) = self.text.as_deref_mut() {
            if self.bare_message && name == "message" {
                text.push(' ');
                write!(Escaper(text), "{value:?}").ok();
            } else {
                text.push('"');
                write!(Escaper(text), "{value:?}").ok();
                text.push('"');
            }
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field.name(), value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field.name(), value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.number(field.name(), value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.number(field.name(), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.number(field.name(), value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.number(field.name(), value);
        } else {
            self.string(field.name(), &value.to_string());
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            write!(text, ": {cause}").ok();
            source = cause.source();
        }
        self.string(field.name(), &text);
    }
}

/// Hides the fields whose names start with a prefix: `log.` on a bridged
/// `log` record (`log.target`, `log.file`, ...: the line shows them as its
/// target and location instead), and `otel.` on spans (`otel.name`,
/// `otel.kind`: instructions to the OpenTelemetry layer, not data).
struct SkipFields<'a, 'b>(&'static str, &'a mut FieldWriter<'b>);

impl SkipFields<'_, '_> {
    fn keep(&self, field: &Field) -> bool {
        !field.name().starts_with(self.0)
    }
}

impl Visit for SkipFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.keep(field) {
            self.1.record_str(field, value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.keep(field) {
            self.1.record_debug(field, value);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.keep(field) {
            self.1.record_i64(field, value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.keep(field) {
            self.1.record_u64(field, value);
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.keep(field) {
            self.1.record_bool(field, value);
        }
    }
}

/// The rate-limit key of a bridged `log` record: its target, file and line
/// (code-defined, so the number of keys is bounded by the program).
fn log_callsite_key(record: &Metadata<'_>) -> usize {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (record.target(), record.file(), record.line()).hash(&mut hasher);
    // Truncation on 32-bit targets only narrows the key space.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a hash, truncated on purpose"
    )]
    let key = hasher.finish() as usize;
    key
}

impl PrLayer {
    fn record_span<S>(&self, id: &Id, ctx: &Context<'_, S>, record: &dyn Fn(&mut dyn Visit))
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let mut fields = extensions.remove::<SpanFields>().unwrap_or_default();
        let mut scratch = String::new();
        let mut debug = String::new();
        {
            let SpanFields {
                json,
                text,
                trace_id,
                span_id,
            } = &mut fields;
            let mut writer = FieldWriter {
                json: self.json.then_some(json),
                text: self.text.then_some(text),
                scratch: &mut scratch,
                debug: &mut debug,
                redactor: &self.redactor,
                bare_message: false,
                trace_id: Some(trace_id),
                span_id: Some(span_id),
            };
            record(&mut SkipFields("otel.", &mut writer));
        }
        extensions.insert(fields);
    }

    fn format<S>(
        &self,
        event: &Event<'_>,
        ctx: &Context<'_, S>,
        bufs: &mut Buffers,
        json: bool,
        text: bool,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        // A record bridged from the `log` crate arrives on one callsite per
        // level (target `log`); its own target, module and location are in
        // `log.*` fields, which the normalized metadata reads back.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let level = *meta.level();
        let now = self.clock.wall();
        let Buffers {
            json: jbuf,
            text: tbuf,
            scratch,
            debug,
        } = bufs;
        jbuf.clear();
        tbuf.clear();
        if json {
            jbuf.push_str("{\"timestamp\":\"");
            write_rfc3339(jbuf, now, &self.tz);
            jbuf.push_str("\",\"level\":\"");
            jbuf.push_str(level_str(level));
            jbuf.push_str("\",\"target\":");
            quoted(jbuf, meta.target());
        }
        if text {
            write_rfc3339(tbuf, now, &self.tz);
            tbuf.push(' ');
            let color = self
                .outputs
                .iter()
                .any(|o| o.color && o.format == LogFormat::Text);
            if color {
                tbuf.push_str(level_color(level));
            }
            let name = level_str(level);
            for _ in name.len()..5 {
                tbuf.push(' ');
            }
            tbuf.push_str(name);
            if color {
                tbuf.push_str("\x1b[0m");
            }
        }
        let mut trace_id = None;
        let mut span_id = None;
        let leaf = ctx.event_span(event);
        // Read before any span's extensions are borrowed: the OpenTelemetry
        // layer locks them to build the context.
        #[cfg(feature = "otel")]
        let otel_ids = leaf.as_ref().and_then(|leaf| self.otel_ids(&leaf.id()));
        if text {
            if let Some(leaf) = &leaf {
                let mut any = false;
                for span in leaf.scope().from_root() {
                    tbuf.push(if any { ':' } else { ' ' });
                    any = true;
                    tbuf.push_str(span.name());
                    let extensions = span.extensions();
                    if let Some(fields) = extensions.get::<SpanFields>()
                        && !fields.text.is_empty()
                    {
                        tbuf.push('{');
                        tbuf.push_str(&fields.text[1..]);
                        tbuf.push('}');
                    }
                }
                if any {
                    tbuf.push(':');
                }
            }
            tbuf.push(' ');
            tbuf.push_str(meta.target());
            tbuf.push(':');
        }
        {
            let mut writer = FieldWriter {
                json: json.then_some(&mut *jbuf),
                text: text.then_some(&mut *tbuf),
                scratch,
                debug,
                redactor: &self.redactor,
                bare_message: true,
                trace_id: None,
                span_id: None,
            };
            if normalized.is_some() {
                event.record(&mut SkipFields("log.", &mut writer));
            } else {
                event.record(&mut writer);
            }
        }
        if let Some(leaf) = leaf {
            if json {
                jbuf.push_str(",\"span\":{\"name\":");
                quoted(jbuf, leaf.name());
            }
            let mut names = String::new();
            for span in leaf.scope().from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<SpanFields>() {
                    if json {
                        jbuf.push_str(&fields.json);
                    }
                    if fields.trace_id.is_some() {
                        trace_id.clone_from(&fields.trace_id);
                    }
                    if fields.span_id.is_some() {
                        span_id.clone_from(&fields.span_id);
                    }
                }
                if json {
                    names.push(if names.is_empty() { '[' } else { ',' });
                    quoted(&mut names, span.name());
                }
            }
            if json && !names.is_empty() {
                jbuf.push_str("},\"spans\":");
                jbuf.push_str(&names);
                jbuf.push(']');
            }
        }
        #[cfg(feature = "otel")]
        if let Some((trace, span)) = otel_ids {
            trace_id = Some(trace);
            span_id = Some(span);
        }
        if json {
            if let Some(id) = &trace_id {
                jbuf.push_str(",\"trace_id\":");
                quoted(jbuf, id);
            }
            if let Some(id) = &span_id {
                jbuf.push_str(",\"span_id\":");
                quoted(jbuf, id);
            }
            if self.source_location && level >= Level::DEBUG {
                if let Some(file) = meta.file() {
                    jbuf.push_str(",\"file\":");
                    quoted(jbuf, file);
                }
                if let Some(line) = meta.line() {
                    write!(jbuf, ",\"line\":{line}").ok();
                }
            }
            jbuf.push('}');
        }
        if text {
            if self.source_location
                && level >= Level::DEBUG
                && let (Some(file), Some(line)) = (meta.file(), meta.line())
            {
                write!(tbuf, " ({file}:{line})").ok();
            }
            tbuf.push('\n');
        }
    }
}

#[cfg(feature = "otel")]
impl PrLayer {
    /// The W3C hex trace and span ids of span `id`'s OpenTelemetry
    /// context, when an OpenTelemetry layer records it and it is valid.
    fn otel_ids(&self, id: &Id) -> Option<(String, String)> {
        use opentelemetry::trace::TraceContextExt as _;
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| {
            (
                format!("{:032x}", context.trace_id()),
                format!("{:016x}", context.span_id()),
            )
        })
    }
}

impl PrLayer {
    /// Writes the line that reports events suppressed by the rate limit.
    fn write_summary(&self, meta: &Metadata<'_>, suppressed: u64) {
        let now = self.clock.wall();
        let location = match (meta.file(), meta.line()) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            _ => meta.name().to_owned(),
        };
        let mut json = String::new();
        let mut text = String::new();
        if self.json {
            json.push_str("{\"timestamp\":\"");
            write_rfc3339(&mut json, now, &self.tz);
            json.push_str("\",\"level\":\"WARN\",\"target\":");
            quoted(&mut json, meta.target());
            write!(
                json,
                ",\"message\":\"rate limit: events suppressed\",\"suppressed\":{suppressed},\"callsite\":"
            )
            .ok();
            quoted(&mut json, &location);
            json.push_str("}\n");
        }
        if self.text {
            write_rfc3339(&mut text, now, &self.tz);
            text.push_str("  WARN ");
            text.push_str(meta.target());
            write!(
                text,
                ": rate limit: events suppressed suppressed={suppressed} callsite=\""
            )
            .ok();
            escape_into(&mut text, &location);
            text.push_str("\"\n");
        }
        for output in &self.outputs {
            if meta.level() <= &output.level {
                let line = match output.format {
                    LogFormat::Text => &text,
                    _ => &json,
                };
                output.sink.write_line(line.as_bytes());
            }
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for PrLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        self.levels.interest(meta)
    }

    #[cfg(feature = "otel")]
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.levels.enabled(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.levels.max_level())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.record_span(id, &ctx, &|visit| attrs.record(visit));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.record_span(id, &ctx, &|visit| values.record(visit));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        #[cfg(feature = "audit")]
        if self.levels.is_audit(meta)
            && let Some(audit) = &self.audit
        {
            let run = |bufs: &mut Buffers| {
                self.format(event, &ctx, bufs, true, false);
                audit.write(&bufs.json);
            };
            BUFFERS.with(|cell| match cell.try_borrow_mut() {
                Ok(mut bufs) => run(&mut bufs),
                Err(_) => run(&mut Buffers::default()),
            });
            return;
        }
        if let Some(limiter) = &self.rate_limit {
            // A bridged `log` record is limited per its own call site, not
            // per the callsite all records of its level share.
            let verdict = match event.normalized_metadata() {
                Some(record) => limiter.check(&record, log_callsite_key(&record)),
                None => limiter.check(meta, std::ptr::from_ref(meta) as usize),
            };
            if let Some(suppressed) = verdict.summary {
                match event.normalized_metadata() {
                    Some(record) => self.write_summary(&record, suppressed),
                    None => self.write_summary(meta, suppressed),
                }
            }
            if !verdict.pass {
                return;
            }
        }
        let run = |bufs: &mut Buffers| {
            self.format(event, &ctx, bufs, self.json, self.text);
            if self.json {
                bufs.json.push('\n');
            }
            for output in &self.outputs {
                if meta.level() <= &output.level {
                    let line = match output.format {
                        LogFormat::Text => &bufs.text,
                        _ => &bufs.json,
                    };
                    output.sink.write_line(line.as_bytes());
                }
            }
        };
        BUFFERS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut bufs) => run(&mut bufs),
            Err(_) => run(&mut Buffers::default()),
        });
    }
}
