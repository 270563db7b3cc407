//! The normalisation every detector runs first: input cut to its first
//! 16 KiB, percent-decoded, HTML character references decoded when asked,
//! lowercased. Separate so that the three detectors undo encodings the same
//! way.

use std::borrow::Cow;

use super::Verdict;

/// Longest input the detectors look at; longer input is judged on its first
/// 16 KiB.
const MAX_INSPECT: usize = 16 * 1024;

/// Runs `detector` over `input` normalised with [`normalize`].
pub(super) fn scan(input: &str, html_entities: bool, detector: fn(&str) -> Verdict) -> Verdict {
    detector(&normalize(input, html_entities))
}

/// Percent-decodes (up to three rounds), decodes HTML character references
/// when asked, and lowercases.
pub(super) fn normalize(input: &str, html_entities: bool) -> String {
    let mut text: Cow<'_, str> = Cow::Borrowed(truncate(input));
    for _ in 0..3 {
        if !text.contains('%') {
            break;
        }
        let decoded = percent_decode(&text);
        if decoded == text {
            break;
        }
        text = Cow::Owned(decoded);
    }
    if html_entities && text.contains('&') {
        text = Cow::Owned(decode_entities(&text));
    }
    text.to_lowercase()
}

fn truncate(input: &str) -> &str {
    if input.len() <= MAX_INSPECT {
        return input;
    }
    let mut end = MAX_INSPECT;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    &input[..end]
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| char::from(*b).to_digit(16)),
                bytes.get(i + 2).and_then(|b| char::from(*b).to_digit(16)),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else if bytes[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes `&#NN;`, `&#xHH;` (semicolon optional) and a few named references.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let body = &rest[1..];
        let (decoded, used) = if let Some(num) = body.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (true, h),
                None => (false, num),
            };
            let len = digits
                .bytes()
                .take_while(|b| {
                    if hex {
                        b.is_ascii_hexdigit()
                    } else {
                        b.is_ascii_digit()
                    }
                })
                .count()
                .min(8);
            let value = u32::from_str_radix(&digits[..len], if hex { 16 } else { 10 }).ok();
            let mut used = 1 + 1 + usize::from(hex) + len;
            if digits[len..].starts_with(';') {
                used += 1;
            }
            (value.and_then(char::from_u32).filter(|_| len > 0), used)
        } else {
            let named = [
                ("lt;", '<'),
                ("gt;", '>'),
                ("quot;", '"'),
                ("apos;", '\''),
                ("amp;", '&'),
                ("colon;", ':'),
                ("tab;", '\t'),
                ("newline;", '\n'),
                ("lpar;", '('),
                ("rpar;", ')'),
            ];
            named
                .iter()
                .find(|(name, _)| {
                    body.get(..name.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(name))
                })
                .map_or((None, 1), |(name, c)| (Some(*c), 1 + name.len()))
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("&quot;&apos;&colon;&tab;&newline;&lpar;&rpar;&LT;"),
            "\"':\t\n()<"
        );
        assert_eq!(decode_entities("&#x3c;&#60&lt;&bogus;&#;"), "<<<&bogus;&#;");
    }
}
