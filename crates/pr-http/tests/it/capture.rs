//! A tracing layer that keeps every event with the fields of its spans, for tests that check what
//! a log line of a request would carry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// For each event, its fields, its level (`level`) and target (`target`), the fields of the
/// spans around it (what a log line would carry) and their names from the root (`spans`,
/// `a>b`).
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

/// A span's fields, kept in its extensions.
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Captured {
    /// The process's capture, the global dispatcher: a server's tasks run on any of the runtime's
    /// threads, and only the global dispatcher reaches them all. Tests running in one process
    /// (`cargo test`) share it, so each picks its own events out (by request id).
    pub(crate) fn install() -> Self {
        static GLOBAL: OnceLock<Captured> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let captured = Self::default();
                let subscriber = tracing_subscriber::registry().with(captured.clone());
                tracing::dispatcher::set_global_default(tracing::Dispatch::new(subscriber))
                    .unwrap();
                captured
            })
            .clone()
    }

    /// The events so far.
    pub(crate) fn events(&self) -> Vec<BTreeMap<String, String>> {
        self.0.lock().unwrap().clone()
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Captured {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        values.record(extensions.get_mut::<Fields>().unwrap());
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut all = BTreeMap::new();
        let mut names = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                names.push(span.name());
                if let Some(fields) = span.extensions().get::<Fields>() {
                    all.extend(fields.0.clone());
                }
            }
        }
        all.insert("spans".into(), names.join(">"));
        let mut own = Fields(BTreeMap::new());
        event.record(&mut own);
        all.extend(own.0);
        all.insert("level".into(), event.metadata().level().to_string());
        all.insert("target".into(), event.metadata().target().to_owned());
        self.0.lock().unwrap().push(all);
    }
}
