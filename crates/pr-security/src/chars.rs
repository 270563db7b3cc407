//! What validation and output both need to know about characters: which
//! ones are invisible formatting that disguises text. A leaf module, so
//! `output` does not need the `validation` feature (and its url crate).

/// Bidirectional controls and invisible formatting characters, which make
/// text display differently from what it is.
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
