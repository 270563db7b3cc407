//! `OpenMetrics` exemplars: on the bucket their value fell in (or a
//! counter's `_total`), stamped by the registry's clock, the latest per
//! bucket, never in Prometheus text,
//! parsed by promtool's `OpenMetrics` parser, and whole under concurrency.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_metrics::{ExpositionFormat, MetricKind, Registry, TraceIds};
use pr_test_support::{check_metrics, check_openmetrics};

thread_local! {
    /// The "current span" of this test thread, read by the source.
    static CURRENT: Cell<Option<TraceIds>> = const { Cell::new(None) };
}

/// The source an application would wire: the current trace, if any.
fn current() -> Option<TraceIds> {
    CURRENT.with(Cell::get)
}

fn in_trace<T>(ids: TraceIds, f: impl FnOnce() -> T) -> T {
    CURRENT.with(|c| c.set(Some(ids)));
    let out = f();
    CURRENT.with(|c| c.set(None));
    out
}

fn ids(byte: u8) -> TraceIds {
    TraceIds::new([byte; 16], [byte; 8])
}

fn registry(manual: &ManualClock) -> Registry {
    Registry::builder()
        .clock(manual.clock())
        .global_label("service", "shop")
        .buckets("rpc_duration_seconds", vec![0.1, 0.5, 1.0])
        .summary("rpc_size_bytes")
        .exemplars(current)
        .build()
        .unwrap()
}

fn exemplar_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains(" # {")).collect()
}

#[test]
fn exemplars_sit_on_the_bucket_of_their_value_in_openmetrics_only() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let registry = registry(&manual);
    let histogram = registry
        .histogram("rpc_duration_seconds", &[("peer", "db")])
        .unwrap();
    in_trace(ids(0xa1), || histogram.record(0.05));
    manual.advance(Duration::from_millis(250));
    in_trace(ids(0xb2), || histogram.record(0.7));
    manual.advance(Duration::from_millis(1001));
    in_trace(ids(0xc3), || histogram.record(5.0));
    // Outside a trace: counted, no exemplar.
    histogram.record(0.3);

    let text = registry.render(ExpositionFormat::OpenMetrics);
    let a = "a1".repeat(16);
    let b = "b2".repeat(16);
    let c = "c3".repeat(16);
    let expected = [
        format!(
            r#"rpc_duration_seconds_bucket{{service="shop",peer="db",le="0.1"}} 1 # {{trace_id="{a}",span_id="{}"}} 0.05 1700000000.000"#,
            &a[..16]
        ),
        r#"rpc_duration_seconds_bucket{service="shop",peer="db",le="0.5"} 2"#.to_owned(),
        format!(
            r#"rpc_duration_seconds_bucket{{service="shop",peer="db",le="1"}} 3 # {{trace_id="{b}",span_id="{}"}} 0.7 1700000000.250"#,
            &b[..16]
        ),
        format!(
            r#"rpc_duration_seconds_bucket{{service="shop",peer="db",le="+Inf"}} 4 # {{trace_id="{c}",span_id="{}"}} 5 1700000001.251"#,
            &c[..16]
        ),
    ];
    let buckets: Vec<&str> = text.lines().filter(|l| l.contains("_bucket")).collect();
    assert_eq!(buckets, expected, "{text}");
    assert_eq!(exemplar_lines(&text).len(), 3, "{text}");

    let prometheus = registry.render(ExpositionFormat::Prometheus);
    assert!(
        prometheus.contains(r#"rpc_duration_seconds_bucket{service="shop",peer="db",le="1"} 3"#),
        "{prometheus}"
    );
    assert!(exemplar_lines(&prometheus).is_empty(), "{prometheus}");
    assert!(!prometheus.contains("trace_id"), "{prometheus}");
}

#[test]
fn the_latest_exemplar_replaces_the_previous_one_in_its_bucket() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let registry = registry(&manual);
    let histogram = registry.histogram("rpc_duration_seconds", &[]).unwrap();
    in_trace(ids(0x01), || histogram.record(0.2));
    manual.advance(Duration::from_secs(2));
    in_trace(ids(0x02), || histogram.record(0.4));

    let text = registry.render(ExpositionFormat::OpenMetrics);
    let lines = exemplar_lines(&text);
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines.first().unwrap();
    assert!(
        line.starts_with(r#"rpc_duration_seconds_bucket{service="shop",le="0.5"} 2 # "#),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            r#"{{trace_id="{}",span_id="{}"}} 0.4 1700000002.000"#,
            "02".repeat(16),
            "02".repeat(8)
        )),
        "{line}"
    );
    assert!(!line.contains(&"01".repeat(16)), "{line}");
}

#[test]
fn without_a_source_or_a_trace_there_are_no_exemplars() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let plain = Registry::builder().clock(manual.clock()).build().unwrap();
    let histogram = plain.histogram("rpc_duration_seconds", &[]).unwrap();
    in_trace(ids(0x0f), || histogram.record(0.2));
    let text = plain.render(ExpositionFormat::OpenMetrics);
    assert!(
        text.contains(r#"rpc_duration_seconds_bucket{le="0.25"} 1"#),
        "{text}"
    );
    assert!(exemplar_lines(&text).is_empty(), "{text}");

    // A source that finds no trace, and one with W3C's invalid all-zero id.
    let idle = Registry::builder()
        .clock(manual.clock())
        .exemplars(|| None)
        .build()
        .unwrap();
    idle.histogram("rpc_duration_seconds", &[])
        .unwrap()
        .record(0.2);
    let zero = Registry::builder()
        .clock(manual.clock())
        .exemplars(|| Some(TraceIds::new([0; 16], [1; 8])))
        .build()
        .unwrap();
    zero.histogram("rpc_duration_seconds", &[])
        .unwrap()
        .record(0.2);
    for registry in [idle, zero] {
        let text = registry.render(ExpositionFormat::OpenMetrics);
        assert!(text.contains(r#"le="0.25"} 1"#), "{text}");
        assert!(exemplar_lines(&text).is_empty(), "{text}");
    }
}

#[test]
fn summaries_carry_no_exemplars() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let registry = registry(&manual);
    let summary = registry.histogram("rpc_size_bytes", &[]).unwrap();
    in_trace(ids(0x33), || summary.record(512.0));
    let text = registry.render(ExpositionFormat::OpenMetrics);
    assert!(text.contains("# TYPE rpc_size_bytes summary\n"), "{text}");
    assert!(
        text.contains(r#"rpc_size_bytes_count{service="shop"} 1"#),
        "{text}"
    );
    assert!(exemplar_lines(&text).is_empty(), "{text}");
}

#[test]
fn facade_histograms_and_timers_carry_exemplars() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let registry = registry(&manual);
    in_trace(ids(0x44), || {
        metrics::with_local_recorder(&registry.recorder(), || {
            metrics::histogram!("rpc_duration_seconds", "peer" => "cache").record(0.3);
        });
    });
    let timed = registry
        .histogram("rpc_duration_seconds", &[("peer", "queue")])
        .unwrap();
    in_trace(ids(0x55), || {
        let timer = timed.start_timer();
        manual.advance(Duration::from_millis(800));
        drop(timer);
    });
    let text = registry.render(ExpositionFormat::OpenMetrics);
    assert!(
        text.contains(&format!(
            r#"rpc_duration_seconds_bucket{{service="shop",peer="cache",le="0.5"}} 1 # {{trace_id="{}","#,
            "44".repeat(16)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"rpc_duration_seconds_bucket{{service="shop",peer="queue",le="1"}} 1 # {{trace_id="{}",span_id="{}"}} 0.8 1700000000.800"#,
            "55".repeat(16),
            "55".repeat(8)
        )),
        "{text}"
    );
}

#[test]
fn counters_carry_the_last_increment_s_exemplar_on_total_in_openmetrics_only() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let registry = registry(&manual);
    let sent = registry
        .counter("messages_sent_total", &[("queue", "mail")])
        .unwrap();
    in_trace(ids(0x10), || sent.inc());
    manual.advance(Duration::from_millis(42));
    in_trace(ids(0x20), || sent.inc_by(3));
    // Outside a trace: counted, the last exemplar stays.
    sent.inc();
    // A facade `absolute` mirrors a total kept elsewhere: no exemplar.
    in_trace(ids(0x30), || {
        metrics::with_local_recorder(&registry.recorder(), || {
            metrics::counter!("messages_sent_total", "queue" => "mail").absolute(10);
            metrics::counter!("bytes_read_total").absolute(7);
        });
    });

    let text = registry.render(ExpositionFormat::OpenMetrics);
    assert!(
        text.contains(&format!(
            r#"messages_sent_total{{service="shop",queue="mail"}} 10 # {{trace_id="{}",span_id="{}"}} 3 1700000000.042"#,
            "20".repeat(16),
            "20".repeat(8)
        )),
        "{text}"
    );
    assert!(
        text.contains("bytes_read_total{service=\"shop\"} 7\n"),
        "{text}"
    );

    assert_eq!(exemplar_lines(&text).len(), 1, "{text}");

    let prometheus = registry.render(ExpositionFormat::Prometheus);
    assert!(
        prometheus.contains("messages_sent_total{service=\"shop\",queue=\"mail\"} 10\n"),
        "{prometheus}"
    );
    assert!(exemplar_lines(&prometheus).is_empty(), "{prometheus}");
}

/// `promtool check metrics` reads only Prometheus text 0.0.4: given
/// exemplars it stops at the first with `expected integer as timestamp,
/// got "#"`. Its `OpenMetrics` parser (behind `tsdb create-blocks-from
/// openmetrics`, which wants a timestamp on every sample, put before the
/// exemplar) reads and checks them.
#[test]
fn openmetrics_with_exemplars_parses_with_promtool() {
    let manual = ManualClock::at_unix(1_700_000_000);
    let registry = registry(&manual);
    registry
        .describe(
            "rpc_duration_seconds",
            MetricKind::Histogram,
            Some(metrics::Unit::Seconds),
            "Time to answer a call.",
        )
        .unwrap();
    let histogram = registry
        .histogram("rpc_duration_seconds", &[("peer", "db")])
        .unwrap();
    for (i, value) in [0.05, 0.2, 0.7, 3.0].into_iter().enumerate() {
        manual.advance(Duration::from_millis(123));
        in_trace(ids(u8::try_from(i).unwrap() + 1), || {
            histogram.record(value);
        });
    }
    registry
        .describe("rpc_calls_total", MetricKind::Counter, None, "Calls made.")
        .unwrap();
    let calls = registry
        .counter("rpc_calls_total", &[("peer", "db")])
        .unwrap();
    in_trace(ids(0x77), || calls.inc_by(2));
    let text = registry.render(ExpositionFormat::OpenMetrics);
    assert_eq!(exemplar_lines(&text).len(), 5, "{text}");
    assert!(
        text.contains(r#"rpc_calls_total{service="shop",peer="db"} 2 # {"#),
        "{text}"
    );

    if let Err(said) = check_openmetrics(&text) {
        panic!("promtool's OpenMetrics parser: {said}");
    }

    // The same registry's Prometheus text stays lint-clean.
    let prometheus = registry.render(ExpositionFormat::Prometheus);
    if let Err(problems) = check_metrics(&prometheus) {
        panic!("{problems}\n{prometheus}");
    }
}

/// What an exemplar line says: its bucket's `le`, then the exemplar.
struct Parsed {
    le: f64,
    trace_id: String,
    span_id: String,
    value: f64,
    timestamp: f64,
}

/// Parses `…,le="<le>"} <count> # {trace_id="<32 hex>",span_id="<16 hex>"} <value> <secs>.<3 digits>`,
/// failing on anything else.
fn parse(line: &str) -> Result<Parsed, String> {
    let fail = |why: &str| Err(format!("{why}: {line:?}"));
    let Some((sample, exemplar)) = line.split_once(" # ") else {
        return fail("no exemplar");
    };
    let Some((_, le)) = sample.split_once("le=\"") else {
        return fail("no le");
    };
    let Some((le, _)) = le.split_once('"') else {
        return fail("le unterminated");
    };
    let le = if le == "+Inf" {
        f64::INFINITY
    } else {
        le.parse().map_err(|e| format!("le {le}: {e}"))?
    };
    let Some(rest) = exemplar.strip_prefix("{trace_id=\"") else {
        return fail("no trace_id first");
    };
    let Some((trace_id, rest)) = rest.split_once("\",span_id=\"") else {
        return fail("no span_id");
    };
    let Some((span_id, rest)) = rest.split_once("\"} ") else {
        return fail("label set unterminated");
    };
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !hex(trace_id, 32) || !hex(span_id, 16) {
        return fail("ids not lower-case hex of 16 and 8 bytes");
    }
    if "trace_id".len() + trace_id.len() + "span_id".len() + span_id.len() > 128 {
        return fail("label set over 128 characters");
    }
    let mut fields = rest.split(' ');
    let (Some(value), Some(timestamp), None) = (fields.next(), fields.next(), fields.next()) else {
        return fail("not exactly a value and a timestamp");
    };
    let Some((_, millis)) = timestamp.split_once('.') else {
        return fail("timestamp without milliseconds");
    };
    if millis.len() != 3 {
        return fail("timestamp not to the millisecond");
    }
    Ok(Parsed {
        le,
        trace_id: trace_id.to_owned(),
        span_id: span_id.to_owned(),
        value: value.parse().map_err(|e| format!("value {value}: {e}"))?,
        timestamp: timestamp
            .parse()
            .map_err(|e| format!("timestamp {timestamp}: {e}"))?,
    })
}

/// Threads observe in traces of their own while another scrapes: every
/// exemplar line is well-formed, whole (ids and value from one
/// observation: each observation's ids repeat one byte that also gives its
/// value) and on its value's bucket.
#[test]
fn concurrent_observations_and_scrapes_keep_exemplars_whole() {
    const BOUNDS: [f64; 4] = [0.5, 1.0, 1.5, 2.0];
    let registry = Registry::builder()
        .buckets("work_duration_seconds", BOUNDS.to_vec())
        .exemplars(current)
        .build()
        .unwrap();
    let histogram = registry.histogram("work_duration_seconds", &[]).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let registry = registry.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut scrapes = 0u32;
            let mut seen = 0usize;
            // At least a few scrapes, however fast the writers finish.
            while !done.load(Ordering::Relaxed) || scrapes < 5 {
                let text = registry.render(ExpositionFormat::OpenMetrics);
                for line in exemplar_lines(&text) {
                    let parsed = parse(line).unwrap_or_else(|e| panic!("{e}"));
                    let byte = &parsed.trace_id[..2];
                    assert_eq!(parsed.trace_id, byte.repeat(16), "{line}");
                    assert_eq!(parsed.span_id, byte.repeat(8), "{line}");
                    let byte = u8::from_str_radix(byte, 16).unwrap();
                    assert!(
                        (parsed.value - f64::from(byte) / 100.0).abs() < 1e-12,
                        "{line}"
                    );
                    let below = BOUNDS
                        .iter()
                        .copied()
                        .filter(|b| *b < parsed.le)
                        .fold(f64::NEG_INFINITY, f64::max);
                    assert!(parsed.value > below && parsed.value <= parsed.le, "{line}");
                    assert!(parsed.timestamp > 1.6e9, "{line}");
                    seen += 1;
                }
                scrapes += 1;
            }
            seen
        })
    };
    let writers: Vec<_> = (0..4u8)
        .map(|thread| {
            let histogram = histogram.clone();
            std::thread::spawn(move || {
                for i in 0..20_000u32 {
                    // 1..=250: values 0.01..=2.5 across every bucket and +Inf.
                    let byte = u8::try_from((i * 7 + u32::from(thread) * 61) % 250 + 1).unwrap();
                    in_trace(ids(byte), || histogram.record(f64::from(byte) / 100.0));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let seen = scraper.join().unwrap();
    assert!(seen > 0, "the scrapes saw no exemplar");

    // At rest every bucket, +Inf included, has one.
    let text = registry.render(ExpositionFormat::OpenMetrics);
    let lines = exemplar_lines(&text);
    assert_eq!(lines.len(), BOUNDS.len() + 1, "{text}");
    for line in lines {
        parse(line).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(histogram.snapshot().count, 80_000);
}
