//! The cross-site scripting detector. Separate because it reads HTML:
//! it decodes character references and looks at the input twice.
//!
//! - As a browser's HTML tokenizer would (WHATWG HTML, "Tokenization"): CR
//!   becomes LF (input stream preprocessing), and TAB, LF, FF, SPACE and `/`
//!   end a tag name or an attribute and start the next attribute ("tag name",
//!   "before attribute name", "after attribute value (quoted)" states). These
//!   characters must stay in the text as separators: deleting them, as an
//!   earlier version did, joined `<img\tsrc=x\tonerror=...>` into
//!   `srcx=xonerror` and hid the handler. U+000B (VT) and NUL are not
//!   separators to the tokenizer (they become part of a name), so they are
//!   not treated as ones here either.
//! - As a URL parser would (WHATWG URL, "basic URL parser"): TAB, LF and CR
//!   are removed anywhere in a URL, so `java\tscript:` is `javascript:`.
//!   Scheme and script-sink rules read this view (NUL is removed as well,
//!   for older engines that skipped it).

use super::Verdict;
use super::decode::charge;

/// Flags input that looks like cross-site scripting: `<script>`, event
/// handler attributes (`<svg/onload=`), `javascript:` / `vbscript:` /
/// `data:text/html` URLs (with control characters and entities undone),
/// dangerous tags (`iframe`, `object`, `embed`, `base`, `meta`), tag and
/// attribute break-outs, and script sinks (`document.cookie`, `eval(`,
/// `alert(`).
///
/// Defense in depth only: encode output for its context.
///
/// # Examples
///
/// ```
/// use pr_security::signals::{Verdict, xss_signal};
///
/// assert!(xss_signal("<img src=x onerror=alert(1)>").is_suspicious());
/// assert!(xss_signal("jav&#x09;ascript:alert(1)").is_suspicious());
/// assert_eq!(xss_signal("Tom & Jerry <3 cartoons"), Verdict::Clean);
/// ```
#[must_use]
pub fn xss_signal(input: &str) -> Verdict {
    super::decode::scan(input, true, xss_window)
}

/// HTML whitespace after input stream preprocessing (CR is LF by then): the
/// tokenizer's "TAB, LF, FF, SPACE".
fn is_html_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | b'\x0c' | b' ')
}

/// One window of normalised input (see `decode::scan`).
fn xss_window(decoded: &str) -> Verdict {
    // The URL parser's view: TAB, LF and CR removed anywhere.
    let text: String = decoded
        .chars()
        .filter(|c| !matches!(c, '\0' | '\t' | '\n' | '\r'))
        .collect();
    // The tokenizer's view is `decoded` itself: separators kept.
    let html = decoded;
    let hbytes = html.as_bytes();
    let tags = Tags::read(html);
    if tags.script || html.contains("</script") {
        return Verdict::Suspicious("script tag");
    }
    for scheme in [
        "javascript:",
        "vbscript:",
        "livescript:",
        "data:text/html",
        "data:image/svg+xml",
        "data:application/x",
    ] {
        if text.contains(scheme) {
            return Verdict::Suspicious("script url");
        }
    }
    // `javascript:` split by spaces or other junk browsers skip at the start.
    if compact(&text).contains("javascript:") {
        return Verdict::Suspicious("script url");
    }
    if tags.dangerous {
        return Verdict::Suspicious("dangerous tag");
    }
    // An `on...=` attribute inside a tag or after an attribute break-out.
    // Where the first `<` or quote is, once, so that each candidate costs
    // O(1) instead of a scan of everything before it.
    let first_opener = html.find(['<', '"', '\'']).unwrap_or(usize::MAX);
    for (i, _) in html.match_indices("on") {
        if i <= first_opener {
            continue;
        }
        let before = hbytes[i - 1];
        // An attribute name starts after a separator, after `/` ("before
        // attribute name" skips it), or right after a quoted value ends
        // (`"onx=`, a parse error browsers accept). `` ` `` and `;` stay for
        // old engines and script contexts.
        if !(is_html_space(before) || matches!(before, b'/' | b'"' | b'\'' | b'`' | b';')) {
            continue;
        }
        let name_len = hbytes[i + 2..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if name_len < 3 {
            continue;
        }
        let mut k = i + 2 + name_len;
        // "after attribute name": whitespace, then `=`.
        while hbytes.get(k).is_some_and(|b| is_html_space(*b)) {
            k += 1;
        }
        charge(k - i);
        if hbytes.get(k) == Some(&b'=') {
            return Verdict::Suspicious("event handler attribute");
        }
    }
    for attr in ["srcdoc", "formaction", "xlink:href"] {
        if has_attribute(html, attr) {
            return Verdict::Suspicious("dangerous attribute or style");
        }
    }
    for style in ["expression(", "-moz-binding"] {
        if text.contains(style) {
            return Verdict::Suspicious("dangerous attribute or style");
        }
    }
    // IE's `behavior: url(x.htc)`; `behavior:` alone is prose ("Expected
    // behavior:" heads half the bug reports on GitHub).
    if text.match_indices("behavior").any(|(i, _)| {
        let rest = text[i + "behavior".len()..].trim_start();
        rest.strip_prefix(':')
            .is_some_and(|value| value.trim_start().starts_with("url("))
    }) {
        return Verdict::Suspicious("dangerous attribute or style");
    }
    for sink in [
        "document.cookie",
        "document.domain",
        "document.write",
        "eval(",
        "alert(",
        "alert`",
        "prompt(",
        "prompt`",
        "confirm(",
        "confirm`",
        "fromcharcode",
        "window.location",
        ".innerhtml",
        "settimeout(",
        "constructor(",
    ] {
        if text.contains(sink) {
            return Verdict::Suspicious("script sink");
        }
    }
    // `"><tag`: leaving an attribute and opening a tag.
    let bytes = text.as_bytes();
    // The quote must be unmatched (an odd count of it so far): it closes
    // the page's attribute, not one the input opened itself, as in the
    // markup `<a href="x"><img src="y">` that READMEs and comments hold.
    for pattern in ["\"><", "'><", "\"/><"] {
        let quote = pattern.as_bytes()[0];
        let (mut counted_to, mut count) = (0, 0_usize);
        for (at, _) in text.match_indices(pattern) {
            count += bytes[counted_to..=at]
                .iter()
                .filter(|b| **b == quote)
                .count();
            charge(at + 1 - counted_to);
            counted_to = at + 1;
            if count % 2 == 1
                && bytes
                    .get(at + pattern.len())
                    .is_some_and(u8::is_ascii_alphabetic)
            {
                return Verdict::Suspicious("tag break-out");
            }
        }
    }
    Verdict::Clean
}

/// Tags that load or run something, or change how the page is read.
const DANGEROUS_TAGS: &[&[u8]] = &[
    b"iframe",
    b"object",
    b"embed",
    b"base",
    b"meta",
    b"applet",
    b"frame",
    b"frameset",
    b"xss",
    b"import",
    b"link",
    b"style",
    b"form",
    b"isindex",
    b"math",
    b"svg",
    b"xml",
];

/// Which tags the window opens, read in one pass over its `<`s.
struct Tags {
    script: bool,
    dangerous: bool,
}

impl Tags {
    /// The tokenizer's "tag open" state needs an ASCII letter after `<`,
    /// and its "tag name" state ends a name at HTML whitespace, `/` or `>`
    /// (or the end of the window, where the name may go on): `<svgfoo` is
    /// another tag, `<svg\tonload` is `svg`, `< svg` is text.
    fn read(html: &str) -> Self {
        let bytes = html.as_bytes();
        let mut tags = Self {
            script: false,
            dangerous: false,
        };
        for (i, _) in html.match_indices('<') {
            // No name here is longer than `frameset`: reading one more
            // byte than that is enough to know the name is none of them.
            let name_len = bytes[i + 1..]
                .iter()
                .take(9)
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            charge(name_len + 1);
            let end = i + 1 + name_len;
            let ends = bytes
                .get(end)
                .is_none_or(|b| is_html_space(*b) || matches!(b, b'/' | b'>'));
            if name_len == 0 || !ends {
                continue;
            }
            let name = &bytes[i + 1..end];
            tags.script |= name == b"script";
            tags.dangerous |= DANGEROUS_TAGS.contains(&name);
        }
        tags
    }
}

/// Whether `name` appears as an attribute followed by `=`: after a
/// separator, `/` or a quote, then optional whitespace and `=`.
fn has_attribute(html: &str, name: &str) -> bool {
    let bytes = html.as_bytes();
    html.match_indices(name).any(|(i, _)| {
        let starts = i > 0 && {
            let before = bytes[i - 1];
            is_html_space(before) || matches!(before, b'/' | b'"' | b'\'')
        };
        let mut k = i + name.len();
        while bytes.get(k).is_some_and(|b| is_html_space(*b)) {
            k += 1;
        }
        charge(k - i);
        starts && bytes.get(k) == Some(&b'=')
    })
}

fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xss() {
        for attack in [
            "<script>alert(1)</script>",
            "<ScRiPt>alert(1)</sCrIpT>",
            "<svg/onload=alert(1)>",
            "\" onmouseover=\"alert(1)",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "%3Cscript%3Ealert(1)%3C/script%3E",
            "&lt;img src=x onerror=alert(1)&gt;",
            "<iframe src=//evil>",
            "<body onload=alert(1)>",
            "'><img src=x>",
            "javascript&colon;alert(1)",
        ] {
            assert!(xss_signal(attack).is_suspicious(), "{attack}");
        }
        for honest in [
            "Tom & Jerry",
            "I <3 Rust",
            "a < b and b > c",
            "The meeting is on Monday",
            "Use the <b> tag for bold",
            "https://example.com/?q=online",
            "Ask me about the conference",
        ] {
            assert_eq!(xss_signal(honest), Verdict::Clean, "{honest}");
        }
    }

    #[test]
    fn entities_and_xss_rules() {
        for (input, reason) in [
            (
                "<div style=\"x:expression(1)\">",
                "dangerous attribute or style",
            ),
            ("x\" autofocus onfocus=x", "event handler attribute"),
            ("\"><b>", "tag break-out"),
            ("document.cookie", "script sink"),
            ("j a v a s c r i p t:x", "script url"),
        ] {
            assert_eq!(xss_signal(input), Verdict::Suspicious(reason), "{input}");
        }
        assert_eq!(xss_signal("\"></b>"), Verdict::Clean);
        assert_eq!(Verdict::Suspicious("x").reason(), Some("x"));
    }

    /// Honest text the issue found flagged: a bug report heading, code
    /// generics whose type names begin like a tag (`<Metadata` is no
    /// `<meta`, `<Linker` no `<link`: a tag name ends only at white space,
    /// `/` or `>`). IE's `behavior` still counts with a `url(`.
    #[test]
    fn prose_and_code_are_not_tags() {
        for honest in [
            "Expected behavior: it works",
            "Result<Metadata, E>",
            "Vec<Linker>",
            "HashMap<Baseline, Formula>",
        ] {
            assert_eq!(xss_signal(honest), Verdict::Clean, "{honest}");
        }
        // Markup whose quotes all pair up is not a break-out.
        for honest in [
            "<a href=\"https://crates.io\"><img src=\"https://x/y.svg\"></a>",
            "<p align='center'><b>Name</b></p>",
        ] {
            assert_eq!(xss_signal(honest), Verdict::Clean, "{honest}");
        }
        for attack in ["x\"><b>bold", "x'><i>", "a\" b=\"c\"><u>", "\"/><b>"] {
            assert_eq!(
                xss_signal(attack),
                Verdict::Suspicious("tag break-out"),
                "{attack}"
            );
        }
        assert_eq!(
            xss_signal("<p style=\"behavior : url(x.htc)\">"),
            Verdict::Suspicious("dangerous attribute or style")
        );
    }

    /// The tokenizer's separators, each in each place it separates: after
    /// the tag name, between attributes, around `=`, after a quoted value.
    /// The handler is `print()`, which no sink rule knows, so only the
    /// attribute rule can see it.
    #[test]
    fn every_html_separator_separates() {
        for sep in [
            "\t",
            "\n",
            "\u{c}",
            "\r",
            " ",
            "\r\n",
            "%09",
            "%0a",
            "%0c",
            "%0d",
            "&#9;",
            "&Tab;",
            "&NewLine;",
        ] {
            for attack in [
                format!("<img{sep}src=x{sep}onerror=print()>"),
                format!("<x{sep}onxxx=1"),
                format!("<img src=x{sep}onerror{sep}={sep}print()>"),
                format!("<a{sep}href=\"x\"{sep}onclick=print()>"),
                format!("<svg{sep}onload=print()>"),
                format!("<script{sep}src=//x></script>"),
            ] {
                assert!(xss_signal(&attack).is_suspicious(), "{attack:?}");
            }
            // The handler rule in particular, not another rule.
            assert_eq!(
                xss_signal(&format!("<img{sep}src=x{sep}onerror=print()>")),
                Verdict::Suspicious("event handler attribute"),
                "{sep:?}"
            );
        }
        // `/` separates after a tag name, between attributes and after a
        // quoted value, but not inside an unquoted value (`src=x/y` is one
        // value), so it is tested where it separates.
        for attack in [
            "<img/onerror=print()>",
            "<x//onload=print()>",
            "<a/href=\"x\"/onclick=print()>",
            "<img src=x /onerror=print()>",
        ] {
            assert_eq!(
                xss_signal(attack),
                Verdict::Suspicious("event handler attribute"),
                "{attack:?}"
            );
        }
        // After a quoted value the tokenizer starts the next attribute
        // with no separator at all ("after attribute value (quoted)").
        assert_eq!(
            xss_signal("<a href=\"x\"onclick=print()>"),
            Verdict::Suspicious("event handler attribute")
        );
    }

    /// What the tokenizer does not treat as a separator is not one here:
    /// U+000B and NUL become part of the attribute name (`\u{b}onerror` is
    /// not an event handler), and `<` followed by a separator is text, not
    /// a tag.
    #[test]
    fn non_separators_stay_part_of_the_name() {
        for input in [
            "<img\u{b}src=x\u{b}onerror=print()>",
            "<x\u{0}onxxx=1",
            "< script>print()",
            "<svgfoo>",
            "a <\tsvg> b",
        ] {
            assert_eq!(xss_signal(input), Verdict::Clean, "{input:?}");
        }
        // The URL parser removes TAB, LF and CR anywhere in a URL.
        for sep in ["\t", "\n", "\r"] {
            assert_eq!(
                xss_signal(&format!("<a href=\"java{sep}script:print()\">")),
                Verdict::Suspicious("script url")
            );
        }
    }
}
