//! The console output behind its queue: a real child process whose stdout
//! is a pipe nobody reads keeps logging, counts what it drops, and its
//! flush and shutdown give up at the deadline instead of waiting for the
//! pipe.

use std::io::{BufRead as _, BufReader};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use pr_logging::{Logging, LoggingConfig, QueueConfig, Stream, WhenFull};
use pr_test_support::CrashChild;

const STALL_CHILD: &str = "PR_LOGGING_STALL_CHILD";
/// Far beyond any pipe buffer (64 KiB by default on Linux).
const LINES: u64 = 100_000;
/// A generous bound on each wait of the parent; only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(120);

/// The child's body: logs through the console into its stdout, which the
/// parent does not read, then reports on stderr. As an ordinary test (no
/// parent) it does nothing.
#[test]
fn stalled_stdout_child() {
    if std::env::var_os(STALL_CHILD).is_none() {
        return;
    }
    let mut config = LoggingConfig::default();
    config.use_rust_log = false;
    config.console.stream = Stream::Stdout;
    let mut queue = QueueConfig::default();
    queue.capacity = 64;
    queue.when_full = WhenFull::Drop;
    config.console.queue = Some(queue);
    config.flush_timeout = pr_core::units::Duration::from_millis(200);
    let (dispatch, guard) = Logging::builder(&config).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..LINES {
            tracing::info!(n, padding = "some padding to make lines longer", "line");
        }
    });
    let dropped = guard.snapshot().output("console").unwrap().dropped;
    let unflushed = guard.flush().lines();
    let lost = guard.shutdown().lines();
    eprintln!("stalled dropped={dropped} unflushed={unflushed} lost={lost}");
}

fn field(marker: &str, name: &str) -> u64 {
    marker
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {marker:?}"))
}

#[cfg(unix)]
#[test]
fn a_stdout_nobody_reads_never_blocks_logging_or_shutdown() {
    // Its stderr is a pipe of ours, read as it comes; its stdout is held
    // open by the CrashChild and not read until the child has reported.
    let (stderr, stderr_writer) = std::io::pipe().unwrap();
    let mut command = CrashChild::command("console::stalled_stdout_child", &[(STALL_CHILD, "1")]);
    command.stderr(stderr_writer);
    let mut child = CrashChild::spawn_command(command);
    let pid = child.id();
    let kill = move || {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = loop {
        match rx.recv_timeout(PATIENCE) {
            Ok(Ok(line)) if line.starts_with("stalled ") => break line,
            Ok(Ok(_)) => {}
            other => {
                kill();
                panic!("the child did not report while its stdout was stalled: {other:?}");
            }
        }
    };
    // Every logging call returned, lines were dropped and counted, and
    // flush and shutdown returned at their deadline with what they left.
    assert!(field(&marker, "dropped") > 0, "{marker}");
    assert!(field(&marker, "unflushed") > 0, "{marker}");
    assert!(field(&marker, "lost") > 0, "{marker}");

    // Now drain: the child finishes and exits 0.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        while let Some(line) = child.next_line() {
            out.push(line);
        }
        let _ = done_tx.send((child.wait(), out));
    });
    let (status, out) = done_rx.recv_timeout(PATIENCE).unwrap_or_else(|e| {
        kill();
        panic!("the child did not exit once its stdout drained: {e}")
    });
    assert!(status.success());
    // What reached the pipe is whole lines.
    let logged: Vec<_> = out.iter().filter(|l| l.starts_with('{')).collect();
    assert!(!logged.is_empty());
    for line in logged {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["message"], "line");
    }
}
