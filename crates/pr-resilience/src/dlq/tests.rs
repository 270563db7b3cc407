//! Unit tests of the queue's framing and settings.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use pr_core::units::{ByteSize, Duration};
use pr_core::validate::check;

use pr_core::fs::frame::{self, u32_at, u64_at};

use super::record::{HEADER, place, seal};
use super::{DlqConfig, Durability};

thread_local! {
    /// Syncs of the queues on this thread.
    pub(super) static SYNCS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Whether syncs on this thread fail (a disk error, injected).
    pub(super) static FAIL_SYNCS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[test]
fn a_sealed_frame_carries_its_length_checksum_and_place() {
    let mut frame = vec![0_u8; HEADER];
    frame.extend_from_slice(br#"{"payload":1}"#);
    seal(&mut frame, 42, 1_700_000_000_000).unwrap();
    assert_eq!(u32_at(&frame, 0).unwrap() as usize, frame.len() - 8);
    assert_eq!(u32_at(&frame, 4).unwrap(), frame::crc(&frame[8..]));
    assert_eq!(u64_at(&frame, 8), Some(42));
    assert_eq!(u64_at(&frame, 16), Some(1_700_000_000_000));
    let read = frame::Frames::new(&frame).next().unwrap();
    assert_eq!(place(read.payload), Some((42, 1_700_000_000_000)));
    assert_eq!(place(&read.payload[..15]), None);
    frame[HEADER] ^= 1;
    assert_ne!(u32_at(&frame, 4).unwrap(), frame::crc(&frame[8..]));
}

#[test]
fn defaults_are_valid_and_durable() {
    let config = DlqConfig::default();
    check(&config).unwrap();
    assert_eq!(config.durability, Durability::EachWrite);
}

#[test]
fn settings_read_from_serde() {
    let config: DlqConfig = serde_json::from_str(
        r#"{"dir":"/var/lib/app/dlq","durability":{"mode":"batched","max_records":64,"max_delay":"5ms"},"max_records":10,"max_size":"2GiB","segment_size":1048576,"max_record_size":"1MiB","lock_wait":"500ms","min_free":"1GB"}"#,
    )
    .unwrap();
    assert_eq!(
        config.durability,
        Durability::Batched {
            max_records: 64,
            max_delay: Duration::from_millis(5)
        }
    );
    assert_eq!(config.max_records, 10);
    assert_eq!(config.max_size, ByteSize(2 << 30));
    assert_eq!(config.segment_size, ByteSize::mib(1));
    assert_eq!(config.max_record_size, ByteSize::mib(1));
    assert_eq!(config.lock_wait, Duration::from_millis(500));
    assert_eq!(config.min_free, ByteSize(1_000_000_000));
    assert!(serde_json::from_str::<DlqConfig>(r#"{"max_recrods":1}"#).is_err());
    // A policy without settings may be written as its name.
    let config: DlqConfig = serde_json::from_str(r#"{"durability":"flush"}"#).unwrap();
    assert_eq!(config.durability, Durability::Flush);
    // The `_bytes` and `_ms` keys went before 0.1: unknown now.
    for old in [
        r#"{"max_bytes":1}"#,
        r#"{"segment_bytes":1}"#,
        r#"{"max_record_bytes":1}"#,
        r#"{"lock_wait_ms":1}"#,
        r#"{"min_free_bytes":1}"#,
        r#"{"durability":{"mode":"batched","max_records":1,"max_delay_ms":5}}"#,
        // Before the policy was pr-core's, shared with the file cache.
        r#"{"durability":{"mode":"each_record"}}"#,
    ] {
        assert!(serde_json::from_str::<DlqConfig>(old).is_err(), "{old}");
    }
}

#[test]
fn a_record_bound_must_fit_a_frame_and_the_queue() {
    let mut config = DlqConfig::new("dlq");
    config.max_size = ByteSize(u64::MAX);
    config.max_record_size = ByteSize(1 << 32);
    let problems = check(&config).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "max_record_size");
    config.max_record_size = ByteSize((1 << 32) - 1);
    check(&config).unwrap();
    config.max_size = ByteSize::mib(1);
    let problems = check(&config).unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        "max_record_size: must be at most `max_size`"
    );
}

#[cfg(feature = "health")]
#[test]
fn the_last_holder_syncs_a_batched_queue_even_when_it_is_a_health_check() {
    use super::{DeadLetter, Dlq};
    let dir = std::env::temp_dir().join(format!("pr-dlq-drop-sync-{}", std::process::id()));
    let dlq: Dlq<u32> = Dlq::open(DlqConfig::new(&dir).with_durability(Durability::Batched {
        max_records: 1_000,
        max_delay: Duration::from_secs(3_600),
    }))
    .unwrap();
    let check = dlq.health_check();
    dlq.push(&DeadLetter::with_code(1, "test.code", "unsynced"))
        .unwrap();
    SYNCS.with(|n| n.set(0));
    drop(dlq);
    drop(check);
    let synced = SYNCS.with(std::cell::Cell::get);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(synced, 1, "the batched tail was never synced");
}

/// `flush` makes no push wait for the disk, but syncs a segment as it
/// closes it and the queue as its last handle goes.
#[test]
fn a_flush_queue_syncs_when_it_closes_a_segment_and_when_it_closes() {
    use super::{DeadLetter, Dlq};
    let dir = std::env::temp_dir().join(format!("pr-dlq-flush-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut config = DlqConfig::new(&dir).with_durability(Durability::Flush);
    config.segment_size = ByteSize(1_024);
    let dlq: Dlq<u32> = Dlq::open(config).unwrap();
    SYNCS.with(|n| n.set(0));
    dlq.push(&DeadLetter::with_code(0, "test.code", "first"))
        .unwrap();
    assert_eq!(SYNCS.with(std::cell::Cell::get), 0, "a push waited");
    let mut n = 1;
    while dlq.snapshot().segments < 3 {
        dlq.push(&DeadLetter::with_code(n, "test.code", "more"))
            .unwrap();
        n += 1;
    }
    assert_eq!(
        SYNCS.with(std::cell::Cell::get),
        2,
        "one per closed segment"
    );
    drop(dlq);
    let synced = SYNCS.with(std::cell::Cell::get);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(synced, 3, "the last handle syncs");
}

/// A push whose sync fails returns the error and leaves no record behind,
/// in memory or on disk; the queue goes on with the next number.
#[test]
fn a_push_whose_sync_fails_is_not_queued() {
    use super::{DeadLetter, Dlq};
    let dir = std::env::temp_dir().join(format!("pr-dlq-sync-fails-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    {
        let dlq: Dlq<u32> = Dlq::open(DlqConfig::new(&dir)).unwrap();
        let first = dlq
            .push(&DeadLetter::with_code(1, "test.code", "one"))
            .unwrap();
        FAIL_SYNCS.with(|f| f.set(true));
        let err = dlq
            .push(&DeadLetter::with_code(2, "test.code", "two"))
            .unwrap_err();
        FAIL_SYNCS.with(|f| f.set(false));
        assert_eq!(
            pr_errors::CodedError::code(&err).as_str(),
            "resilience.dlq_io"
        );
        assert_eq!(dlq.len(), 1);
        assert_eq!(
            dlq.push(&DeadLetter::with_code(3, "test.code", "three"))
                .unwrap(),
            first + 2,
            "the failed push's number is not reused"
        );
    }
    let dlq: Dlq<u32> = Dlq::open(DlqConfig::new(&dir)).unwrap();
    let payloads: Vec<u32> = dlq.iter().map(|r| r.unwrap().letter.payload).collect();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(payloads, [1, 3]);
}

/// A failed sync makes the health check Degraded, naming the failed write;
/// the next write that succeeds makes it Up again.
#[cfg(feature = "health")]
#[tokio::test]
async fn a_failed_write_is_degraded_until_a_write_succeeds() {
    use pr_health::{Check, Status};

    use super::{DeadLetter, Dlq};
    let dir = std::env::temp_dir().join(format!("pr-dlq-write-health-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut config = DlqConfig::new(&dir);
    // Free space is another test's business: this one must not depend on
    // the machine's disk.
    config.min_free = ByteSize(0);
    config.min_free_percent = 0;
    let dlq: Dlq<u32> = Dlq::open(config).unwrap();
    let check = dlq.health_check();
    dlq.push(&DeadLetter::with_code(1, "test.code", "one"))
        .unwrap();
    assert_eq!(check.check().await.status(), Status::Up);
    FAIL_SYNCS.with(|f| f.set(true));
    let failed = dlq.push(&DeadLetter::with_code(2, "test.code", "two"));
    FAIL_SYNCS.with(|f| f.set(false));
    assert!(failed.is_err());
    let outcome = check.check().await;
    assert_eq!(outcome.status(), Status::Degraded, "{outcome:?}");
    let message = outcome.message().unwrap();
    assert!(message.contains("last write failed"), "{message}");
    assert!(message.contains("injected by a test"), "{message}");
    // A removal is a write too.
    let seq = dlq.peek().unwrap().unwrap().seq;
    assert!(dlq.remove(seq).unwrap());
    assert_eq!(check.check().await.status(), Status::Up);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_free_space_percentage_past_100_is_invalid() {
    let mut config = DlqConfig::new("dlq");
    config.min_free_percent = 101;
    let problems = check(&config).unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        "min_free_percent: must be at most 100"
    );
    config.min_free_percent = 100;
    check(&config).unwrap();
}

#[test]
fn a_snapshot_serializes_with_its_figures_named() {
    let snapshot = super::DlqSnapshot {
        records: 3,
        bytes: 120,
        segments: 1,
        full: false,
    };
    let json = serde_json::to_value(snapshot).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"records": 3, "bytes": 120, "segments": 1, "full": false})
    );
    let back: super::DlqSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, snapshot);
}
