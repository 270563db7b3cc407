//! Property tests: sanitizers are idempotent, validators never panic, the
//! stored-path check never accepts a path with a `..` component once decoded.

use pr_security::files::{check_stored_path, decode_stored_path, sanitize_filename};
use pr_security::output::{neutralize_header, neutralize_log};
use pr_security::validation::{
    CharClass, EmailMode, TextRule, UrlPolicy, validate_email, validate_hostname, validate_int,
    validate_ip, validate_rfc3339,
};
use proptest::prelude::*;

/// Paths built from the pieces traversal payloads are made of.
fn traversal_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "..",
        ".",
        "/",
        "\\",
        "%2e",
        "%2E",
        "%2f",
        "%5c",
        "%25",
        "%252e",
        "%c0%ae",
        "%c0%af",
        "%e0%80%ae",
        "%u002e",
        "%u2215",
        "0x2e",
        "0x2f",
        "a",
        "b",
        "etc",
        "passwd",
        " ",
        "%00",
        "%",
        "2e",
        "u",
        "C:",
        "CON",
        "~",
        "\u{ff0e}",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

/// Tag soup from the pieces that made one ammonia pass unstable: elements
/// ammonia removes but keeps the content of, elements whose start tag
/// closes another (`p`, headings, list items), `<a>` in `<a>`, tables,
/// newlines after `<pre>`, raw CRs and character references.
#[cfg(feature = "html")]
fn tag_soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<a>",
        "<a href=x>",
        "</a>",
        "<b>",
        "</b>",
        "<i>",
        "<u>",
        "<nobr>",
        "<font>",
        "<h1>",
        "</h1>",
        "<h2>",
        "<h6>",
        "</h6>",
        "<p>",
        "</p>",
        "<div>",
        "</div>",
        "<ul>",
        "<ol>",
        "<li>",
        "<dl>",
        "<dd>",
        "<dt>",
        "<center>",
        "<blockquote>",
        "<table>",
        "<tr>",
        "<td>",
        "</td>",
        "<caption>",
        "<colgroup>",
        "<tbody>",
        "<applet>",
        "<object>",
        "<marquee>",
        "<button>",
        "<form>",
        "</form>",
        "<select>",
        "<option>",
        "<svg>",
        "</svg>",
        "<math>",
        "<template>",
        "<textarea>",
        "<listing>",
        "<pre>",
        "<pre lang=en>",
        "</pre>",
        "<ruby>",
        "<q>",
        "<img src=x onerror=y>",
        "<script>",
        "</script>",
        "<style>",
        "<!--",
        "-->",
        "\n",
        "\r",
        "\u{c}",
        "x",
        "\n\n\n\n\n\n",
        "<div><div><div><div><div><div><div><div>",
        "<ol><dd><h1><li><dt><center><h2><dt>",
        "&",
        "&amp;",
        "&#13;",
        "&#xDgt;",
        "&lt;",
        "<",
        "'",
        "\"",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

/// `sanitize_html` on `html`, and its output sanitized again without
/// limits (escaping can make the output longer than the input limit), as
/// the `sanitizers` fuzz target checks it: equal, or the input refused.
#[cfg(feature = "html")]
fn html_sanitizer_stable_on(html: &str) -> Result<(), String> {
    use pr_errors::CodedError as _;
    use pr_security::output::{HtmlLimits, sanitize_html};
    let once = match sanitize_html(html) {
        Ok(once) => once,
        Err(e) if e.code().as_str() == "security.html_limit" => return Ok(()),
        Err(e) => return Err(format!("{html:?}: {e}")),
    };
    let mut unlimited = HtmlLimits::default();
    unlimited.max_bytes = usize::MAX;
    unlimited.max_depth = usize::MAX;
    match unlimited.sanitize(&once) {
        Ok(twice) if twice == once => Ok(()),
        other => Err(format!("{html:?} gave {once:?}, then {other:?}")),
    }
}

/// Every input that made one ammonia pass unstable, found by the
/// `sanitizers` fuzz target or by searching tag soup, one of each class.
#[cfg(feature = "html")]
#[test]
fn html_sanitizer_is_stable_on_known_inputs() {
    let deep_a = |divs: usize| format!("<a>{}<a>x", "<div>".repeat(divs));
    let inputs = [
        // The fuzz target's: a `&#13;` written back as a raw CR, headings.
        "<;X#x#&F*u&#xDgt;L\u{c}'<".to_owned(),
        "<h6>a<h6>b</h6>c</h6>".to_owned(),
        "a\r\nb".to_owned(),
        // Newlines after `<pre>`: one pass each, before they were doubled.
        format!("<pre>{}x", "\n".repeat(12)),
        "<button><pre></span><head></svg><head><font>\r\r<style>".to_owned(),
        // Content of removed elements, landing where the parser closes.
        "<p><applet><p>x".to_owned(),
        "<colgroup><p><applet></p ></b></svg>".to_owned(),
        "<h6><nobr><option><marquee><h6><th><title>".to_owned(),
        "</span><object><main><dt><colgroup><main></h6><dd>&<font>".to_owned(),
        // `<a>` in `<a>`, repaired eight levels a pass.
        "<a><h2><div><ol><ol><ol><ol><dd><h1><li><dt><center><h2><table><dt><h1><dd><h2><ruby><h2><a>"
            .to_owned(),
        deep_a(24),
        deep_a(40),
        deep_a(62),
        format!("<a>{}<h2><ruby><h2><a>", "<ol><dd><h1><li><dt><center><h2><dt>".repeat(25)),
        // The bench's: formatting elements reopened in 5,000 `div`s.
        format!("{}{}", "<b><i><u>".repeat(18), "<div>x</div>".repeat(5_000)),
    ];
    for html in &inputs {
        html_sanitizer_stable_on(html).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn stored_path_never_accepts_dotdot(path in traversal_like()) {
        if let Ok(ok) = check_stored_path(&path) {
            let decoded = decode_stored_path(&path).unwrap();
            let decoded = String::from_utf8(decoded).unwrap();
            prop_assert_eq!(ok.as_str(), decoded.as_str());
            prop_assert!(!decoded.split(['/', '\\']).any(|c| c == ".." || c == "."), "{path:?}");
            prop_assert!(!decoded.starts_with('/'));
            // Checking the decoded form again accepts the same path.
            prop_assert_eq!(check_stored_path(&decoded).unwrap(), ok);
        }
    }

    #[test]
    fn stored_path_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = check_stored_path(&bytes);
    }

    #[test]
    fn sanitized_names_are_idempotent_and_pass(name in any::<String>()) {
        let once = sanitize_filename(&name);
        prop_assert_eq!(sanitize_filename(&once), once.clone());
        prop_assert!(once.len() <= 255);
        prop_assert!(check_stored_path(&once).is_ok(), "{once:?}");
    }

    #[test]
    fn sanitized_traversal_is_idempotent(name in traversal_like()) {
        let once = sanitize_filename(&name);
        prop_assert_eq!(sanitize_filename(&once), once.clone());
        prop_assert!(check_stored_path(&once).is_ok(), "{name:?} -> {once:?}");
    }

    #[test]
    fn validators_never_panic(input in any::<String>()) {
        let _ = validate_email(&input, EmailMode::Rfc5321);
        let _ = validate_email(&input, EmailMode::Html);
        let _ = UrlPolicy::default().check(&input);
        let _ = validate_hostname(&input);
        let _ = validate_ip(&input);
        let _ = validate_rfc3339(&input);
        let _ = validate_int::<i64>(&input, -5..=5);
        let _ = TextRule::new(1, 10, CharClass::Printable).check(&input);
        let _ = pr_security::signals::sql_injection_signal(&input);
        let _ = pr_security::signals::xss_signal(&input);
        let _ = pr_security::signals::command_injection_signal(&input);
    }

    #[test]
    fn signals_never_panic_on_markup_like_input(
        input in "([&#;<>'\"`/*=()|$\\a-z0-9 ]|\u{e9}|\u{27f6}|%[0-9a-f]{2}|&#x?[0-9]{1,3};?){0,40}"
    ) {
        let _ = pr_security::signals::sql_injection_signal(&input);
        let _ = pr_security::signals::xss_signal(&input);
        let _ = pr_security::signals::command_injection_signal(&input);
    }

    #[test]
    fn email_normalization_is_stable(
        local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-z0-9]{1,5}){0,2}",
        domain in "[a-zA-Z0-9]{1,10}(\\.[a-zA-Z]{2,5}){0,2}",
    ) {
        let input = format!("{local}@{domain}");
        let once = validate_email(&input, EmailMode::Html).unwrap();
        let twice = validate_email(once.as_str(), EmailMode::Rfc5321).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn email_like_inputs_never_panic(input in "[\"a@.\\[\\]:\\\\ ()IPv6]{0,40}") {
        let _ = validate_email(&input, EmailMode::Rfc5321);
    }

    #[test]
    fn rfc3339_round_trips(
        y in 0u16..=9999, mo in 1u8..=12, d in 1u8..=28, h in 0u8..=23, mi in 0u8..=59, s in 0u8..=59,
        off in -1439i16..=1439,
    ) {
        let sign = if off < 0 { '-' } else { '+' };
        let abs = off.unsigned_abs();
        let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{:02}:{:02}", abs / 60, abs % 60);
        let parsed = validate_rfc3339(&text).unwrap();
        prop_assert_eq!(validate_rfc3339(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn log_and_header_neutralizers_are_idempotent(text in any::<String>()) {
        let log = neutralize_log(&text).into_owned();
        prop_assert_eq!(neutralize_log(&log).into_owned(), log.clone());
        prop_assert!(!log.chars().any(char::is_control));
        let header = neutralize_header(&text).into_owned();
        prop_assert_eq!(neutralize_header(&header).into_owned(), header.clone());
        prop_assert!(!header.contains(['\r', '\n', '\0']));
    }

    #[cfg(feature = "html")]
    #[test]
    fn html_sanitizer_is_idempotent(html in "(<(a|b|p|script|img|svg|div|i)( (href|src|onerror|style|title)=(\"[^\"<]{0,10}\"|x))?>|</(a|b|p|script|div)>|[a-z &;:/()]{0,8}){0,12}") {
        let once = pr_security::output::sanitize_html(&html).unwrap();
        prop_assert_eq!(pr_security::output::sanitize_html(&once).unwrap(), once.clone());
        let lower = once.to_ascii_lowercase();
        prop_assert!(!lower.contains("<script") && !lower.contains("onerror") && !lower.contains("javascript:"));
    }

    #[cfg(feature = "html")]
    #[test]
    fn html_sanitizer_is_stable_on_tag_soup(html in tag_soup()) {
        if let Err(e) = html_sanitizer_stable_on(&html) {
            return Err(TestCaseError::fail(e));
        }
    }
}
