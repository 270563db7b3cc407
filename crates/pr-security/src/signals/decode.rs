//! The normalisation every detector runs first (percent-decoded, HTML
//! character references decoded when asked, lowercased) and the windows
//! the whole input is read in. Separate so that the three detectors undo
//! encodings and cut input the same way.
//!
//! # Why windows
//!
//! An earlier version read the first 16 KiB only, so a payload after 16 KiB
//! of filler was never seen, and some rules rescanned the rest of the
//! input from each candidate, so 16 KiB of `&` cost 0.2–0.4 s. Now the
//! input is read whole in windows of [`WINDOW`] bytes, each sharing
//! [`OVERLAP`] bytes with the one before, so every run of up to `OVERLAP`
//! bytes lies whole in some window and the work is (number of windows) ×
//! (work on one window): linear in the input by construction, whatever a
//! rule does inside a window. The rules themselves are linear in their
//! window too (each candidate costs what it reads once); the `steps` counter
//! below, compiled into tests only, lets a test prove both.
//!
//! A window that is not the first starts, and one that is not the last
//! ends, with [`SENTINEL`]: a character no rule reads as a word, a
//! separator, white space or an operator, so a rule anchored to the start
//! or end of the input (`or x=y` as the whole input, `; id` at the end)
//! does not fire at a cut in the middle of it; the neighbouring window sees
//! that text with what surrounds it.

use std::borrow::Cow;

use super::Verdict;

/// Bytes of raw input in one window: inputs up to this size are read in one
/// piece, as the earlier version read its first 16 KiB.
pub(super) const WINDOW: usize = 16 * 1024;

/// Bytes each window shares with the one before: the longest stretch of
/// input a rule is sure to see whole when the input is longer than
/// [`WINDOW`].
pub(super) const OVERLAP: usize = 2 * 1024;

/// Marks a cut between windows (see the module docs).
const SENTINEL: char = '\u{1}';

/// Runs `detector` over `input` normalised with [`normalize`], window by
/// window (see the module docs); the first suspicious window decides.
pub(super) fn scan(input: &str, html_entities: bool, detector: fn(&str) -> Verdict) -> Verdict {
    if input.len() <= WINDOW {
        charge(input.len());
        return detector(&normalize(input, html_entities));
    }
    let mut start = 0;
    loop {
        let end = floor_boundary(input, (start + WINDOW).min(input.len()));
        charge(end - start);
        let mut text = String::with_capacity(end - start + 2);
        if start > 0 {
            text.push(SENTINEL);
        }
        text.push_str(&normalize(&input[start..end], html_entities));
        if end < input.len() {
            text.push(SENTINEL);
        }
        let verdict = detector(&text);
        if verdict.is_suspicious() || end == input.len() {
            return verdict;
        }
        // `WINDOW - OVERLAP` is far more than the 3 bytes a boundary can
        // move, so the next window starts later than this one.
        start = floor_boundary(input, end - OVERLAP);
    }
}

/// The largest char boundary at or before `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
thread_local! {
    /// Work done by the detectors on this thread, in bytes read (see
    /// [`charge`]); tests only.
    static STEPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts `bytes` of work: each window's bytes once (the whole-window
/// passes, a fixed number per window), and every byte a rule reads from a
/// candidate position on (skipping white space, reading a word, looking
/// for a closing quote). Compiled to nothing outside tests.
#[inline]
pub(super) fn charge(bytes: usize) {
    #[cfg(test)]
    STEPS.with(|s| s.set(s.get() + bytes));
    let _ = bytes;
}

/// The work counted by [`charge`] on this thread so far.
#[cfg(test)]
pub(super) fn steps() -> usize {
    STEPS.with(std::cell::Cell::get)
}

/// Percent-decodes (up to three rounds), decodes HTML character references
/// when asked, and lowercases.
pub(super) fn normalize(input: &str, html_entities: bool) -> String {
    let mut text: Cow<'_, str> = Cow::Borrowed(input);
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
        let (decoded, used) = if let Some((value, len)) = crate::chars::numeric_reference(body) {
            // Not a character (a surrogate, past U+10FFFF): left as text.
            (char::from_u32(value), 1 + len)
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
        // Padded as a browser allows, past the eight digits once read.
        assert_eq!(decode_entities("&#0000000060;&#x00000000003C"), "<<");
        // No character: a surrogate or a value past U+10FFFF stays text.
        assert_eq!(decode_entities("&#xD800;&#x110000;"), "&#xD800;&#x110000;");
    }
}
