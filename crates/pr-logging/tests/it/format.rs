//! The JSON and text formats.

use pr_core::time::ManualClock;
use pr_logging::{LogFormat, Logging};
use pr_test_support::temp_dir;
use proptest::prelude::*;
use tracing::Level;

use crate::support::{Buf, T0, quiet};

fn capture(format: LogFormat, f: impl FnOnce()) -> Buf {
    let buf = Buf::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .clock(ManualClock::at_unix(T0 + 11).clock())
        .writer("buf", Level::TRACE, format, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, f);
    drop(guard);
    buf
}

#[test]
fn json_event_shape() {
    let buf = capture(LogFormat::Json, || {
        let outer = tracing::info_span!("request", method = "GET", trace_id = "4bf92f3577b34da6");
        let _o = outer.enter();
        let inner = tracing::info_span!("db", table = "orders");
        let _i = inner.enter();
        tracing::info!(rows = 3_u64, ok = true, ratio = 0.5, "query done");
        tracing::debug!("details");
    });
    let lines = buf.lines();
    assert_eq!(lines.len(), 2);
    let e = &lines[0];
    assert_eq!(e["timestamp"], "2026-11-23T10:00:11.000000Z");
    assert_eq!(e["level"], "INFO");
    assert_eq!(e["target"], "it::format");
    assert_eq!(e["message"], "query done");
    assert_eq!(e["rows"], 3);
    assert_eq!(e["ok"], true);
    assert_eq!(e["ratio"], 0.5);
    assert_eq!(e["span"]["name"], "db");
    assert_eq!(e["span"]["method"], "GET");
    assert_eq!(e["span"]["table"], "orders");
    assert_eq!(e["spans"], serde_json::json!(["request", "db"]));
    assert_eq!(e["trace_id"], "4bf92f3577b34da6");
    assert!(e.get("file").is_none(), "no location at INFO");
    assert_eq!(lines[1]["level"], "DEBUG");
    assert!(lines[1]["file"].as_str().unwrap().ends_with("format.rs"));
    assert!(lines[1]["line"].as_u64().is_some());
}

#[test]
fn span_fields_recorded_later_appear() {
    let buf = capture(LogFormat::Json, || {
        let span = tracing::info_span!("job", id = 7, state = tracing::field::Empty);
        let _e = span.enter();
        span.record("state", "running");
        tracing::info!("tick");
    });
    let e = &buf.lines()[0];
    assert_eq!(e["span"]["id"], 7);
    assert_eq!(e["span"]["state"], "running");
}

#[test]
fn text_format() {
    let buf = capture(LogFormat::Text, || {
        let span = tracing::info_span!("request", id = 7);
        let _e = span.enter();
        tracing::warn!(user = "ada", "line one\nline two");
    });
    let text = buf.text();
    assert_eq!(
        text,
        "2026-11-23T10:00:11.000000Z  WARN request{id=7}: it::format: line one\\nline two user=\"ada\"\n"
    );
    assert!(!text.contains('\x1b'), "no colour off a terminal");
}

#[test]
fn injection_is_escaped() {
    let buf = capture(LogFormat::Json, || {
        tracing::info!(
            evil = "x\"}\n{\"level\":\"ERROR\"\r\u{0}\u{2028}",
            "msg\nwith newline"
        );
    });
    let text = buf.text();
    assert_eq!(text.lines().count(), 1);
    let e: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(e["evil"], "x\"}\n{\"level\":\"ERROR\"\r\u{0}\u{2028}");
    assert_eq!(e["level"], "INFO");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_string_is_one_line_of_valid_json(value in any::<String>(), message in "\\PC*|[\\x00-\\x1f\\\\\"]*") {
        let buf = capture(LogFormat::Json, || {
            tracing::info!(value = %value, debug = ?value, "{message}");
        });
        let text = buf.text();
        prop_assert_eq!(text.matches('\n').count(), 1);
        let e: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        // Redaction may rewrite secret-looking values; otherwise they round-trip.
        if e["value"].as_str().is_some_and(|v| !v.contains("[redacted]")) {
            prop_assert_eq!(e["value"].as_str().unwrap(), value.as_str());
        }
    }
}

#[test]
fn text_colour_when_asked() {
    let dir = temp_dir("logging-colour");
    let mut config = quiet();
    config.console.enabled = false;
    let mut file = crate::support::plain_file(dir.path().join("app.log"));
    file.format = LogFormat::Text;
    config.files.push(file);
    // Colour belongs to the console only; files never get escape codes.
    config.console.color = pr_logging::Color::Always;
    let (dispatch, guard) = Logging::builder(&config).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::error!("plain"));
    drop(guard);
    let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
    assert!(text.contains("ERROR it::format: plain"), "{text}");
    assert!(!text.contains('\x1b'));
}

#[test]
fn init_installs_once() {
    let mut config = quiet();
    config.use_rust_log = false;
    let guard = pr_logging::init(&config).unwrap();
    let err = pr_logging::init(&config).unwrap_err();
    assert_eq!(
        pr_errors::CodedError::code(&err).as_str(),
        "logging.already_initialized"
    );
    drop(guard);
}

#[test]
fn console_text_on_stderr() {
    let mut config = quiet();
    config.console.enabled = true;
    config.console.stream = pr_logging::Stream::Stderr;
    config.console.format = LogFormat::Text;
    config.console.color = pr_logging::Color::Always;
    config.console.level = "warn".to_owned();
    let (dispatch, guard) = Logging::builder(&config).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("not on the console");
        tracing::warn!("one line on stderr from the console test");
    });
    guard.flush();
    let stats = guard.snapshot();
    drop(guard);
    let console = stats.output("console").unwrap();
    assert_eq!(console.lines, 1);
    assert_eq!(console.write_errors, 0);
}
