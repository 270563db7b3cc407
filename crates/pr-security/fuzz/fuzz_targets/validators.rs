//! Validators never panic, and what they accept re-validates to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pr_security::validation::{CharClass, EmailMode, TextRule, UrlPolicy, validate_email, validate_hostname, validate_int, validate_ip, validate_rfc3339};

fuzz_target!(|text: &str| {
    for mode in [EmailMode::Rfc5321, EmailMode::Html] {
        if let Ok(email) = validate_email(text, mode) {
            let again =
                validate_email(email.as_str(), mode).expect("normalized email re-validates");
            assert_eq!(again, email);
        }
    }
    if let Ok(url) = UrlPolicy::http_and_https().check(text) {
        UrlPolicy::http_and_https()
            .check(url.as_str())
            .expect("normalized url re-validates");
    }
    if let Ok(host) = validate_hostname(text) {
        assert_eq!(
            validate_hostname(&host).expect("normalized host re-validates"),
            host
        );
    }
    let _ = validate_ip(text);
    if let Ok(date) = validate_rfc3339(text) {
        assert_eq!(
            validate_rfc3339(&date.to_string()).expect("normalized date re-validates"),
            date
        );
    }
    let _ = validate_int::<i64>(text, -1000..=1000);
    let _ = TextRule::new(1, 64, CharClass::Printable).check(text);
});
