//! The small accessors and conversions of the public API.

use pr_errors::CodedError;
use pr_security::codes::CODES;
use pr_security::files::{PathIssue, StoredPath, check_stored_path};
use pr_security::secrets::{Keyring, SecretBytes, SecretString};
use pr_security::signals::{Verdict, sql_injection_signal};
use pr_security::validation::{Email, EmailMode, validate_email};
use pr_security::{Finding, SecurityReport, Severity};

#[test]
fn stored_path_accessors() {
    let path: StoredPath = check_stored_path("a/b%20c.txt").unwrap();
    assert_eq!(path.to_string(), "a/b c.txt");
    assert_eq!(AsRef::<str>::as_ref(&path), "a/b c.txt");
    assert_eq!(path.components().collect::<Vec<_>>(), ["a", "b c.txt"]);
    assert_eq!(path.clone().into_string(), "a/b c.txt");
    assert_eq!(
        PathIssue::ReservedName.to_string(),
        "windows reserved device name"
    );
}

#[test]
fn secrets_and_keys() {
    let s = SecretString::from("abc");
    assert_eq!((s.len(), s.is_empty()), (3, false));
    assert_eq!(s, SecretString::from(String::from("abc")));
    assert!(SecretString::default().is_empty());
    let b = SecretBytes::from(vec![1, 2, 3]);
    assert_eq!(
        (b.len(), b.is_empty(), b.expose()),
        (3, false, &[1_u8, 2, 3][..])
    );
    assert_eq!(b, SecretBytes::new(vec![1, 2, 3]));
    assert!(b.ct_eq([1, 2, 3]));
    assert_eq!(serde_json::to_string(&b).unwrap(), "\"[redacted]\"");

    let mut ring = Keyring::new("a", &[0; 32]).unwrap();
    ring.add("b", &[1; 32]).unwrap();
    assert!(ring.add("b", &[1; 32]).is_err());
    assert!(ring.set_primary("zzz").is_err());
    assert_eq!(ring.primary(), "a");
    assert_eq!(ring.key_ids().collect::<Vec<_>>(), ["a", "b"]);
    assert!(ring.remove("zzz").is_err());
    assert!(ring.needs_reseal("garbage").is_err());
}

#[test]
fn email_display_and_reports() {
    let email: Email = validate_email("a@B.c", EmailMode::Rfc5321).unwrap();
    assert_eq!(email.to_string(), "a@b.c");
    let empty = SecurityReport::default();
    assert_eq!(empty.to_string(), "no findings");
    assert!(empty.passes(Severity::Info));
    assert_eq!(empty.worst(), None);
    assert_eq!(Severity::Warning.to_string(), "warning");
    assert!(Severity::Info < Severity::Critical);
    let report = pr_security::environment::EnvironmentCheck::new()
        .args(["x", "--token=t"])
        .run();
    let finding: &Finding = report
        .findings
        .iter()
        .find(|f| f.code == "env.secret_in_args")
        .unwrap();
    assert!(
        finding
            .to_string()
            .starts_with("critical [env.secret_in_args]: ")
    );
    assert_eq!(Verdict::Clean.reason(), None);
    assert!(!sql_injection_signal("hello").is_suspicious());
}

#[test]
fn every_code_is_in_the_security_area_and_catalogued() {
    assert!(CODES.entries.len() >= 20);
    for info in CODES.entries {
        assert_eq!(info.code.area(), "security");
    }
    let err = check_stored_path("..").unwrap_err();
    assert!(CODES.find(err.code().as_str()).is_some());
    assert_eq!(err.status().as_u16(), 400);
    assert!(err.is_public());
}
