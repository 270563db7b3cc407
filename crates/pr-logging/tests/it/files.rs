//! File outputs: rotation by size and time on the injected clock, retention
//! by count and age across a restart, compression, the DST boundary, reopen
//! after an external move, the error file, permissions, recovery.

use std::time::{Duration, SystemTime};

use pr_core::time::ManualClock;
use pr_logging::{Every, Logging, LoggingConfig};
use pr_test_support::{TempDir, temp_dir};

use crate::support::{T0, all_lines, names, plain_file, quiet, read};

fn run(
    config: &LoggingConfig,
    clock: &ManualClock,
    f: impl FnOnce(),
) -> pr_logging::LoggingSnapshot {
    let (dispatch, guard) = Logging::builder(config)
        .clock(clock.clock())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, f);
    guard.flush();
    let stats = guard.snapshot();
    drop(guard);
    stats
}

fn numbers(lines: &[String]) -> Vec<u64> {
    let mut n: Vec<u64> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["n"].as_u64().unwrap()
        })
        .collect();
    n.sort_unstable();
    n
}

#[test]
fn rotation_by_size_keeps_lines_whole() {
    let dir = temp_dir("logging-size");
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.max_size = Some(pr_core::units::ByteSize(2048));
    config.files.push(file);
    let clock = ManualClock::at_unix(T0);
    let stats = run(&config, &clock, || {
        for n in 0..100_u64 {
            tracing::info!(n, "a line of some length to fill the file up");
        }
    });
    let files = names(dir.path());
    assert!(files.len() > 3, "{files:?}");
    assert!(files.contains(&"app.log".to_owned()));
    assert!(
        files.contains(&"app.20261123T100000Z.log".to_owned()),
        "{files:?}"
    );
    assert!(
        files.contains(&"app.20261123T100000Z.1.log".to_owned()),
        "{files:?}"
    );
    for name in &files {
        let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(len <= 2048, "{name} has {len} bytes");
    }
    assert_eq!(
        numbers(&all_lines(dir.path(), "app")),
        (0..100).collect::<Vec<_>>()
    );
    assert_eq!(
        stats.outputs[0].rotations,
        u64::try_from(files.len()).unwrap() - 1
    );
}

#[test]
fn rotation_by_time_on_the_injected_clock() {
    let dir = temp_dir("logging-time");
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.every = Every::Hourly;
    config.files.push(file);
    let clock = ManualClock::at_unix(T0 + 1800);
    run(&config, &clock, || {
        tracing::info!(n = 0_u64, "first hour");
        tracing::info!(n = 1_u64, "first hour");
        clock.advance(Duration::from_secs(1799));
        tracing::info!(n = 2_u64, "still the first hour");
        clock.advance(Duration::from_secs(1));
        tracing::info!(n = 3_u64, "second hour");
        clock.advance(Duration::from_secs(7200));
        tracing::info!(n = 4_u64, "fourth hour");
    });
    assert_eq!(
        names(dir.path()),
        [
            "app.20261123T100000Z.log",
            "app.20261123T110000Z.log",
            "app.log"
        ]
    );
    assert_eq!(
        numbers(&lines(&dir.path().join("app.20261123T100000Z.log"))),
        [0, 1, 2]
    );
    assert_eq!(
        numbers(&lines(&dir.path().join("app.20261123T110000Z.log"))),
        [3]
    );
    assert_eq!(numbers(&lines(&dir.path().join("app.log"))), [4]);
}

fn lines(path: &std::path::Path) -> Vec<String> {
    read(path).lines().map(str::to_owned).collect()
}

#[test]
fn daily_names_across_the_dst_fall_back() {
    let dir = temp_dir("logging-dst");
    let mut config = quiet();
    config.timezone = "EST5EDT,M3.2.0,M11.1.0".to_owned();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.every = Every::Hourly;
    config.files.push(file);
    // 2026-11-01 05:30Z = 01:30 EDT; an hour later it is 01:30 EST again.
    let clock = ManualClock::at_unix(1_793_511_000);
    run(&config, &clock, || {
        tracing::info!(n = 0_u64, "01:30 EDT");
        clock.advance(Duration::from_secs(3600));
        tracing::info!(n = 1_u64, "01:30 EST");
        clock.advance(Duration::from_secs(3600));
        tracing::info!(n = 2_u64, "02:30 EST");
    });
    assert_eq!(
        names(dir.path()),
        [
            "app.20261101T010000-0400.log",
            "app.20261101T010000-0500.log",
            "app.log"
        ]
    );
    let first = read(&dir.path().join("app.20261101T010000-0400.log"));
    assert!(
        first.contains("\"timestamp\":\"2026-11-01T01:30:00.000000-04:00\""),
        "{first}"
    );
    assert_eq!(numbers(&all_lines(dir.path(), "app")), [0, 1, 2]);
}

#[test]
fn retention_by_count_and_age_across_a_restart() {
    let dir = temp_dir("logging-retention");
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.max_size = Some(pr_core::units::ByteSize(1024));
    file.retention.max_files = Some(3);
    config.files.push(file);
    let clock = ManualClock::at(SystemTime::now());
    let stats = run(&config, &clock, || {
        for n in 0..200_u64 {
            tracing::info!(n, "filling");
        }
    });
    let rotated = |dir: &TempDir| {
        names(dir.path())
            .into_iter()
            .filter(|n| n != "app.log")
            .count()
    };
    assert_eq!(
        rotated(&dir),
        3,
        "exactly max_files rotated files: {:?}",
        names(dir.path())
    );
    assert_eq!(stats.outputs[0].deleted, stats.outputs[0].rotations - 3);
    // The newest lines survive: the last line written is in app.log.
    assert!(read(&dir.path().join("app.log")).contains("\"n\":199"));

    // Restart with a lower count: enforced at start, before any line.
    config.files[0].retention.max_files = Some(1);
    run(&config, &clock, || {});
    assert_eq!(rotated(&dir), 1);

    // Restart two days later with a one-day age limit: the old file goes.
    config.files[0].retention.max_files = None;
    config.files[0].retention.max_age = Some(pr_core::units::Duration::from_secs(24 * 3600));
    clock.advance(Duration::from_secs(2 * 24 * 3600));
    run(&config, &clock, || {});
    assert_eq!(rotated(&dir), 0);
    assert!(dir.path().join("app.log").exists());
}

#[test]
fn compression_in_the_background() {
    let dir = temp_dir("logging-gzip");
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.rotation.max_size = Some(pr_core::units::ByteSize(4096));
    file.compress = true;
    config.files.push(file);
    let clock = ManualClock::at_unix(T0);
    let stats = run(&config, &clock, || {
        for n in 0..300_u64 {
            tracing::info!(n, "compressible compressible compressible");
        }
    });
    let files = names(dir.path());
    let rotated: Vec<_> = files.iter().filter(|n| *n != "app.log").collect();
    assert!(!rotated.is_empty());
    assert!(rotated.iter().all(|n| n.ends_with(".log.gz")), "{files:?}");
    assert_eq!(
        stats.outputs[0].compressed,
        u64::try_from(rotated.len()).unwrap()
    );
    assert_eq!(
        numbers(&all_lines(dir.path(), "app")),
        (0..300).collect::<Vec<_>>()
    );
}

#[test]
fn a_restart_compresses_what_was_left_uncompressed() {
    let dir = temp_dir("logging-gzip-restart");
    std::fs::write(dir.path().join("app.20261123T090000Z.log"), "{\"n\":1}\n").unwrap();
    std::fs::write(
        dir.path().join("app.20261123T090000Z.log.gz.tmp"),
        "partial",
    )
    .unwrap();
    let mut config = quiet();
    let mut file = plain_file(dir.path().join("app.log"));
    file.compress = true;
    config.files.push(file);
    run(&config, &ManualClock::at_unix(T0), || {});
    assert_eq!(
        names(dir.path()),
        ["app.20261123T090000Z.log.gz", "app.log"]
    );
    assert_eq!(
        read(&dir.path().join("app.20261123T090000Z.log.gz")),
        "{\"n\":1}\n"
    );
}

#[test]
fn error_file_gets_only_its_levels_and_mode_0640() {
    let dir = temp_dir("logging-errors");
    let mut config = quiet();
    config.files.push(plain_file(dir.path().join("app.log")));
    let mut errors = plain_file(dir.path().join("error.log"));
    errors.level = "warn".to_owned();
    config.files.push(errors);
    run(&config, &ManualClock::at_unix(T0), || {
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    });
    let levels = |name: &str| -> Vec<String> {
        lines(&dir.path().join(name))
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["level"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(levels("app.log"), ["DEBUG", "INFO", "WARN", "ERROR"]);
    assert_eq!(levels("error.log"), ["WARN", "ERROR"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("app.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}

#[cfg(unix)]
#[test]
fn reopens_after_an_external_move_and_recovers_a_removed_directory() {
    let dir = temp_dir("logging-reopen");
    let logs = dir.path().join("logs");
    let mut config = quiet();
    config.files.push(plain_file(logs.join("app.log")));
    let clock = ManualClock::at_unix(T0);
    let stats = run(&config, &clock, || {
        tracing::info!(n = 0_u64, "before the move");
        std::fs::rename(logs.join("app.log"), logs.join("app.log.1")).unwrap();
        tracing::info!(n = 1_u64, "within the check interval: still the moved file");
        clock.advance(Duration::from_secs(2));
        tracing::info!(n = 2_u64, "after the move");
        std::fs::remove_dir_all(&logs).unwrap();
        clock.advance(Duration::from_secs(2));
        tracing::info!(n = 3_u64, "directory recreated");
    });
    assert_eq!(numbers(&lines(&logs.join("app.log"))), [3]);
    assert_eq!(stats.outputs[0].reopens, 2);
    assert_eq!(stats.outputs[0].write_errors, 0);
}

#[test]
fn a_partial_last_line_from_a_crash_is_cut_on_restart() {
    let dir = temp_dir("logging-partial");
    std::fs::write(dir.path().join("app.log"), "{\"n\":0}\n{\"n\":1,\"tru").unwrap();
    let mut config = quiet();
    config.files.push(plain_file(dir.path().join("app.log")));
    run(&config, &ManualClock::at_unix(T0), || {
        tracing::info!(n = 2_u64, "after");
    });
    assert_eq!(numbers(&lines(&dir.path().join("app.log"))), [0, 2]);
}

#[test]
fn bad_directory_is_a_typed_error() {
    let dir = temp_dir("logging-baddir");
    std::fs::write(dir.path().join("file"), "").unwrap();
    let mut config = quiet();
    config
        .files
        .push(plain_file(dir.path().join("file").join("app.log")));
    let err = Logging::builder(&config).build().unwrap_err();
    assert_eq!(pr_errors::CodedError::code(&err).as_str(), "logging.io");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_counted_never_fatal() {
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    let mut config = quiet();
    let mut file = plain_file(std::path::PathBuf::from("/dev/full"));
    file.queue = Some(pr_logging::QueueConfig::default());
    config.files.push(file);
    let clock = ManualClock::at_unix(T0);
    let stats = run(&config, &clock, || {
        tracing::info!("lost");
        clock.advance(Duration::from_secs(2));
        tracing::info!("lost too");
    });
    assert!(stats.outputs[0].write_errors >= 1, "{stats:?}");
    assert_eq!(stats.outputs[0].dropped, 2, "{stats:?}");
}
