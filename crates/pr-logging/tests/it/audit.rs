//! The audit log: chained lines, tampering found at the right line, the
//! chain continuing across rotation and restarts.

use pr_core::secret::SecretString;
use pr_core::time::ManualClock;
use pr_logging::{AuditConfig, Logging, audit_files, verify, verify_all};
use pr_test_support::{TempDir, temp_dir};

use crate::support::{T0, quiet};

const KEY: &str = "an audit key that is 32+ bytes long";

fn config(dir: &TempDir, max_size: Option<u64>) -> pr_logging::LoggingConfig {
    let mut config = quiet();
    let mut audit = AuditConfig::default();
    audit.path = dir.path().join("audit.log");
    audit.key = SecretString::new(KEY);
    audit.key_id = "audit-2026".to_owned();
    audit.rotation.max_size = max_size.map(pr_core::units::ByteSize);
    audit.rotation.every = pr_logging::Every::Never;
    config.audit = Some(audit);
    config.filter = "off".to_owned();
    config
}

fn write(config: &pr_logging::LoggingConfig, from: u64, count: u64) {
    let (dispatch, guard) = Logging::builder(config)
        .clock(ManualClock::at_unix(T0).clock())
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in from..from + count {
            pr_logging::audit!(actor = "ada", action = "delete", n, "order deleted");
            tracing::info!("not an audit event");
        }
    });
    drop(guard);
}

fn lines(dir: &TempDir) -> Vec<String> {
    std::fs::read_to_string(dir.path().join("audit.log"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn tampered(dir: &TempDir, lines: &[String]) -> pr_logging::AuditReport {
    let path = dir.path().join("tampered.log");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    verify(&path, KEY.as_bytes()).unwrap()
}

#[test]
fn an_untouched_file_verifies_and_tampering_is_found_at_its_line() {
    let dir = temp_dir("logging-audit");
    let config = config(&dir, None);
    write(&config, 1, 10);
    let original = lines(&dir);
    assert_eq!(original.len(), 10, "only audit events, whatever the filter");
    let first: serde_json::Value = serde_json::from_str(&original[0]).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["key_id"], "audit-2026");
    assert_eq!(first["event"]["actor"], "ada");
    assert_eq!(first["event"]["target"], "audit");

    let report = verify(dir.path().join("audit.log"), KEY.as_bytes()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.verified, 10);
    assert_eq!(report.last_seq, Some(10));
    assert_eq!(report.key_id.as_deref(), Some("audit-2026"));

    let broken_at = |report: pr_logging::AuditReport| report.broken.map(|b| b.line);

    let mut edited = original.clone();
    edited[4] = edited[4].replace("delete", "create");
    assert_eq!(broken_at(tampered(&dir, &edited)), Some(5));

    let mut deleted = original.clone();
    deleted.remove(4);
    assert_eq!(broken_at(tampered(&dir, &deleted)), Some(5));

    let mut reordered = original.clone();
    reordered.swap(3, 4);
    assert_eq!(broken_at(tampered(&dir, &reordered)), Some(4));

    let mut inserted = original.clone();
    inserted.insert(6, original[2].clone());
    assert_eq!(broken_at(tampered(&dir, &inserted)), Some(7));

    let mut first_deleted = original.clone();
    first_deleted.remove(0);
    assert_eq!(broken_at(tampered(&dir, &first_deleted)), Some(1));

    let mut garbage = original.clone();
    garbage.insert(2, "{\"not\":\"audit\"}".to_owned());
    assert_eq!(broken_at(tampered(&dir, &garbage)), Some(3));

    let wrong_key = verify(
        dir.path().join("audit.log"),
        b"another key of at least 32 bytes",
    )
    .unwrap();
    assert_eq!(wrong_key.broken.map(|b| b.line), Some(1));
}

#[test]
fn the_chain_continues_across_rotation_and_restarts() {
    let dir = temp_dir("logging-audit-rotation");
    let config = config(&dir, Some(2048));
    write(&config, 1, 30);
    write(&config, 31, 30);
    let files = audit_files(&dir.path().join("audit.log"));
    assert!(files.len() > 3, "{files:?}");
    let report = verify_all(dir.path().join("audit.log"), KEY.as_bytes()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.verified, 60);
    assert_eq!(report.last_seq, Some(60));

    // Rotated files compressed by an outside tool still verify.
    let oldest = &files[0];
    let mut gz_name = oldest.as_os_str().to_owned();
    gz_name.push(".gz");
    {
        use std::io::Write as _;
        let out = std::fs::File::create(&gz_name).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        encoder.write_all(&std::fs::read(oldest).unwrap()).unwrap();
        encoder.finish().unwrap();
    }
    std::fs::remove_file(oldest).unwrap();
    let report = verify_all(dir.path().join("audit.log"), KEY.as_bytes()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.verified, 60);
    let files = audit_files(&dir.path().join("audit.log"));
    assert!(files[0].to_string_lossy().ends_with(".log.gz"), "{files:?}");

    // A restart with no current file (as right after a rotation) resumes
    // from the newest rotated file.
    let newest = files[files.len() - 2].clone();
    let newest_seq = verify(&newest, KEY.as_bytes()).unwrap().last_seq.unwrap();
    std::fs::remove_file(dir.path().join("audit.log")).unwrap();
    write(&config, 61, 1);
    let report = verify_all(dir.path().join("audit.log"), KEY.as_bytes()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.last_seq, Some(newest_seq + 1));

    // Dropping a whole middle file breaks the chain at the next file.
    let mut without_one = files.clone();
    without_one.remove(1);
    let report = pr_logging::verify_files(&without_one, KEY.as_bytes()).unwrap();
    let broken = report.broken.unwrap();
    assert_eq!(broken.path, without_one[1]);
    assert_eq!(broken.line, 1);
}

#[test]
fn a_missing_file_is_a_typed_error() {
    let err = verify("/nonexistent/audit.log", KEY.as_bytes()).unwrap_err();
    assert_eq!(pr_errors::CodedError::code(&err).as_str(), "logging.io");
}
