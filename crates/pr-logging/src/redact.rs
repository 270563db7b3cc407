//! Redaction in the formatter: sensitive field names, and secrets found by
//! value (bearer tokens, JWTs, Luhn-valid card numbers, PEM private keys).

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "audit")]
use ring::hmac;

use crate::config::{RedactionConfig, RedactionMode};
#[cfg(feature = "audit")]
use crate::json::hex_into;

/// What redacts, with its counter.
#[derive(Debug)]
pub(crate) struct Redactor {
    enabled: bool,
    keys: Vec<String>,
    patterns: bool,
    mode: RedactionMode,
    #[cfg(feature = "audit")]
    hmac: Option<(hmac::Key, String)>,
    count: AtomicU64,
    #[cfg(feature = "metrics")]
    counter: metrics::Counter,
}

impl Redactor {
    pub(crate) fn new(config: &RedactionConfig) -> Self {
        #[cfg(feature = "audit")]
        let hmac = config.hmac_key.as_ref().map(|key| {
            (
                hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes()),
                config.hmac_key_id.clone(),
            )
        });
        Self {
            enabled: config.enabled,
            keys: config.keys.iter().map(|k| k.to_ascii_lowercase()).collect(),
            patterns: config.enabled && config.patterns,
            mode: config.mode,
            #[cfg(feature = "audit")]
            hmac,
            count: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            counter: {
                crate::stats::describe();
                metrics::counter!("pr_logging_redactions_total")
            },
        }
    }

    /// Whether string values are scanned for secrets.
    #[inline]
    pub(crate) fn patterns(&self) -> bool {
        self.patterns
    }

    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether a field with this name is sensitive.
    #[inline]
    pub(crate) fn is_sensitive(&self, name: &str) -> bool {
        if !self.enabled {
            return false;
        }
        let name = name.as_bytes();
        self.keys.iter().any(|key| {
            let key = key.as_bytes();
            if name.len() < key.len() {
                return false;
            }
            let start = name.len() - key.len();
            name[start..].eq_ignore_ascii_case(key)
                && (start == 0 || matches!(name[start - 1], b'_' | b'.' | b'-'))
        })
    }

    /// Appends the replacement for a sensitive `value` (unescaped text).
    pub(crate) fn replacement(&self, value: &str, out: &mut String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.counter.increment(1);
        match self.mode {
            RedactionMode::Partial if value.chars().count() > 8 => {
                out.push_str("****");
                let tail = value.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
                out.push_str(&value[tail..]);
            }
            // Without feature `audit` validation refused `hmac` mode.
            #[cfg(feature = "audit")]
            RedactionMode::Hmac => match &self.hmac {
                Some((key, id)) => {
                    let tag = hmac::sign(key, value.as_bytes());
                    out.push_str("hmac:");
                    out.push_str(id);
                    out.push(':');
                    hex_into(out, &tag.as_ref()[..16]);
                }
                None => out.push_str("[redacted]"),
            },
            #[cfg(not(feature = "audit"))]
            RedactionMode::Hmac => out.push_str("[redacted]"),
            RedactionMode::Erase | RedactionMode::Partial => out.push_str("[redacted]"),
        }
    }

    /// If `value` holds secrets, appends a copy with each replaced to `out`
    /// and returns true; otherwise leaves `out` alone and returns false.
    pub(crate) fn scan(&self, value: &str, out: &mut String) -> bool {
        if !self.patterns {
            return false;
        }
        let Some(first) = next_secret(value.as_bytes(), 0) else {
            return false;
        };
        let mut copied = 0;
        let mut found = Some(first);
        while let Some((start, end)) = found {
            out.push_str(&value[copied..start]);
            self.replacement(&value[start..end], out);
            copied = end;
            found = next_secret(value.as_bytes(), end);
        }
        out.push_str(&value[copied..]);
        true
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The byte range of the next secret at or after `from`.
fn next_secret(s: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < s.len() {
        let b = s[i];
        let boundary = i == 0 || !is_word(s[i - 1]);
        match b {
            b'-' if s[i..].starts_with(b"-----BEGIN ") => {
                if let Some(range) = pem(s, i) {
                    return Some(range);
                }
            }
            b'b' | b'B' if boundary && starts_with_ignore_case(&s[i..], b"bearer ") => {
                if let Some(range) = bearer(s, i + 7) {
                    return Some(range);
                }
            }
            b'e' if boundary && s[i..].starts_with(b"eyJ") => {
                if let Some(end) = jwt(s, i) {
                    return Some((i, end));
                }
            }
            b'0'..=b'9' if boundary => {
                let (end, found) = card(s, i);
                if found {
                    return Some((i, end));
                }
                i = end.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn pem(s: &[u8], start: usize) -> Option<(usize, usize)> {
    let header_end = start + 11 + find(&s[start + 11..], b"-----")?;
    if !s[start..header_end].ends_with(b"PRIVATE KEY") {
        return None;
    }
    let end = match find(&s[header_end..], b"-----END ") {
        Some(at) => {
            let after = header_end + at + 9;
            find(&s[after..], b"-----").map_or(s.len(), |close| after + close + 5)
        }
        None => s.len(),
    };
    Some((start, end))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

fn bearer(s: &[u8], mut start: usize) -> Option<(usize, usize)> {
    while s.get(start) == Some(&b' ') {
        start += 1;
    }
    let len = s[start..].iter().take_while(|b| token_byte(**b)).count();
    (len >= 8).then_some((start, start + len))
}

fn jwt(s: &[u8], start: usize) -> Option<usize> {
    let seg = |from: usize| {
        s[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            .count()
    };
    let a = seg(start);
    let dot1 = start + a;
    if a < 10 || s.get(dot1) != Some(&b'.') {
        return None;
    }
    let b = seg(dot1 + 1);
    let dot2 = dot1 + 1 + b;
    if b < 2 || s.get(dot2) != Some(&b'.') {
        return None;
    }
    Some(dot2 + 1 + seg(dot2 + 1))
}

/// A run of digits with single spaces or dashes between groups: its end,
/// and whether it is a 13 to 19 digit number passing the Luhn check.
fn card(s: &[u8], start: usize) -> (usize, bool) {
    let mut digits = [0_u8; 19];
    let mut n = 0;
    let mut i = start;
    let mut end = start;
    while i < s.len() {
        let b = s[i];
        if b.is_ascii_digit() {
            if n < digits.len() {
                digits[n] = b - b'0';
            }
            n += 1;
            i += 1;
            end = i;
        } else if matches!(b, b' ' | b'-') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
        } else {
            break;
        }
    }
    if !(13..=19).contains(&n) || s.get(end).is_some_and(|b| is_word(*b)) {
        return (end, false);
    }
    let sum: u32 = digits[..n]
        .iter()
        .rev()
        .enumerate()
        .map(|(k, d)| {
            let d = u32::from(*d);
            if k % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    (end, sum.is_multiple_of(10))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]
    use super::*;

    fn scan(s: &str) -> String {
        let r = Redactor::new(&RedactionConfig::default());
        let mut out = String::new();
        if r.scan(s, &mut out) {
            out
        } else {
            s.to_owned()
        }
    }

    #[test]
    fn keys() {
        let r = Redactor::new(&RedactionConfig::default());
        for name in [
            "password",
            "PASSWORD",
            "db_password",
            "user.Token",
            "set-cookie",
            "api_key",
        ] {
            assert!(r.is_sensitive(name), "{name}");
        }
        for name in ["user", "passwords", "tokenizer", "mytoken"] {
            assert!(!r.is_sensitive(name), "{name}");
        }
    }

    #[test]
    fn patterns() {
        assert_eq!(
            scan("auth Bearer abcdefgh12345678 ok"),
            "auth Bearer [redacted] ok"
        );
        assert_eq!(scan("bearer short"), "bearer short");
        assert_eq!(
            scan("jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl!"),
            "jwt=[redacted]!"
        );
        assert_eq!(scan("card 4111 1111 1111 1111."), "card [redacted].");
        assert_eq!(scan("card 4111-1111-1111-1111"), "card [redacted]");
        assert_eq!(scan("order 4111111111111112"), "order 4111111111111112");
        assert_eq!(scan("id 12345"), "id 12345");
        assert_eq!(
            scan("k=-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- done"),
            "k=[redacted] done"
        );
        assert_eq!(
            scan("-----BEGIN CERTIFICATE-----"),
            "-----BEGIN CERTIFICATE-----"
        );
    }

    #[test]
    fn modes() {
        let partial = Redactor::new(&RedactionConfig {
            mode: RedactionMode::Partial,
            ..RedactionConfig::default()
        });
        let mut out = String::new();
        partial.replacement("4111111111111111", &mut out);
        assert_eq!(out, "****1111");
    }

    #[test]
    #[cfg(feature = "audit")]
    fn hmac_mode() {
        let hmac = Redactor::new(&RedactionConfig {
            mode: RedactionMode::Hmac,
            hmac_key: Some(pr_core::secret::SecretString::new(
                "0123456789abcdef0123456789abcdef",
            )),
            hmac_key_id: "k7".to_owned(),
            ..RedactionConfig::default()
        });
        let (mut a, mut b, mut c) = (String::new(), String::new(), String::new());
        hmac.replacement("s3cret", &mut a);
        hmac.replacement("s3cret", &mut b);
        hmac.replacement("other", &mut c);
        assert!(a.starts_with("hmac:k7:") && a.len() == 8 + 32, "{a}");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(hmac.count(), 3);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn luhn_card(prefix: &[u8]) -> String {
        // Appends the check digit that makes `prefix` pass the Luhn check.
        let sum: u32 = prefix
            .iter()
            .rev()
            .enumerate()
            .map(|(k, d)| {
                let d = u32::from(*d);
                if k % 2 == 0 {
                    let dd = d * 2;
                    if dd > 9 { dd - 9 } else { dd }
                } else {
                    d
                }
            })
            .sum();
        let check = (10 - sum % 10) % 10;
        prefix
            .iter()
            .map(|d| char::from(b'0' + d))
            .chain(std::iter::once(char::from_digit(check, 10).unwrap_or('0')))
            .collect()
    }

    proptest! {
        #[test]
        fn scanning_never_panics_and_keeps_plain_text(s in "\\PC{0,64}") {
            let r = Redactor::new(&RedactionConfig::default());
            let mut out = String::new();
            if !r.scan(&s, &mut out) {
                prop_assert!(out.is_empty());
            }
        }

        #[test]
        fn every_luhn_card_is_found(
            digits in proptest::collection::vec(0_u8..10, 12..18),
            before in "[a-z ]{0,8}",
            after in "([ .,;][a-z ]{0,8})?",
        ) {
            let card = luhn_card(&digits);
            let text = format!("{before} {card}{after}");
            let r = Redactor::new(&RedactionConfig::default());
            let mut out = String::new();
            prop_assert!(r.scan(&text, &mut out));
            prop_assert!(!out.contains(&card), "{}", out);
        }
    }
}
