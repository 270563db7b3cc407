//! Output encoding and sanitization.

use pr_security::output::{escape_html, escape_html_attr, neutralize_header, neutralize_log};

#[test]
fn html_text_and_attributes() {
    assert_eq!(
        escape_html("<script>alert('x')</script>"),
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    );
    assert_eq!(
        escape_html_attr("\" autofocus onfocus=alert(1) x=\""),
        "&#x22;&#x20;autofocus&#x20;onfocus&#x3d;alert&#x28;1&#x29;&#x20;x&#x3d;&#x22;"
    );
    assert_eq!(escape_html_attr("naïve-name_1.0"), "naïve-name_1.0");
}

#[test]
fn logs_and_headers() {
    let forged = "alice\r\n127.0.0.1 - admin [login ok]";
    assert!(!neutralize_log(forged).contains('\n'));
    assert!(!neutralize_header(forged).contains(['\r', '\n']));
    assert_eq!(neutralize_header("a\tb"), "a\tb");
}

#[cfg(feature = "html")]
#[test]
fn html_sanitizer_strips_active_content() {
    use pr_security::output::sanitize_html;
    for (dirty, clean) in [
        ("<img src=x onerror=alert(1)>", "<img src=\"x\">"),
        (
            "<a href=\"\u{1}javascript:alert(1)\">x</a>",
            "<a rel=\"noopener noreferrer\">x</a>",
        ),
        ("<svg><script>alert(1)</script></svg>", ""),
        ("<iframe src=\"https://evil\"></iframe>ok", "ok"),
        ("<b>bold</b> &amp; <i>it</i>", "<b>bold</b> &amp; <i>it</i>"),
        (
            "<p style=\"background:url(javascript:x)\">p</p>",
            "<p>p</p>",
        ),
    ] {
        assert_eq!(sanitize_html(dirty).unwrap(), clean, "{dirty}");
    }
}
