//! What several areas need to know about characters: which ones are
//! invisible formatting that disguises text (validation and output), and
//! how a numeric character reference reads (files and signals). A leaf
//! module, so no area needs another's feature (and its dependencies); each
//! item is compiled only with the features that use it.

/// Bidirectional controls and invisible formatting characters, which make
/// text display differently from what it is.
#[cfg(any(feature = "validation", feature = "output"))]
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}' // Arabic letter mark, a bidi control
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// Reads a numeric character reference, given the text after its `&`
/// (`#46;`, `#x2e;`, `#X2E`, the `;` optional as browsers allow): its value
/// and how many bytes of `body` it spans.
///
/// The value is as written, not yet a `char`: a surrogate, zero or a value
/// past U+10FFFF is the caller's to refuse or replace (a browser shows
/// U+FFFD). Leading zeros do not count, since browsers read any number of
/// them; `None` when there is no `#` or no digit, or when more than seven
/// significant digits remain (no code point needs that many, and the value
/// then cannot overflow).
#[cfg(any(feature = "files", feature = "signals"))]
pub(crate) fn numeric_reference(body: &str) -> Option<(u32, usize)> {
    let num = body.strip_prefix('#')?;
    let (radix, digits) = match num.strip_prefix(['x', 'X']) {
        Some(hex) => (16, hex),
        None => (10, num),
    };
    let len = digits
        .bytes()
        .take_while(|b| char::from(*b).is_digit(radix))
        .count();
    let significant = digits[..len].trim_start_matches('0');
    if len == 0 || significant.len() > 7 {
        return None;
    }
    let value = if significant.is_empty() {
        0
    } else {
        u32::from_str_radix(significant, radix).ok()?
    };
    let prefix = body.len() - digits.len();
    let semicolon = usize::from(digits[len..].starts_with(';'));
    Some((value, prefix + len + semicolon))
}

#[cfg(all(test, any(feature = "files", feature = "signals")))]
mod tests {
    use super::numeric_reference;

    #[test]
    fn numeric_references() {
        // Decimal and hex, either case of `x` and of the digits.
        assert_eq!(numeric_reference("#46;"), Some((46, 4)));
        assert_eq!(numeric_reference("#x2e;"), Some((0x2e, 5)));
        assert_eq!(numeric_reference("#X2E;"), Some((0x2e, 5)));
        // The `;` is optional, and what follows the digits is not read.
        assert_eq!(numeric_reference("#46abc"), Some((46, 3)));
        assert_eq!(numeric_reference("#x2eg;"), Some((0x2e, 4)));
        // Any number of leading zeros, as a browser reads them.
        assert_eq!(numeric_reference("#0000000000060;"), Some((60, 15)));
        assert_eq!(numeric_reference("#x0;"), Some((0, 4)));
        // Not a numeric reference: no `#`, no digit, hex digits without `x`.
        assert_eq!(numeric_reference("lt;"), None);
        assert_eq!(numeric_reference("#;"), None);
        assert_eq!(numeric_reference("#x;"), None);
        assert_eq!(numeric_reference("#"), None);
        assert_eq!(numeric_reference("#ff;"), None);
        // Out of range: kept as written up to seven significant digits,
        // refused beyond (where u32 could overflow).
        assert_eq!(numeric_reference("#x110000;"), Some((0x11_0000, 9)));
        assert_eq!(numeric_reference("#9999999;"), Some((9_999_999, 9)));
        assert_eq!(numeric_reference("#x10000000;"), None);
        assert_eq!(numeric_reference("#99999999999999999999;"), None);
        assert_eq!(char::from_u32(0x11_0000), None);
        // Surrogates come back as written, for the caller to replace.
        assert_eq!(numeric_reference("#xD800;"), Some((0xd800, 7)));
        assert_eq!(numeric_reference("#57343"), Some((0xdfff, 6)));
        assert_eq!(char::from_u32(0xd800), None);
    }
}
