//! The health probe: an output with write errors or dropped lines is
//! degraded, by name, and healthy again once its writes succeed.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pr_logging::{LogFormat, Logging};
use tracing::Level;

use crate::support::quiet;

/// A writer that fails while `failing` is set.
#[derive(Clone, Default)]
struct Flaky(Arc<AtomicBool>);

impl Write for Flaky {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.0.load(Ordering::SeqCst) {
            Err(io::Error::other("the collector is down"))
        } else {
            Ok(data.len())
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_degrade_the_output_by_name_until_writes_succeed() {
    let flaky = Flaky::default();
    let (dispatch, guard) = Logging::builder(&quiet())
        .writer("collector", Level::TRACE, LogFormat::Json, flaky.clone())
        .writer("steady", Level::TRACE, LogFormat::Json, io::sink())
        .build()
        .unwrap();
    let probe = guard.health_probe();
    let log = || tracing::dispatcher::with_default(&dispatch, || tracing::info!("line"));

    log();
    assert!(!probe.check().is_degraded());

    flaky.0.store(true, Ordering::SeqCst);
    log();
    log();
    let report = probe.check();
    let degraded: Vec<_> = report.degraded().map(|o| o.name.as_str()).collect();
    assert_eq!(degraded, ["collector"], "{report:?}");
    let collector = &report.outputs[0];
    assert_eq!(collector.new_write_errors, 2);
    assert!(collector.failing);
    // No new error, but no write has succeeded either: still degraded.
    assert!(probe.check().is_degraded());

    flaky.0.store(false, Ordering::SeqCst);
    log();
    let report = probe.check();
    assert!(!report.is_degraded(), "{report:?}");
    assert_eq!(
        guard.snapshot().output("collector").unwrap().write_errors,
        2
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_degrades_the_file_output() {
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    let mut config = quiet();
    config
        .files
        .push(crate::support::plain_file(std::path::PathBuf::from(
            "/dev/full",
        )));
    config.files[0].queue = Some(pr_logging::QueueConfig::default());
    let (dispatch, guard) = Logging::builder(&config).build().unwrap();
    let probe = guard.health_probe();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("lost"));
    assert!(guard.flush().is_complete());
    let report = probe.check();
    let full = report.degraded().next().expect("degraded");
    assert_eq!(full.name, "/dev/full");
    assert!(
        full.new_write_errors >= 1 && full.new_dropped >= 1,
        "{report:?}"
    );
}
