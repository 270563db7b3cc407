//! Runtime levels: per-target filters, changes, temporary overrides that
//! revert on the injected clock, `RUST_LOG` replacing the config filter.

use std::time::Duration;

use pr_core::time::ManualClock;
use pr_errors::CodedError;
use pr_logging::{LogFormat, Logging};
use tracing::Level;

use crate::support::{Buf, T0, quiet};

fn messages(buf: &Buf) -> Vec<String> {
    buf.lines()
        .iter()
        .filter(|l| l["target"] != "pr_logging")
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn filters_and_runtime_changes() {
    let buf = Buf::default();
    let mut config = quiet();
    config.filter = "warn,it::levels=info".to_owned();
    let clock = ManualClock::at_unix(T0);
    let (dispatch, guard) = Logging::builder(&config)
        .clock(clock.clock())
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    let levels = guard.levels();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::debug!("1 hidden");
        tracing::info!("2 shown");
        tracing::info!(target: "other", "3 hidden");
        tracing::warn!(target: "other", "4 shown");

        levels.set("warn,it::levels=debug").unwrap();
        tracing::debug!("5 shown");

        let err = levels.set("debug,x=loud").unwrap_err();
        assert_eq!(err.code().as_str(), "logging.invalid_filter");
        tracing::debug!("6 still shown");

        levels.set_for("trace", Duration::from_secs(60)).unwrap();
        assert_eq!(levels.current(), "trace");
        tracing::trace!("7 shown during the override");
        tracing::info!(target: "other", "8 shown during the override");
        clock.advance(Duration::from_secs(59));
        tracing::trace!("9 shown, one second left");
        clock.advance(Duration::from_secs(1));
        tracing::trace!("10 hidden: the override expired");
        tracing::info!(target: "other", "11 hidden");
        assert_eq!(levels.current(), "warn,it::levels=debug");
        assert_eq!(levels.temporary_until(), None);
        tracing::debug!("12 shown");
    });
    drop(guard);
    assert_eq!(
        messages(&buf),
        [
            "2 shown",
            "4 shown",
            "5 shown",
            "6 still shown",
            "7 shown during the override",
            "8 shown during the override",
            "9 shown, one second left",
            "12 shown"
        ]
    );
}

#[test]
fn rust_log_replaces_the_config_filter() {
    let buf = Buf::default();
    let mut config = quiet();
    config.filter = "error".to_owned();
    let (dispatch, guard) = Logging::builder(&config)
        .rust_log(Some("info".to_owned()))
        .writer("buf", Level::TRACE, LogFormat::Json, buf.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("shown"));
    assert_eq!(guard.levels().base(), "info");
    drop(guard);
    assert_eq!(messages(&buf), ["shown"]);

    let err = Logging::builder(&config)
        .rust_log(Some("info,[span]".to_owned()))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("RUST_LOG"), "{err}");
}

#[test]
fn output_levels() {
    let all = Buf::default();
    let errors = Buf::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .writer("all", Level::TRACE, LogFormat::Json, all.clone())
        .writer("errors", Level::WARN, LogFormat::Json, errors.clone())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::trace!("t");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    });
    let stats = guard.snapshot();
    drop(guard);
    assert_eq!(messages(&all), ["t", "i", "w", "e"]);
    assert_eq!(messages(&errors), ["w", "e"]);
    assert_eq!(stats.output("errors").unwrap().lines, 2);
}
