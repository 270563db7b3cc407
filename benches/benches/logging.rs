//! pr-logging: formatting an event as JSON, writing lines to a file through
//! a non-blocking writer, and the cost of a disabled event.
//!
//! Peers, in the same run: `tracing_subscriber::fmt().json()` (the JSON
//! formatter most services use) and `tracing_appender::non_blocking` (the
//! non-blocking file writer most services use).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use pr_logging::{Every, FileConfig, LogFormat, Logging, LoggingConfig, QueueConfig, WhenFull};
use tracing::{Dispatch, Level};

fn quiet() -> LoggingConfig {
    let mut config = LoggingConfig::default();
    config.console.enabled = false;
    config.filter = "info".to_owned();
    config
}

fn peer_json_to_sink() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .with_max_level(Level::INFO)
            .finish(),
    )
}

fn event() {
    tracing::info!(
        user = "ada",
        status = black_box(200_u64),
        latency = black_box(0.0035_f64),
        "request done"
    );
}

/// One INFO event with 3 fields formatted as JSON into a sink.
fn json_event(c: &mut Criterion) {
    let cases = [
        ("logging/json_event_3_fields", false, false),
        ("logging/json_event_3_fields_key_redaction", true, false),
        (
            "logging/json_event_3_fields_key_and_value_redaction",
            true,
            true,
        ),
    ];
    for (name, keys, patterns) in cases {
        let mut config = quiet();
        config.redaction.enabled = keys;
        config.redaction.patterns = patterns;
        let (ours, guard) = Logging::builder(&config)
            .writer("sink", Level::TRACE, LogFormat::Json, std::io::sink())
            .build()
            .expect("a valid config");
        let mut group = c.benchmark_group(name);
        tracing::dispatcher::with_default(&ours, || {
            group.bench_function("ours", |b| b.iter(event));
        });
        tracing::dispatcher::with_default(&peer_json_to_sink(), || {
            group.bench_function("tracing_subscriber", |b| b.iter(event));
        });
        group.finish();
        drop(guard);
    }
}

/// A DEBUG event under an INFO filter.
fn disabled_event(c: &mut Criterion) {
    let (ours, guard) = Logging::builder(&quiet())
        .writer("sink", Level::TRACE, LogFormat::Json, std::io::sink())
        .build()
        .expect("a valid config");
    let mut group = c.benchmark_group("logging/disabled_event");
    tracing::dispatcher::with_default(&ours, || {
        group.bench_function("ours", |b| {
            b.iter(|| tracing::debug!(user = "ada", "not written"));
        });
    });
    tracing::dispatcher::with_default(&peer_json_to_sink(), || {
        group.bench_function("tracing_subscriber", |b| {
            b.iter(|| tracing::debug!(user = "ada", "not written"));
        });
    });
    group.finish();
    drop(guard);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pr-bench-logging-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a writable temp dir");
    dir
}

/// Sustained, lossless JSON lines to a file through a non-blocking writer.
fn file_lines(c: &mut Criterion) {
    let mut group = c.benchmark_group("logging/file_lines_lossless");
    let dir = temp_dir("ours");
    {
        let mut config = quiet();
        let mut file = FileConfig::new(dir.join("app.log"));
        file.rotation.every = Every::Never;
        file.rotation.max_size = None;
        file.compress = false;
        // Lossless like the peer's `lossy(false)`: the queue waits instead of dropping when full.
        let mut queue = QueueConfig::default();
        queue.when_full = WhenFull::Block;
        file.queue = Some(queue);
        config.files.push(file);
        let (ours, guard) = Logging::builder(&config).build().expect("a valid config");
        tracing::dispatcher::with_default(&ours, || {
            group.bench_function("ours", |b| b.iter(event));
        });
        drop(guard);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let dir = temp_dir("peer");
    {
        let appender = tracing_appender::rolling::never(&dir, "app.log");
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(appender);
        let peer = Dispatch::new(
            tracing_subscriber::fmt()
                .json()
                .with_writer(writer)
                .with_max_level(Level::INFO)
                .finish(),
        );
        tracing::dispatcher::with_default(&peer, || {
            group.bench_function("tracing_appender", |b| b.iter(event));
        });
        drop(guard);
    }
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

criterion_group!(benches, json_event, disabled_event, file_lines);
criterion_main!(benches);
