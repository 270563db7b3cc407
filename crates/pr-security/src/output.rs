//! Output encoding and sanitization: HTML escaping for text and attribute
//! contexts, HTML sanitization with a safe allow-list (feature `html`), and
//! neutralizing control characters for logs and headers.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes text for an HTML text context (between tags): `&`, `<`, `>`,
/// `"` and `'` become character references. Borrows when nothing changes.
///
/// This is an encoder, not a sanitizer: escaping twice escapes twice.
///
/// # Examples
///
/// ```
/// assert_eq!(pr_security::output::escape_html("<b>Tom & \"Jerry\"</b>"), "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;");
/// ```
#[must_use]
pub fn escape_html(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(['&', '<', '>', '"', '\'']) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes text for an HTML attribute value, quoted or not (OWASP's rule):
/// every ASCII character other than letters, digits, `,`, `.`, `-` and `_`
/// becomes `&#xHH;`, and so do control characters beyond ASCII. Use it
/// for values, never for attribute names, `on*` handlers, `style` or URLs
/// (check URLs with [`UrlPolicy`](crate::validation::UrlPolicy) first).
///
/// # Examples
///
/// ```
/// assert_eq!(pr_security::output::escape_html_attr("x\" onmouseover=\"a()"), "x&#x22;&#x20;onmouseover&#x3d;&#x22;a&#x28;&#x29;");
/// ```
#[must_use]
pub fn escape_html_attr(text: &str) -> Cow<'_, str> {
    let safe = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, ',' | '.' | '-' | '_')
            || (!c.is_ascii() && !c.is_control())
    };
    if text.chars().all(safe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if safe(c) {
            out.push(c);
        } else {
            let _ = write!(out, "&#x{:x};", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// Makes untrusted text safe to put in one log line: CR, LF, other control
/// characters, the Unicode line and paragraph separators, and bidirectional
/// overrides are written as visible escapes (`\n`, `\r`, `\t`, `\u{1b}`), so
/// input cannot forge a log entry or hide text. Idempotent; borrows when
/// nothing changes.
///
/// # Examples
///
/// ```
/// use pr_security::output::neutralize_log;
///
/// let user = "bob\n2024-01-01 INFO admin logged in";
/// assert_eq!(neutralize_log(user), "bob\\n2024-01-01 INFO admin logged in");
/// assert_eq!(neutralize_log(&neutralize_log(user)), neutralize_log(user));
/// ```
#[must_use]
pub fn neutralize_log(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}')
            || crate::chars::is_invisible_format(c)
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Makes text safe as an HTTP header value: CR, LF, NUL and other control
/// characters (except horizontal tab) become a space, so input cannot split
/// a response or inject a header. Idempotent; borrows when nothing changes.
///
/// # Examples
///
/// ```
/// assert_eq!(pr_security::output::neutralize_header("a\r\nSet-Cookie: x=1"), "a  Set-Cookie: x=1");
/// ```
#[must_use]
pub fn neutralize_header(text: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\t';
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if bad(c) { ' ' } else { c }).collect())
}

/// Sanitizes untrusted HTML with ammonia's safe allow-list: formatting and
/// structural tags stay, scripts, styles, event handlers, `javascript:` and
/// other dangerous URLs, forms and frames go; links get
/// `rel="noopener noreferrer"`. The result is well-formed, and sanitizing it
/// again gives the same text (passes repeat until the output is stable, so
/// this costs at least two ammonia passes).
///
/// # Examples
///
/// ```
/// let dirty = "<p onclick=\"steal()\">Hi <a href=\"javascript:alert(1)\">there</a><script>x()</script></p>";
/// assert_eq!(pr_security::output::sanitize_html(dirty), "<p>Hi <a rel=\"noopener noreferrer\">there</a></p>");
/// ```
#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
#[must_use]
pub fn sanitize_html(html: &str) -> String {
    // Serializing a tree the parser built from mis-nested markup (a heading
    // inside a heading, say) can give markup that parses into another tree,
    // so one pass is not always stable. Every pass is safe; passes repeat
    // until the output stops changing, which takes two in practice.
    let mut current = clean_once(html);
    for _ in 0..4 {
        let next = clean_once(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

#[cfg(feature = "html")]
fn clean_once(html: &str) -> String {
    let clean = ammonia::clean(html);
    // A parser turns a raw CR into LF, so ammonia's output (which writes the
    // CR that `&#13;` stood for as is) would change when sanitized again.
    // Written as a character reference it means the same and stays stable.
    if clean.contains('\r') {
        clean.replace('\r', "&#13;")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowing() {
        assert!(matches!(escape_html("plain"), Cow::Borrowed(_)));
        assert!(matches!(escape_html_attr("plain-1.2_x"), Cow::Borrowed(_)));
        assert!(matches!(neutralize_log("plain"), Cow::Borrowed(_)));
        assert!(matches!(
            neutralize_header("plain\tvalue"),
            Cow::Borrowed(_)
        ));
    }

    /// Every bidirectional control of Unicode's UAX #9 (the marks ALM is
    /// not: U+061C ALM, U+200E LRM, U+200F RLM; the embeddings and
    /// overrides U+202A–U+202E; the isolates U+2066–U+2069) is written as
    /// a visible escape, so none can reorder what a log line shows.
    #[test]
    fn every_bidi_control_is_escaped() {
        let controls = ['\u{61c}', '\u{200e}', '\u{200f}']
            .into_iter()
            .chain('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}');
        for c in controls {
            let line = format!("a{c}b");
            assert_eq!(
                neutralize_log(&line),
                format!("a\\u{{{:x}}}b", u32::from(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn log_escapes() {
        assert_eq!(neutralize_log("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(
            neutralize_log("a\u{2028}b\u{202e}c"),
            "a\\u{2028}b\\u{202e}c"
        );
        assert_eq!(neutralize_log("\r\n\t"), "\\r\\n\\t");
    }

    #[cfg(feature = "html")]
    #[test]
    fn html_sanitizer_is_stable_with_carriage_returns() {
        // Found by the `sanitizers` fuzz target.
        let input = "<;X#x#&F*u&#xDgt;L\u{c}'<";
        let once = sanitize_html(input);
        assert_eq!(sanitize_html(&once), once);
        assert_eq!(sanitize_html("a\r\nb"), "a\nb");
        // Mis-nested headings, also found by the fuzz target.
        let nested = "<h6>a<h6>b</h6>c</h6>";
        let once = sanitize_html(nested);
        assert_eq!(sanitize_html(&once), once);
    }

    #[test]
    fn attr_escapes_non_ascii_controls() {
        assert_eq!(escape_html_attr("é\u{85}"), "é&#x85;");
        assert_eq!(escape_html("'"), "&#x27;");
    }
}
