//! Rate limiting per callsite, the timing and metric helpers, the panic hook.

use std::time::Duration;

use pr_core::time::ManualClock;
use pr_logging::{LogFormat, LogRateLimitConfig, Logging};
use tracing::Level;

use crate::support::{Buf, T0, quiet};

#[test]
fn rate_limit_per_callsite_with_a_summary() {
    let buf = Buf::default();
    let mut config = quiet();
    let mut limits = LogRateLimitConfig::default();
    limits.per_second = 3;
    limits.targets.insert("it::helpers::noisy".to_owned(), 1);
    limits.targets.insert("it::helpers::free".to_owned(), 0);
    config.rate_limit = Some(limits);
    let clock = ManualClock::at_unix(T0);
    let (dispatch, guard) = Logging::builder(&config)
        .clock(clock.clock())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    // One callsite, called from both loops.
    let hot = |i: u64| tracing::info!(i, "hot loop");
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..10_u64 {
            hot(i);
            tracing::info!(target: "it::helpers::noisy", i, "noisy");
            tracing::info!(target: "it::helpers::free", i, "free");
        }
        tracing::info!("another callsite is not limited by the first");
        clock.advance(Duration::from_secs(1));
        for i in 10..12_u64 {
            hot(i);
        }
    });
    drop(guard);
    let lines = buf.lines();
    let count = |message: &str| lines.iter().filter(|l| l["message"] == message).count();
    assert_eq!(count("hot loop"), 3 + 2);
    assert_eq!(count("noisy"), 1);
    assert_eq!(count("free"), 10);
    assert_eq!(count("another callsite is not limited by the first"), 1);
    let summaries: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "rate limit: events suppressed")
        .collect();
    assert_eq!(summaries.len(), 1, "{lines:?}");
    assert_eq!(summaries[0]["suppressed"], 7);
    assert_eq!(summaries[0]["level"], "WARN");
    assert!(
        summaries[0]["callsite"]
            .as_str()
            .unwrap()
            .contains("helpers.rs:")
    );
}

#[test]
fn timed_and_metric_events() {
    let buf = Buf::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        {
            let timed = pr_logging::timed("load");
            let _ = timed.elapsed();
        }
        pr_logging::log_metric("queue_depth", 17.0, "items");
    });
    drop(guard);
    let lines = buf.lines();
    assert_eq!(lines[0]["target"], "pr_logging::timing");
    assert_eq!(lines[0]["operation"], "load");
    assert!(lines[0]["elapsed_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(lines[1]["metric"], "queue_depth");
    assert_eq!(lines[1]["value"], 17.0);
    assert_eq!(lines[1]["unit"], "items");
}

#[test]
fn panic_hook_logs_the_panic_with_its_location() {
    let buf = Buf::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    guard.install_panic_hook();
    tracing::dispatcher::with_default(&dispatch, || {
        let result = std::panic::catch_unwind(|| {
            panic!("boom {}", 42);
        });
        assert!(result.is_err());
    });
    drop(guard);
    let lines = buf.lines();
    let panic = lines.iter().find(|l| l["target"] == "panic").unwrap();
    assert_eq!(panic["level"], "ERROR");
    assert_eq!(panic["panic_message"], "boom 42");
    assert!(
        panic["panic_location"]
            .as_str()
            .unwrap()
            .contains("helpers.rs:")
    );
}
