//! JSON string escaping: control characters, quotes, backslashes and the
//! Unicode line separators are escaped, so one event is always one line.

use std::fmt;

/// The digits of a `\u00XX` escape.
const HEX: &[u8; 16] = b"0123456789abcdef";

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0xE2 || b == 0x7F
}

/// Appends `s` escaped for a JSON string body (no surrounding quotes).
pub(crate) fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !needs_escape(b) {
            i += 1;
            continue;
        }
        if b == 0xE2 {
            // U+2028 / U+2029 (E2 80 A8 / E2 80 A9) end lines in JavaScript.
            if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) {
                out.push_str(&s[start..i]);
                out.push_str(if bytes[i + 2] == 0xA8 {
                    "\\u2028"
                } else {
                    "\\u2029"
                });
                i += 3;
                start = i;
            } else {
                i += 1;
            }
            continue;
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        }
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Appends `"s"`.
pub(crate) fn quoted(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

/// A `fmt::Write` that escapes what it receives into a string.
pub(crate) struct Escaper<'a>(pub(crate) &'a mut String);

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

/// Appends `bytes` as lowercase hex (constant-time: audit chains and
/// redaction tags are keyed digests).
#[cfg(feature = "audit")]
pub(crate) fn hex_into(out: &mut String, bytes: &[u8]) {
    out.push_str(&base16ct::lower::encode_string(bytes));
}

/// Decodes lowercase or uppercase hex.
#[cfg(feature = "audit")]
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    base16ct::mixed::decode_vec(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut s = String::new();
        quoted(&mut s, "a\"b\\c\nd\re\tf\u{1}g\u{7f}h\u{2028}i\u{2029}jé€");
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\\u2028i\\u2029jé€\""
        );
    }

    #[test]
    #[cfg(feature = "audit")]
    fn hex() {
        assert_eq!(hex_decode("00ff10"), Some(vec![0, 255, 16]));
        let mut h = String::new();
        hex_into(&mut h, &[0, 255, 16]);
        assert_eq!(h, "00ff10");
    }
}
