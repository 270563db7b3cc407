//! The cross-site scripting detector. Separate because it reads HTML:
//! it decodes character references and drops the characters browsers
//! ignore inside tags and URL schemes.

use super::Verdict;
use super::decode::normalize;

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
    let decoded = normalize(input, true);
    // Browsers ignore these inside tags and URL schemes.
    let text: String = decoded
        .chars()
        .filter(|c| !matches!(c, '\0' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}'))
        .collect();
    let bytes = text.as_bytes();
    if text.contains("<script") || text.contains("</script") {
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
    for tag in [
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "<meta",
        "<applet",
        "<frame",
        "<frameset",
        "<xss",
        "<import",
        "<link",
        "<style",
        "<form",
        "<isindex",
        "<math",
        "<svg",
        "<xml",
    ] {
        if text.contains(tag) {
            return Verdict::Suspicious("dangerous tag");
        }
    }
    // An `on...=` attribute inside a tag or after an attribute break-out.
    for (i, _) in text.match_indices("on") {
        let before = i.checked_sub(1).map(|p| bytes[p]);
        if !matches!(before, Some(b' ' | b'/' | b'"' | b'\'' | b'`' | b';')) {
            continue;
        }
        let name_len = bytes[i + 2..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if name_len < 3 {
            continue;
        }
        let mut k = i + 2 + name_len;
        while bytes.get(k) == Some(&b' ') {
            k += 1;
        }
        if bytes.get(k) == Some(&b'=')
            && (text[..i].contains('<') || text[..i].contains(['"', '\'']))
        {
            return Verdict::Suspicious("event handler attribute");
        }
    }
    for attr in [
        "srcdoc=",
        "formaction=",
        "xlink:href",
        "expression(",
        "-moz-binding",
        "behavior:",
    ] {
        if text.contains(attr) {
            return Verdict::Suspicious("dangerous attribute or style");
        }
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
    // `"><tag` and `<tag ...>` break-outs with letters after `<`.
    // `"><tag`: leaving an attribute and opening a tag.
    for pattern in ["\"><", "'><", "\"/><"] {
        for (at, _) in text.match_indices(pattern) {
            if bytes
                .get(at + pattern.len())
                .is_some_and(u8::is_ascii_alphabetic)
            {
                return Verdict::Suspicious("tag break-out");
            }
        }
    }
    Verdict::Clean
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
}
