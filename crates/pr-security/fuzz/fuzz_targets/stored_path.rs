//! The stored-path check never panics, never accepts a `..` component once
//! decoded, and accepts every name the sanitizer produces.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pr_security::files::{check_stored_path, decode_stored_path, sanitize_filename};

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = check_stored_path(data) {
        let decoded = decode_stored_path(data).expect("an accepted path decodes");
        assert_eq!(path.as_str().as_bytes(), decoded.as_slice());
        assert!(
            !path
                .components()
                .any(|c| c == ".." || c == "." || c.is_empty())
        );
        assert!(!path.as_str().contains(['\\', '\0']));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let name = sanitize_filename(text);
        assert!(name.len() <= 255);
        assert_eq!(sanitize_filename(&name), name);
        assert!(check_stored_path(&name).is_ok(), "{name:?}");
    }
});
