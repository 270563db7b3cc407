//! The process's panic hook, installed with the globals: a panic in any
//! thread (a handler's, a background task's, `main`'s) is an error-level
//! `app.panic` event through the service's logging, with its thread,
//! location and message, and counts in `pr_app_panics_total`; then the hook
//! that was there before runs (Rust's own prints to stderr). pr-http's
//! `catch_panic` keeps a handler's panic from taking the connection down;
//! this hook makes every panic seen, caught or not.

use std::any::Any;
use std::sync::Once;

/// Installs the hook once per process, around the one already there.
pub(crate) fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        metrics::describe_counter!(
            "pr_app_panics_total",
            "Panics in any thread of the process, caught or not."
        );
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location().map_or_else(String::new, |l| {
                format!("{}:{}:{}", l.file(), l.line(), l.column())
            });
            let thread = std::thread::current();
            tracing::error!(
                event = "app.panic",
                thread = thread.name().unwrap_or("unnamed"),
                location = %location,
                panic = %message(info.payload()),
                "a thread panicked"
            );
            metrics::counter!("pr_app_panics_total").increment(1);
            previous(info);
        }));
    });
}

/// The panic's message, when it has one (`panic!` with a format gives a
/// `String`, with a literal a `&str`).
fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a payload that is not text)")
}
