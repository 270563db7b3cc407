//! The injection signals never panic, whatever the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pr_security::signals::{command_injection_signal, sql_injection_signal, xss_signal};

fuzz_target!(|text: &str| {
    let _ = sql_injection_signal(text);
    let _ = xss_signal(text);
    let _ = command_injection_signal(text);
});
