//! Sanitizers never panic and are idempotent; encoders leave no active
//! characters.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pr_security::output::{
    HtmlLimits, escape_html, escape_html_attr, neutralize_header, neutralize_log, sanitize_html,
};

fuzz_target!(|text: &str| {
    let log = neutralize_log(text);
    assert_eq!(neutralize_log(&log), log);
    assert!(!log.contains(['\n', '\r']));
    let header = neutralize_header(text);
    assert_eq!(neutralize_header(&header), header);
    assert!(!header.contains(['\n', '\r', '\0']));
    assert!(!escape_html(text).contains(['<', '>', '"', '\'']));
    assert!(!escape_html_attr(text).contains(['<', '>', '"', '\'', ' ', '=', '`']));
    // Within the default limits the output must be stable; beyond them the
    // input is refused, and its output (none) has nothing to check.
    if let Ok(clean) = sanitize_html(text) {
        // Escaping can make the output longer than the input limit: the
        // second pass checks stability, not limits.
        let mut unlimited = HtmlLimits::default();
        unlimited.max_bytes = usize::MAX;
        unlimited.max_depth = usize::MAX;
        assert_eq!(unlimited.sanitize(&clean).expect("no limit to pass"), clean);
    }
});
