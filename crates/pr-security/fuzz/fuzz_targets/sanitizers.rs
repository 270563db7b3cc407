//! Sanitizers never panic and are idempotent; encoders leave no active
//! characters.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pr_security::output::{escape_html, escape_html_attr, neutralize_header, neutralize_log, sanitize_html};

fuzz_target!(|text: &str| {
    let log = neutralize_log(text);
    assert_eq!(neutralize_log(&log), log);
    assert!(!log.contains(['\n', '\r']));
    let header = neutralize_header(text);
    assert_eq!(neutralize_header(&header), header);
    assert!(!header.contains(['\n', '\r', '\0']));
    assert!(!escape_html(text).contains(['<', '>', '"', '\'']));
    assert!(!escape_html_attr(text).contains(['<', '>', '"', '\'', ' ', '=', '`']));
    if text.len() <= 4096 {
        let clean = sanitize_html(text);
        assert_eq!(sanitize_html(&clean), clean);
    }
});
