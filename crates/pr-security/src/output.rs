//! Output encoding and sanitization: HTML escaping for text and attribute
//! contexts, HTML sanitization with a safe allow-list (feature `html`), and
//! neutralizing control characters for logs and headers.

use std::borrow::Cow;
use std::fmt::Write as _;

#[cfg(feature = "html")]
mod nesting;

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

/// The default of [`HtmlLimits::max_bytes`]: 64 KiB.
#[cfg(feature = "html")]
pub const DEFAULT_HTML_MAX_BYTES: usize = 64 * 1024;

/// The default of [`HtmlLimits::max_depth`]: 64 nested elements, more than
/// hand-written or editor HTML uses (a blog post or an email stays under
/// 30).
#[cfg(feature = "html")]
pub const DEFAULT_HTML_MAX_DEPTH: usize = 64;

/// Limits on what [`sanitize_html`] reads, which bound its work: html5ever
/// builds a tree in time that grows with input size times nesting depth
/// (80 KB of nested `<ul>` once took 5–11 s), so both are capped before
/// parsing. Work is still about size times depth: at the defaults the
/// slowest input measured (release build, a shared machine) was 60
/// formatting elements that the parser reopens inside each of 5,000
/// following `div`s (61 KB in, 2 MB out) at 0.6 s; 64 KiB of bare `&`
/// took 0.2 s and flat markup about 0.7 µs per byte. Lower `max_depth` to
/// lower that bound.
#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HtmlLimits {
    /// The longest input, in bytes ([`DEFAULT_HTML_MAX_BYTES`]).
    pub max_bytes: usize,
    /// The deepest nesting of elements below `body`
    /// ([`DEFAULT_HTML_MAX_DEPTH`]), counted before parsing by a scan that
    /// follows the tree builder's stack of open elements (end tags matched
    /// within their scope, implied ends of `li`, `p`, `td`..., implied
    /// `tbody`, formatting elements the parser reopens) and that errs
    /// towards counting more: a tag inside an attribute or a `<script>`
    /// counts.
    pub max_depth: usize,
}

#[cfg(feature = "html")]
impl Default for HtmlLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_HTML_MAX_BYTES,
            max_depth: DEFAULT_HTML_MAX_DEPTH,
        }
    }
}

#[cfg(feature = "html")]
impl HtmlLimits {
    /// [`sanitize_html`] under these limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use pr_security::output::HtmlLimits;
    ///
    /// let mut limits = HtmlLimits::default();
    /// limits.max_depth = 3;
    /// assert!(limits.sanitize("<div><p><b>fine</b></p></div>").is_ok());
    /// assert!(limits.sanitize("<ul><li><ul><li>too deep").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::HtmlLimit`](crate::Error::HtmlLimit) when the input is
    /// longer than `max_bytes` or nests deeper than `max_depth`, or when its
    /// output is still changing after 5 passes (see [`sanitize_html`]).
    pub fn sanitize(&self, html: &str) -> Result<String, crate::Error> {
        if html.len() > self.max_bytes {
            return Err(crate::Error::HtmlLimit {
                what: "size in bytes",
                limit: self.max_bytes,
            });
        }
        if nesting::deeper_than(html, self.max_depth) {
            return Err(crate::Error::HtmlLimit {
                what: "nesting depth",
                limit: self.max_depth,
            });
        }
        // One pass is not always stable (see `sanitize_html`), so passes
        // repeat until one gives back its input, which makes the output
        // stable by construction: sanitizing it again is that last pass. The
        // number of passes that takes is not bounded by the limits, so it is
        // capped, and an input still moving at the cap is refused rather than
        // given back unstable. Each pass reads at most a few times the input
        // (escaping grows `&` to `&amp;`), so the limits bound them all.
        let mut current = clean_once(html);
        for _ in 1..MAX_HTML_PASSES {
            let next = clean_once(&current);
            if next == current {
                return Ok(current);
            }
            current = next;
        }
        Err(crate::Error::HtmlLimit {
            what: "passes to a stable output",
            limit: MAX_HTML_PASSES,
        })
    }
}

/// Sanitizes untrusted HTML with ammonia's safe allow-list: formatting and
/// structural tags stay, scripts, styles, event handlers, `javascript:` and
/// other dangerous URLs, forms and frames go; links get
/// `rel="noopener noreferrer"`. The result is well-formed, and sanitizing it
/// again (under limits that admit it: escaping can make it longer than the
/// input) gives the same text: passes repeat until one gives back its
/// input, and input still changing after 5 passes (as many as ran before
/// stability was checked) is refused.
///
/// One ammonia pass is not always stable, because the tree it serializes
/// need not be the tree its output parses into, and no post-pass on the
/// text mends that short of parsing it again. So every input costs a second
/// pass, which checks, and these classes need it to change the output:
///
/// - content ammonia keeps from an element it removes (`<applet>`,
///   `<object>`, `<marquee>`, `<button>`, `<svg>`...) that the parser had
///   nested under that element only and does not nest where it lands, such
///   as a block in a `<p>` or a heading in a heading: `<p><applet><p>x`
///   gives `<p><p>x</p></p>` after one pass, `<p></p><p>x</p><p></p>` after
///   two;
/// - trees the parser builds but no markup spells: its repair of
///   mis-nested `<a>` (the adoption agency algorithm) stops after eight
///   steps and can leave an `<a>` inside an `<a>`, which the next parse
///   repairs eight steps further. `<a>`, 62 `<div>`s, `<a>x` (depth 63,
///   within the default limits) takes 8 passes to settle, and markup whose implied
///   end tags keep the depth low (`<ol><dd><h1><li><dt>...` repeated) takes
///   more the longer it is; such input is refused.
///
/// A newline right after `<pre>`, which a parser drops (one per pass,
/// without a fix), is kept in the first pass by writing it twice, as the
/// HTML serialization algorithm once did.
///
/// Input longer than [`DEFAULT_HTML_MAX_BYTES`] (64 KiB) or nested deeper
/// than [`DEFAULT_HTML_MAX_DEPTH`] (64) is refused before it is parsed; use
/// [`HtmlLimits::sanitize`] for other limits.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), pr_security::Error> {
/// let dirty = "<p onclick=\"steal()\">Hi <a href=\"javascript:alert(1)\">there</a><script>x()</script></p>";
/// assert_eq!(pr_security::output::sanitize_html(dirty)?, "<p>Hi <a rel=\"noopener noreferrer\">there</a></p>");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::HtmlLimit`](crate::Error::HtmlLimit), code
/// `security.html_limit`, beyond the default limits, or for input whose
/// output is still changing after 5 passes.
#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
pub fn sanitize_html(html: &str) -> Result<String, crate::Error> {
    HtmlLimits::default().sanitize(html)
}

/// The most ammonia passes [`HtmlLimits::sanitize`] runs, the last of which
/// must give back its input: as many as ran before that was required, so
/// the bound on work is unchanged. In the tag soup searched, two sufficed
/// except for deeply mis-nested `<a>` (see [`sanitize_html`]).
#[cfg(feature = "html")]
const MAX_HTML_PASSES: usize = 5;

#[cfg(feature = "html")]
fn clean_once(html: &str) -> String {
    let clean = ammonia::clean(html);
    // A parser turns a raw CR into LF, so ammonia's output (which writes the
    // CR that `&#13;` stood for as is) would change when sanitized again.
    // Written as a character reference it means the same and stays stable.
    let clean = if clean.contains('\r') {
        clean.replace('\r', "&#13;")
    } else {
        clean
    };
    keep_leading_newlines(clean)
}

/// Writes twice a newline that starts the text of a `<pre>`, `<textarea>`
/// or `<listing>`: a parser drops the first one, html5ever's serializer does
/// not add one back, so without this each pass would eat one
/// (`<pre>\n\n\nx` took four passes). In serialized output every `<` in
/// text or in an attribute is escaped, so each `<` starts a tag and the
/// first `>` after it ends it.
#[cfg(feature = "html")]
fn keep_leading_newlines(html: String) -> String {
    if !html.contains('\n') {
        return html;
    }
    let mut out = String::with_capacity(html.len() + 8);
    let mut rest = html.as_str();
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let (tag, after) = rest.split_at(start + len + 1);
        out.push_str(tag);
        let name = tag[start + 1..]
            .split([' ', '>', '/'])
            .next()
            .unwrap_or_default();
        if after.starts_with('\n') && matches!(name, "pre" | "textarea" | "listing") {
            out.push('\n');
        }
        rest = after;
    }
    out.push_str(rest);
    out
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
        let once = sanitize_html(input).unwrap();
        assert_eq!(sanitize_html(&once).unwrap(), once);
        assert_eq!(sanitize_html("a\r\nb").unwrap(), "a\nb");
        // Mis-nested headings, also found by the fuzz target.
        let nested = "<h6>a<h6>b</h6>c</h6>";
        let once = sanitize_html(nested).unwrap();
        assert_eq!(sanitize_html(&once).unwrap(), once);
    }

    /// A parser drops one newline after `<pre>` each time it reads it; the
    /// first pass writes it twice, so the text keeps its newlines and a
    /// long run of them is stable too (it took one pass per newline).
    #[cfg(feature = "html")]
    #[test]
    fn html_sanitizer_keeps_newlines_after_pre() {
        assert_eq!(clean_once("<pre>\nx"), "<pre>x</pre>");
        assert_eq!(clean_once("<pre>\n\nx"), "<pre>\n\nx</pre>");
        assert_eq!(
            clean_once("<pre lang=en title='a>b'>\n\nx</pre>\n<b>\ny</b>"),
            "<pre lang=\"en\" title=\"a&gt;b\">\n\nx</pre>\n<b>\ny</b>"
        );
        let many = format!("<pre>{}x", "\n".repeat(12));
        let once = clean_once(&many);
        assert_eq!(once, format!("<pre>{}x</pre>", "\n".repeat(12)));
        assert_eq!(clean_once(&once), once);
        assert_eq!(sanitize_html(&many).unwrap(), once);
    }

    /// Content of an element ammonia removes, moved where the parser does
    /// not nest it: the one class that needs the second pass.
    #[cfg(feature = "html")]
    #[test]
    fn html_sanitizer_renests_unwrapped_content() {
        let input = "<p><applet><p>x";
        assert_eq!(clean_once(input), "<p><p>x</p></p>");
        assert_eq!(sanitize_html(input).unwrap(), "<p></p><p>x</p><p></p>");
    }

    /// The parser's repair of an `<a>` in an `<a>` moves eight levels a
    /// pass: within the default limits a run of `<div>`s between them takes
    /// up to 8 passes, and what is not stable after 5 is refused, never
    /// given back unstable.
    #[cfg(feature = "html")]
    #[test]
    fn html_sanitizer_refuses_what_does_not_settle() {
        use pr_errors::CodedError as _;
        let nested = |divs: usize| format!("<a>{}<a>x", "<div>".repeat(divs));
        for divs in [1, 8, 16, 24, 31] {
            let once = sanitize_html(&nested(divs)).unwrap();
            assert_eq!(sanitize_html(&once).unwrap(), once, "{divs} divs");
        }
        let err = sanitize_html(&nested(62)).unwrap_err();
        assert_eq!(err.code().as_str(), "security.html_limit");
        assert_eq!(
            err.to_string(),
            "html input exceeds the sanitizer's passes to a stable output limit of 5"
        );
        // Each pass takes it further; it is the cap that stops it.
        let mut text = nested(62);
        let mut passes = 0;
        loop {
            let next = clean_once(&text);
            passes += 1;
            if next == text {
                break;
            }
            text = next;
        }
        assert!(passes > MAX_HTML_PASSES, "{passes}");
    }

    #[cfg(feature = "html")]
    #[test]
    fn html_limits_refuse_before_parsing() {
        use pr_errors::CodedError as _;
        let at_limit = "a".repeat(DEFAULT_HTML_MAX_BYTES);
        assert_eq!(sanitize_html(&at_limit).unwrap(), at_limit);
        let err = sanitize_html(&format!("{at_limit}b")).unwrap_err();
        assert_eq!(err.code().as_str(), "security.html_limit");
        assert_eq!(
            err.to_string(),
            "html input exceeds the sanitizer's size in bytes limit of 65536"
        );
        let deep = |n: usize| format!("{}x", "<ul><li>".repeat(n));
        // 31 pairs: 62 deep, under the limit; 33 pairs: 66, over it.
        assert!(sanitize_html(&deep(31)).is_ok());
        let err = sanitize_html(&deep(33)).unwrap_err();
        assert_eq!(err.code().as_str(), "security.html_limit");
        assert!(
            err.to_string().contains("nesting depth limit of 64"),
            "{err}"
        );
        // Long flat lists and paragraphs are not deep.
        assert!(sanitize_html(&"<li>item".repeat(2000)).is_ok());
        assert!(sanitize_html(&"<p>para".repeat(2000)).is_ok());
        // What the limit bounds: the tree the parser built is no deeper.
        let out = sanitize_html(&deep(31)).unwrap();
        assert_eq!(out.matches("<ul>").count(), 31);
    }

    #[test]
    fn attr_escapes_non_ascii_controls() {
        assert_eq!(escape_html_attr("é\u{85}"), "é&#x85;");
        assert_eq!(escape_html("'"), "&#x27;");
    }
}
