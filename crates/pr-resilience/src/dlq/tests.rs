//! Unit tests of the queue's framing and settings.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use super::record::{HEADER, seal, u32_at, u64_at};
use super::{DlqConfig, Durability};

#[test]
fn a_sealed_frame_carries_its_length_checksum_and_place() {
    let mut frame = vec![0_u8; HEADER];
    frame.extend_from_slice(br#"{"payload":1}"#);
    seal(&mut frame, 42, 1_700_000_000_000);
    assert_eq!(u32_at(&frame, 0) as usize, frame.len() - 8);
    assert_eq!(u32_at(&frame, 4), crc32c::crc32c(&frame[8..]));
    assert_eq!(u64_at(&frame, 8), 42);
    assert_eq!(u64_at(&frame, 16), 1_700_000_000_000);
    frame[HEADER] ^= 1;
    assert_ne!(u32_at(&frame, 4), crc32c::crc32c(&frame[8..]));
}

#[test]
fn defaults_are_valid_and_durable() {
    let config = DlqConfig::default();
    config.validate().unwrap();
    assert_eq!(config.durability, Durability::EachRecord);
}

#[test]
fn settings_read_from_serde() {
    let config: DlqConfig = serde_json::from_str(
        r#"{"dir":"/var/lib/app/dlq","durability":{"mode":"batched","max_records":64,"max_delay_ms":5},"max_records":10}"#,
    )
    .unwrap();
    assert_eq!(
        config.durability,
        Durability::Batched {
            max_records: 64,
            max_delay_ms: 5
        }
    );
    assert_eq!(config.max_records, 10);
    assert!(serde_json::from_str::<DlqConfig>(r#"{"max_recrods":1}"#).is_err());
}
