//! A real child process killed with SIGKILL in the middle of writing: every
//! line left is whole or the one cut short at the end, a restart cuts that
//! one off, and the audit chain verifies and continues.

use std::path::Path;

use pr_core::secret::SecretString;
use pr_logging::{AuditConfig, Logging, verify_all};
use pr_test_support::{CrashChild, temp_dir};

use crate::support::{all_lines, plain_file, quiet};

const CHILD_DIR: &str = "PR_LOGGING_CRASH_CHILD_DIR";
const KEY: &str = "the crash test's audit key, 32+ bytes";

fn config(dir: &Path) -> pr_logging::LoggingConfig {
    let mut config = quiet();
    let mut file = plain_file(dir.join("app.log"));
    file.rotation.max_size = Some(pr_core::units::ByteSize(64 * 1024));
    config.files.push(file);
    let mut audit = AuditConfig::default();
    audit.path = dir.join("audit.log");
    audit.key = SecretString::new(KEY);
    audit.rotation.max_size = Some(pr_core::units::ByteSize(32 * 1024));
    config.audit = Some(audit);
    config
}

/// Writes log and audit lines: forever in the child (until killed), or a
/// bounded number when run as an ordinary test, then checks them.
#[test]
fn child_entry() {
    let child_dir = std::env::var_os(CHILD_DIR);
    // A killed child never drops a temp dir, so it makes none.
    let temp = child_dir
        .is_none()
        .then(|| temp_dir("logging-crash-inline"));
    let dir = child_dir
        .as_deref()
        .map_or_else(|| temp.as_ref().unwrap().path(), Path::new);
    let (dispatch, guard) = Logging::builder(&config(dir)).build().unwrap();
    let limit = if child_dir.is_some() { u64::MAX } else { 500 };
    // The parent kills the child within seconds; the deadline stops an
    // orphan whose parent died first, before it fills the disk.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..limit {
            if n % 1024 == 0 && std::time::Instant::now() > deadline {
                break;
            }
            tracing::info!(n, padding = "some padding to make lines longer", "work");
            pr_logging::audit!(n, "audited");
            if n == 100 && child_dir.is_some() {
                println!("ready");
            }
        }
    });
    drop(guard);
    if child_dir.is_some() {
        return;
    }
    assert_eq!(all_lines(dir, "app").len(), 500);
    assert!(
        verify_all(dir.join("audit.log"), KEY.as_bytes())
            .unwrap()
            .is_intact()
    );
}

/// A small pseudo-random number from the clock and the process id.
fn jitter(round: u32) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut x = u64::from(nanos) ^ (u64::from(std::process::id()) << 20) ^ u64::from(round);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

#[cfg(unix)]
#[test]
fn sigkill_mid_write_leaves_whole_lines_and_a_verifiable_chain() {
    let dir = temp_dir("logging-crash");
    for round in 0..3_u32 {
        let mut child = CrashChild::spawn("crash::child_entry", &[(CHILD_DIR, dir.path())]);
        // Wait until it is writing, then let it write a random amount more.
        child.wait_for("ready");
        let target = 20_000 + jitter(round) % 200_000;
        // Bytes in the app files; rotated files only grow in number.
        let written = || -> u64 {
            crate::support::names(dir.path())
                .iter()
                .filter(|n| n.starts_with("app"))
                .map(|n| std::fs::metadata(dir.path().join(n)).map_or(0, |m| m.len()))
                .sum()
        };
        let start = written();
        while written() < start + target && child.try_wait().is_none() {
            std::thread::yield_now();
        }
        child.kill(); // SIGKILL

        // Every complete line is valid JSON; only the current file's last
        // line may be cut short.
        for name in crate::support::names(dir.path()) {
            let text = crate::support::read(&dir.path().join(&name));
            let complete = text.rsplit_once('\n').map_or("", |(whole, _)| whole);
            for l in complete.lines() {
                serde_json::from_str::<serde_json::Value>(l)
                    .unwrap_or_else(|e| panic!("round {round}, {name}: {e}: {l}"));
            }
            if !name.ends_with("app.log") && !name.ends_with("audit.log") {
                assert!(text.ends_with('\n'), "a rotated file ends whole: {name}");
            }
        }
        let report = verify_all(dir.path().join("audit.log"), KEY.as_bytes()).unwrap();
        if let Some(broken) = &report.broken {
            assert_eq!(broken.reason, "incomplete last line", "{report:?}");
        }
    }
    // A restart cuts the partial lines and continues the chain.
    let (dispatch, guard) = Logging::builder(&config(dir.path())).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!(n = 0_u64, "after the crashes");
        pr_logging::audit!(n = 0_u64, "after the crashes");
    });
    drop(guard);
    for l in all_lines(dir.path(), "app") {
        serde_json::from_str::<serde_json::Value>(&l).unwrap();
    }
    let report = verify_all(dir.path().join("audit.log"), KEY.as_bytes()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert!(report.verified > 100);
}
