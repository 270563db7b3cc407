//! Secrets never reach a file: by key, inside a span, as a bearer token in a
//! message, as a card number; HMAC mode correlates without revealing.

use pr_core::secret::SecretString;
use pr_logging::{LogFormat, Logging, RedactionMode};
use pr_test_support::temp_dir;
use tracing::Level;

use crate::support::{Buf, all_lines, plain_file, quiet};

#[test]
fn secrets_never_reach_the_files() {
    let dir = temp_dir("logging-redact");
    let mut config = quiet();
    config.files.push(plain_file(dir.path().join("app.log")));
    let mut text = plain_file(dir.path().join("text.log"));
    text.format = LogFormat::Text;
    config.files.push(text);
    let (dispatch, guard) = Logging::builder(&config).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(password = "S3cr3t-Passw0rd!", user = "ada", "login");
        tracing::info!(API_KEY = 1_234_567_890_123_u64, "numeric secret");
        let span = tracing::info_span!("req", authorization = "Basic S3cr3t-Passw0rd!");
        let _e = span.enter();
        tracing::info!("calling with Bearer S3cr3tT0kenValue123 now");
        tracing::info!(card = "4111 1111 1111 1111", "paid");
        tracing::info!(note = ?"my card is 4111-1111-1111-1111", "debug value");
        tracing::info!("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXMzY3IzdA");
    });
    let stats = guard.snapshot();
    drop(guard);
    for name in ["app.log", "text.log"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [
            "S3cr3t",
            "4111 1111",
            "4111-1111",
            "4111111111111111",
            "1234567890123",
            "c2lnbmF0dXJl",
        ] {
            assert!(!text.contains(secret), "{secret} found in {name}:\n{text}");
        }
        assert!(text.contains("[redacted]"));
        assert!(text.contains("ada"), "non-secrets stay");
    }
    assert_eq!(all_lines(dir.path(), "app").len(), 6);
    // password, API_KEY, authorization (twice: JSON and text share a
    // formatting pass), bearer, card, card in debug, JWT.
    assert!(stats.redactions >= 7, "{stats:?}");
}

#[test]
fn hmac_mode_correlates() {
    let buf = Buf::default();
    let mut config = quiet();
    config.redaction.mode = RedactionMode::Hmac;
    config.redaction.hmac_key = Some(SecretString::new("an hmac key of at least 32 bytes!!"));
    config.redaction.hmac_key_id = "k2".to_owned();
    let (dispatch, guard) = Logging::builder(&config)
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(token = "abc-123-secret", "one");
        tracing::info!(token = "abc-123-secret", "two");
        tracing::info!(token = "other-secret", "three");
    });
    drop(guard);
    let lines = buf.lines();
    let a = lines[0]["token"].as_str().unwrap();
    assert!(a.starts_with("hmac:k2:"), "{a}");
    assert_eq!(lines[1]["token"], a);
    assert_ne!(lines[2]["token"], a);
    assert!(!buf.text().contains("abc-123"));
}

#[test]
fn redaction_can_be_turned_off() {
    let buf = Buf::default();
    let mut config = quiet();
    config.redaction.enabled = false;
    let (dispatch, guard) = Logging::builder(&config)
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!(password = "visible", "x"));
    drop(guard);
    assert_eq!(buf.lines()[0]["password"], "visible");
}
