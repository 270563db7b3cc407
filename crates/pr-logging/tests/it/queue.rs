//! The non-blocking writer: lossless under two writers through rotation,
//! and an exact drop count when lossy.

use std::collections::HashSet;

use pr_core::time::ManualClock;
use pr_logging::{Logging, QueueConfig, WhenFull};
use pr_test_support::{TempDir, temp_dir};

use crate::support::{T0, all_lines, plain_file, quiet};

const PER_THREAD: u64 = 100_000;

fn two_writers(when_full: WhenFull, capacity: usize, dir: &TempDir) -> pr_logging::LoggingSnapshot {
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.max_size = Some(pr_core::units::ByteSize(1024 * 1024));
    let mut queue = QueueConfig::default();
    queue.capacity = capacity;
    queue.when_full = when_full;
    file.queue = Some(queue);
    config.files.push(file);
    let (dispatch, guard) = Logging::builder(&config)
        .clock(ManualClock::at_unix(T0).clock())
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..2_u64 {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..PER_THREAD {
                        tracing::info!(t, i, "line");
                    }
                });
            });
        }
    });
    guard.flush();
    let stats = guard.snapshot();
    drop(guard);
    stats
}

fn keys(dir: &TempDir) -> Vec<(u64, u64)> {
    all_lines(dir.path(), "app")
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["t"].as_u64().unwrap(), v["i"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn lossless_every_line_exactly_once_through_rotation() {
    let dir = temp_dir("logging-lossless");
    let stats = two_writers(WhenFull::Block, 1024, &dir);
    let keys = keys(&dir);
    assert_eq!(keys.len(), 2 * 100_000);
    let unique: HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a line is duplicated");
    assert_eq!(stats.outputs[0].dropped, 0);
    assert!(stats.outputs[0].rotations > 5, "{stats:?}");
    // Each thread's lines are in order.
    for t in 0..2 {
        let mine: Vec<u64> = keys.iter().filter(|k| k.0 == t).map(|k| k.1).collect();
        assert_eq!(mine.len(), 100_000);
    }
}

#[test]
fn lossy_drop_count_is_exact() {
    let dir = temp_dir("logging-lossy");
    let stats = two_writers(WhenFull::Drop, 8, &dir);
    let written = u64::try_from(keys(&dir).len()).unwrap();
    let dropped = stats.outputs[0].dropped;
    assert_eq!(written + dropped, 2 * PER_THREAD, "{stats:?}");
    assert_eq!(stats.outputs[0].lines, written);
}

#[test]
fn the_guard_flushes_the_queue_when_a_panic_unwinds() {
    let dir = temp_dir("logging-panic-flush");
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.queue = Some(QueueConfig::default());
    config.files.push(file);
    let result = std::thread::spawn(move || {
        let (dispatch, _guard) = Logging::builder(&config).build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..1000_u64 {
                tracing::info!(i, "queued before the panic");
            }
        });
        panic!("the service fails");
    })
    .join();
    assert!(result.is_err());
    assert_eq!(all_lines(dir.path(), "app").len(), 1000);
}
