//! The stored-path check ([`check_stored_path`]) and the file-name sanitizer
//! ([`sanitize_filename`]): pure functions for relative paths that are stored
//! (in a database, an archive, a URL) rather than opened. To open a path, use
//! [`SafeRoot`](crate::files::SafeRoot), which the kernel keeps beneath its root.

use std::fmt;

use super::fold::{LETTER_LIKE, SEPARATOR_LIKE};
use crate::Error;

/// The longest input [`check_stored_path`] looks at, in bytes.
pub const MAX_STORED_PATH_LEN: usize = 4096;
/// The longest component (file or directory name) in bytes, as on most file
/// systems.
pub const MAX_COMPONENT_LEN: usize = 255;
/// How many rounds of decoding are applied before an input that still changes
/// is refused as [`PathIssue::TooManyEncodings`].
const MAX_DECODE_ROUNDS: usize = 8;

/// Why a stored path was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathIssue {
    /// The path is empty.
    Empty,
    /// The path is longer than [`MAX_STORED_PATH_LEN`] bytes.
    TooLong,
    /// The path still changed after several rounds of percent-decoding.
    TooManyEncodings,
    /// The decoded bytes are not UTF-8 (this is where overlong forms such as
    /// `%c0%af` end up: they are invalid UTF-8, never decoded to `/`).
    InvalidUtf8,
    /// A `%` remains that is not part of a valid escape.
    MalformedEncoding,
    /// A NUL, C0 or C1 control character, or DEL.
    ControlCharacter,
    /// A character Windows forbids in names (`<>:"|?*`).
    ForbiddenCharacter,
    /// A Unicode character that NFKC or Windows best-fit mapping turns into
    /// `.`, `/`, `\`, `:` or a character Windows forbids (fullwidth dot,
    /// `︰`, `¥`, `：`, division slash, ...), a private-use character, or a
    /// bidirectional or invisible formatting character.
    UnsafeUnicode,
    /// An HTML character reference that decodes to a character this check
    /// refuses (`&#46;`, `&#x2f;`, `&sol;`, `&amp;#46;`, ...): harmless on
    /// disk, a traversal once a page or template decodes it.
    HtmlReference,
    /// The path starts with `/` or `\`.
    Absolute,
    /// The path starts with a drive letter (`C:`).
    DriveLetter,
    /// A UNC path (`\\server\share`).
    UncPath,
    /// A Windows device path (`\\.\` or `\\?\`).
    DevicePath,
    /// A backslash, a separator on Windows.
    Backslash,
    /// A `..` component.
    ParentComponent,
    /// A `.` component.
    CurrentComponent,
    /// An empty component (`a//b` or a trailing `/`).
    EmptyComponent,
    /// A component starting with `.` (hidden files such as `.htaccess`).
    HiddenComponent,
    /// A component ending in `.` or a space, which Windows strips.
    TrailingDotOrSpace,
    /// A Windows reserved device name (`CON`, `NUL`, `COM1`, `LPT¹`, ...) with
    /// or without an extension.
    ReservedName,
    /// A component longer than [`MAX_COMPONENT_LEN`] bytes.
    ComponentTooLong,
}

impl PathIssue {
    /// A short description.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty path",
            Self::TooLong => "longer than 4096 bytes",
            Self::TooManyEncodings => "still changing after 8 rounds of percent-decoding",
            Self::InvalidUtf8 => "not UTF-8 once decoded (e.g. an overlong encoding)",
            Self::MalformedEncoding => "malformed percent-encoding",
            Self::ControlCharacter => "control character",
            Self::ForbiddenCharacter => "character forbidden in file names",
            Self::UnsafeUnicode => "unicode look-alike, private-use or formatting character",
            Self::HtmlReference => "html character reference to a separator or forbidden character",
            Self::Absolute => "absolute path",
            Self::DriveLetter => "drive letter",
            Self::UncPath => "UNC path",
            Self::DevicePath => "device path",
            Self::Backslash => "backslash separator",
            Self::ParentComponent => "`..` component",
            Self::CurrentComponent => "`.` component",
            Self::EmptyComponent => "empty component",
            Self::HiddenComponent => "component starting with a dot",
            Self::TrailingDotOrSpace => "component ending with a dot or space",
            Self::ReservedName => "windows reserved device name",
            Self::ComponentTooLong => "component longer than 255 bytes",
        }
    }
}

impl fmt::Display for PathIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A relative path that passed [`check_stored_path`]: decoded, `/`-separated,
/// with normal components only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredPath(String);

impl StoredPath {
    /// The decoded path.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The decoded path, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for StoredPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StoredPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Checks a relative path that will be stored or joined by someone else, and
/// returns it decoded.
///
/// The input is decoded until it no longer changes (at most 8 rounds):
/// `%XX` escapes, IIS-style `%uXXXX` escapes, and the `0x2e` / `0x2f` /
/// `0x5c` notation of `.`, `/` and `\` that some decoders accept. So double
/// encoding (`%252e%252e%252f`) is seen as `../`. The decoded bytes must be
/// UTF-8, which rejects overlong forms (`%c0%ae`, `%e0%80%af`) instead of
/// decoding them. Then the path is refused if it is absolute, has a drive
/// letter, is a UNC or device path, contains a backslash, NUL or control
/// character, a character Windows forbids (`<>:"|?*`), a leftover `%`, a
/// Unicode look-alike of a dot or a slash; or if a component is empty, `.`,
/// `..`, starts with a dot, ends with a dot or space, is longer than 255
/// bytes, or is a Windows reserved name (CON, PRN, AUX, NUL, COM0-9, LPT0-9
/// and their superscript forms, CONIN$, CONOUT$, with any extension).
///
/// # Examples
///
/// ```
/// use pr_security::files::{PathIssue, check_stored_path};
///
/// # fn main() -> Result<(), pr_security::Error> {
/// assert_eq!(check_stored_path("uploads/2024/report.pdf")?.as_str(), "uploads/2024/report.pdf");
/// assert_eq!(check_stored_path("my%20file.txt")?.as_str(), "my file.txt");
/// for attack in ["../etc/passwd", "%252e%252e%252fetc", "a/%c0%ae%c0%ae/b", "CON.txt", "C:\\x"] {
///     assert!(check_stored_path(attack).is_err(), "{attack}");
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InvalidPath`] with the [`PathIssue`].
pub fn check_stored_path(input: impl AsRef<[u8]>) -> Result<StoredPath, Error> {
    check(input.as_ref()).map_err(|issue| Error::InvalidPath { issue })
}

/// Decodes `input` as [`check_stored_path`] does (`%XX`, `%uXXXX`, `0x2e`,
/// until nothing changes), without checking the result: for logging what a
/// rejected path meant, or for tests.
///
/// # Errors
///
/// [`Error::InvalidPath`] with [`PathIssue::TooLong`],
/// [`PathIssue::TooManyEncodings`] or [`PathIssue::InvalidUtf8`] (a `%u`
/// escape of a surrogate).
pub fn decode_stored_path(input: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
    let input = input.as_ref();
    if input.len() > MAX_STORED_PATH_LEN {
        return Err(Error::InvalidPath {
            issue: PathIssue::TooLong,
        });
    }
    decode_fixed_point(input).map_err(|issue| Error::InvalidPath { issue })
}

fn check(input: &[u8]) -> Result<StoredPath, PathIssue> {
    if input.is_empty() {
        return Err(PathIssue::Empty);
    }
    if input.len() > MAX_STORED_PATH_LEN {
        return Err(PathIssue::TooLong);
    }
    let decoded = decode_fixed_point(input)?;
    let text = String::from_utf8(decoded).map_err(|_| PathIssue::InvalidUtf8)?;
    check_decoded(&text)?;
    Ok(StoredPath(text))
}

/// Decodes until the input no longer changes.
fn decode_fixed_point(input: &[u8]) -> Result<Vec<u8>, PathIssue> {
    let mut current = input.to_vec();
    if !needs_decoding(&current) {
        return Ok(current);
    }
    let mut next = Vec::with_capacity(current.len());
    // Up to MAX_DECODE_ROUNDS rounds may change the input; one more round
    // must find nothing left to decode.
    for _ in 0..=MAX_DECODE_ROUNDS {
        next.clear();
        if !decode_round(&current, &mut next)? {
            return Ok(current);
        }
        std::mem::swap(&mut current, &mut next);
    }
    Err(PathIssue::TooManyEncodings)
}

fn needs_decoding(bytes: &[u8]) -> bool {
    bytes.contains(&b'%')
        || bytes
            .windows(2)
            .any(|w| w[0] == b'0' && w[1] | 0x20 == b'x')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_pair(bytes: &[u8], at: usize) -> Option<u8> {
    let hi = hex(*bytes.get(at)?)?;
    let lo = hex(*bytes.get(at + 1)?)?;
    Some(hi << 4 | lo)
}

/// One round of decoding; returns whether anything changed.
fn decode_round(input: &[u8], out: &mut Vec<u8>) -> Result<bool, PathIssue> {
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if let Some(&u) = input.get(i + 1)
                && u | 0x20 == b'u'
                && let (Some(hi), Some(lo)) = (hex_pair(input, i + 2), hex_pair(input, i + 4))
            {
                let c = char::from_u32(u32::from(hi) << 8 | u32::from(lo))
                    .ok_or(PathIssue::InvalidUtf8)?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                changed = true;
                continue;
            }
            if let Some(v) = hex_pair(input, i + 1) {
                out.push(v);
                i += 3;
                changed = true;
                continue;
            }
        } else if b == b'0'
            && input.get(i + 1).is_some_and(|x| x | 0x20 == b'x')
            && let Some(v @ (0x2e | 0x2f | 0x5c)) = hex_pair(input, i + 2)
        {
            out.push(v);
            i += 4;
            changed = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Ok(changed)
}

/// Characters some systems fold into `.`, `/`, `\`, `:` or another
/// forbidden character (the generated [`SEPARATOR_LIKE`], from NFKC and
/// Windows best fit), or that hide what a name looks like.
pub(crate) fn is_unsafe_unicode(c: char) -> bool {
    !c.is_ascii()
        && (SEPARATOR_LIKE.binary_search_by_key(&c, |(k, _)| *k).is_ok() || is_unsafe_extra(c))
}

/// Look-alikes and formatting characters beyond [`SEPARATOR_LIKE`].
fn is_unsafe_extra(c: char) -> bool {
    matches!(
        c,
        '\u{2024}'..='\u{2026}' // one/two dot leader, ellipsis
            | '\u{2044}' // fraction slash
            | '\u{2215}' | '\u{2216}' // division slash, set minus
            | '\u{29f5}' | '\u{29f8}' | '\u{29f9}' // reverse solidus operator, big solidus
            | '\u{fe52}' | '\u{fe68}' // small full stop, small reverse solidus
            | '\u{ff0e}' | '\u{ff0f}' | '\u{ff3c}' // fullwidth . / \
            | '\u{ff61}' // halfwidth ideographic full stop
            | '\u{3002}' // ideographic full stop
            | '\u{e000}'..='\u{f8ff}' // private use (IIS best-fit mappings)
            | '\u{200b}'..='\u{200f}' // zero-width, LRM/RLM
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

fn check_decoded(text: &str) -> Result<(), PathIssue> {
    let bytes = text.as_bytes();
    if text.starts_with(r"\\.\")
        || text.starts_with(r"\\?\")
        || text.starts_with("//./")
        || text.starts_with("//?/")
        || text.starts_with(r"\??\")
    {
        return Err(PathIssue::DevicePath);
    }
    if text.starts_with(r"\\") || text.starts_with("//") {
        return Err(PathIssue::UncPath);
    }
    if text.starts_with('/') || text.starts_with('\\') {
        return Err(PathIssue::Absolute);
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(PathIssue::DriveLetter);
    }
    for (i, c) in text.char_indices() {
        let issue = match c {
            '\\' => PathIssue::Backslash,
            '%' => PathIssue::MalformedEncoding,
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => PathIssue::ForbiddenCharacter,
            c if c.is_control() => PathIssue::ControlCharacter,
            c if is_unsafe_unicode(c) => PathIssue::UnsafeUnicode,
            '&' if unsafe_reference_at(&text[i..], 0) => PathIssue::HtmlReference,
            _ => continue,
        };
        return Err(issue);
    }
    for component in text.split('/') {
        check_component(component)?;
    }
    Ok(())
}

fn check_component(component: &str) -> Result<(), PathIssue> {
    match component {
        "" => return Err(PathIssue::EmptyComponent),
        "." => return Err(PathIssue::CurrentComponent),
        ".." => return Err(PathIssue::ParentComponent),
        _ => {}
    }
    if component.starts_with('.') {
        return Err(PathIssue::HiddenComponent);
    }
    if component.ends_with(['.', ' ']) {
        return Err(PathIssue::TrailingDotOrSpace);
    }
    if component.len() > MAX_COMPONENT_LEN {
        return Err(PathIssue::ComponentTooLong);
    }
    if is_reserved_name(component) {
        return Err(PathIssue::ReservedName);
    }
    Ok(())
}

/// Whether `name` is a Windows reserved device name, with or without an
/// extension, and whatever trailing dots or spaces follow the stem, also
/// once Windows best fit or NFKC has turned look-alike letters into ASCII
/// (`ＣＯＮ`, `ĈŌŃ`, `ℂ𝐎𝐍`, `COM¹`).
#[must_use]
pub fn is_reserved_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.trim_end_matches([' ', '.']);
    if stem.chars().count() > 7 {
        return false;
    }
    // As Windows sees it after best fit or NFKC: `ＣＯＮ`, `ĈŌŃ`, `ℂ𝐎𝐍`.
    let upper: String = stem
        .chars()
        .map(|c| fold_letter(c).map_or(c, char::from))
        .collect::<String>()
        .to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$" => true,
        _ => {
            let mut chars = upper.chars();
            let prefix: String = chars.by_ref().take(3).collect();
            let rest: Vec<char> = chars.collect();
            (prefix == "COM" || prefix == "LPT")
                && rest.len() == 1
                && matches!(rest[0], '0'..='9' | '\u{b9}' | '\u{b2}' | '\u{b3}')
        }
    }
}

/// The ASCII letter, digit or `$` (upper case) that NFKD or best fit turns
/// `c` into, if any; ASCII is itself.
fn fold_letter(c: char) -> Option<u8> {
    if c.is_ascii() {
        return u8::try_from(c).ok();
    }
    let cp = u32::from(c);
    let at = LETTER_LIKE.partition_point(|(first, ..)| *first <= cp);
    let (first, last, ascii, counts_up) = *LETTER_LIKE.get(at.checked_sub(1)?)?;
    if cp > last {
        return None;
    }
    if counts_up {
        u8::try_from(cp - first).ok().map(|step| ascii + step)
    } else {
        Some(ascii)
    }
}

/// Whether `text` (starting at `&`) holds an HTML character reference that
/// decodes to a character [`check_stored_path`] refuses, directly or through
/// `&amp;` (`&amp;#46;` is `&#46;` after one decoding, `.` after two).
fn unsafe_reference_at(text: &str, depth: usize) -> bool {
    text.strip_prefix('&')
        .is_some_and(|body| unsafe_reference_body(body, depth))
}

/// [`unsafe_reference_at`] on what follows the `&`. After `&amp;`, the rest
/// is the body of the next reference (its `&` is the one `&amp;` decodes
/// to), so the chain is followed without copying, a constant number of
/// steps per `&`.
fn unsafe_reference_body(body: &str, depth: usize) -> bool {
    let Some((c, len)) = reference_body(body) else {
        return false;
    };
    match c {
        '&' => depth < MAX_DECODE_ROUNDS && unsafe_reference_body(&body[len..], depth + 1),
        c => {
            matches!(
                c,
                '.' | '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*' | '%'
            ) || c.is_control()
                || is_unsafe_unicode(c)
        }
    }
}

/// The character an HTML character reference decodes to, given what
/// follows its `&`, and how many bytes of that it uses: numeric (`&#46;`, `&#x2E`, the `;` optional
/// as browsers allow) or one of the named references for characters a path
/// check cares about.
fn reference_body(body: &str) -> Option<(char, usize)> {
    if let Some((value, used)) = crate::chars::numeric_reference(body) {
        // A browser shows U+FFFD for a surrogate or a value past U+10FFFF.
        return Some((char::from_u32(value).unwrap_or('\u{fffd}'), used));
    }
    const NAMED: &[(&str, char)] = &[
        ("period;", '.'),
        ("sol;", '/'),
        ("bsol;", '\\'),
        ("colon;", ':'),
        ("lt;", '<'),
        ("gt;", '>'),
        ("quot;", '"'),
        ("verbar;", '|'),
        ("vert;", '|'),
        ("VerticalLine;", '|'),
        ("quest;", '?'),
        ("ast;", '*'),
        ("midast;", '*'),
        ("percnt;", '%'),
        ("amp;", '&'),
        ("AMP;", '&'),
        ("LT;", '<'),
        ("GT;", '>'),
        ("QUOT;", '"'),
        // Legacy references a browser decodes without `;`.
        ("amp", '&'),
        ("AMP", '&'),
        ("lt", '<'),
        ("LT", '<'),
        ("gt", '>'),
        ("GT", '>'),
        ("quot", '"'),
        ("QUOT", '"'),
    ];
    NAMED
        .iter()
        .find(|(name, _)| body.starts_with(name))
        .map(|(name, c)| (*c, name.len()))
}

/// Replaces the `&` of every reference [`unsafe_reference_at`] flags with
/// `_` (same length, so a cut stays a cut).
fn neutralize_references(name: &mut String) {
    let flagged: Vec<usize> = name
        .match_indices('&')
        .map(|(i, _)| i)
        .filter(|&i| unsafe_reference_at(&name[i..], 0))
        .collect();
    for i in flagged {
        name.replace_range(i..=i, "_");
    }
}

/// Turns untrusted text into a single safe file name: separators, control,
/// forbidden and look-alike characters (those NFKC or Windows best fit turn
/// into `.`, `/`, `\`, `:` or another forbidden character) become `_`, so
/// does the `&` of an HTML character reference to one, a leading dot
/// becomes `_`, trailing dots and spaces are removed, Windows reserved
/// names (also as best fit or NFKC would read them: `ＣＯＮ`) get a `_`
/// prefix, the `0x2e`-style notation is broken up, and the result is cut
/// to 255 bytes on a UTF-8 boundary. An empty result is `_`.
///
/// The result always passes [`check_stored_path`] as a one-component path,
/// and sanitizing it again changes nothing.
///
/// # Examples
///
/// ```
/// use pr_security::files::sanitize_filename;
///
/// assert_eq!(sanitize_filename("../../etc/passwd"), "_._.._etc_passwd");
/// assert_eq!(sanitize_filename("report:2024?.pdf"), "report_2024_.pdf");
/// assert_eq!(sanitize_filename("CON.txt"), "_CON.txt");
/// assert_eq!(sanitize_filename("é".repeat(200).as_str()).len(), 254);
/// ```
#[must_use]
pub fn sanitize_filename(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(MAX_COMPONENT_LEN));
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        let safe = match c {
            '/' | '\\' | '%' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() || is_unsafe_unicode(c) => '_',
            c => c,
        };
        out.push(safe);
        // `0x2e`, `0x2f`, `0x5c` decode to `.`, `/`, `\`: break the `0x`.
        if safe == '0' && chars.peek().is_some_and(|x| *x == 'x' || *x == 'X') {
            let rest: String = chars.clone().skip(1).take(2).collect();
            if matches!(rest.to_ascii_lowercase().as_str(), "2e" | "2f" | "5c")
                && let Some(x) = chars.next()
            {
                out.push(x);
                out.push('_');
            }
        }
    }
    finish_filename(out)
}

fn finish_filename(mut name: String) -> String {
    truncate_to(&mut name, MAX_COMPONENT_LEN);
    // After the cut: cutting `&#465;` leaves `&#46`, which is `.`.
    neutralize_references(&mut name);
    let trimmed = name.trim_end_matches(['.', ' ']).len();
    name.truncate(trimmed);
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    if name.is_empty() {
        name.push('_');
    }
    if is_reserved_name(&name) {
        name.insert(0, '_');
        truncate_to(&mut name, MAX_COMPONENT_LEN);
        let trimmed = name.trim_end_matches(['.', ' ']).len();
        name.truncate(trimmed);
    }
    name
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub(crate) fn truncate_to(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(input: &str) -> Option<PathIssue> {
        check(input.as_bytes()).err()
    }

    #[test]
    fn accepts_plain_relative_paths() {
        for ok in [
            "a",
            "a/b/c.txt",
            "dir name/file name.tar.gz",
            "ünïcödé/файл",
            "CONSOLE.txt",
            "COM10",
        ] {
            assert_eq!(issue(ok), None, "{ok}");
        }
    }

    #[test]
    fn issues() {
        let cases = [
            ("", PathIssue::Empty),
            ("../a", PathIssue::ParentComponent),
            ("a/..", PathIssue::ParentComponent),
            ("a/%2e%2e/b", PathIssue::ParentComponent),
            ("%252e%252e%252f", PathIssue::ParentComponent),
            ("%%32%65%%32%65/x", PathIssue::ParentComponent),
            ("0x2e0x2e0x2fetc", PathIssue::ParentComponent),
            ("%c0%ae%c0%ae/x", PathIssue::InvalidUtf8),
            ("%e0%80%af", PathIssue::InvalidUtf8),
            ("%uff0e%uff0e/x", PathIssue::UnsafeUnicode),
            ("a%u2215b", PathIssue::UnsafeUnicode),
            ("%ud800", PathIssue::InvalidUtf8),
            ("/etc/passwd", PathIssue::Absolute),
            ("\\windows", PathIssue::Absolute),
            ("C:/x", PathIssue::DriveLetter),
            ("c:x", PathIssue::DriveLetter),
            (r"\\server\share", PathIssue::UncPath),
            (r"\\.\pipe\x", PathIssue::DevicePath),
            (r"\\?\C:\x", PathIssue::DevicePath),
            ("a\\b", PathIssue::Backslash),
            ("a%00b", PathIssue::ControlCharacter),
            ("a\u{85}b", PathIssue::ControlCharacter),
            ("100%", PathIssue::MalformedEncoding),
            ("a?b", PathIssue::ForbiddenCharacter),
            ("a//b", PathIssue::EmptyComponent),
            ("a/", PathIssue::EmptyComponent),
            ("./a", PathIssue::CurrentComponent),
            (".htaccess", PathIssue::HiddenComponent),
            ("...", PathIssue::HiddenComponent),
            ("a./b", PathIssue::TrailingDotOrSpace),
            ("a /b", PathIssue::TrailingDotOrSpace),
            ("con", PathIssue::ReservedName),
            ("dir/NUL.txt", PathIssue::ReservedName),
            ("COM\u{b9}", PathIssue::ReservedName),
            ("lpt\u{b3}.log", PathIssue::ReservedName),
            ("conin$", PathIssue::ReservedName),
            ("CONOUT$.x.y", PathIssue::ReservedName),
            ("aux .txt", PathIssue::ReservedName),
            ("COM0", PathIssue::ReservedName),
        ];
        for (input, expected) in cases {
            assert_eq!(issue(input), Some(expected), "{input:?}");
        }
        assert_eq!(issue(&"a".repeat(256)), Some(PathIssue::ComponentTooLong));
        assert_eq!(issue(&"a/".repeat(2049)), Some(PathIssue::TooLong));
        let deep = (0..9).fold(String::from("."), |s, _| {
            s.replace('%', "%25").replace('.', "%2e")
        });
        assert_eq!(issue(&deep), Some(PathIssue::TooManyEncodings));
    }

    /// Paths that become traversal or a device once another system
    /// transforms them, each from its source: NFKC (Unicode's
    /// compatibility decompositions), Windows best fit (`bestfit1252.txt`,
    /// and code pages 932 / 949 for `¥` / `₩`), HTML character references.
    #[test]
    fn transformed_paths_are_refused() {
        let cases = [
            // Best fit, 932 and 949: `¥` and `₩` are the backslash byte.
            ("a\u{a5}..\u{a5}..\u{a5}win.ini", PathIssue::UnsafeUnicode),
            ("a\u{20a9}b", PathIssue::UnsafeUnicode),
            // NFKC and best fit: fullwidth colon, `C：/x` is `C:/x`.
            ("C\u{ff1a}/x", PathIssue::UnsafeUnicode),
            // NFKC: presentation form for vertical two dot leader is `..`.
            ("\u{fe30}/x", PathIssue::UnsafeUnicode),
            ("a\u{2024}b", PathIssue::UnsafeUnicode),
            ("a\u{fe55}b", PathIssue::UnsafeUnicode),
            ("a\u{2488}b", PathIssue::UnsafeUnicode),
            // Best fit only: ratio, Armenian full stop, modifier double prime.
            ("a\u{2236}b", PathIssue::UnsafeUnicode),
            ("a\u{589}b", PathIssue::UnsafeUnicode),
            ("a\u{2ba}b", PathIssue::UnsafeUnicode),
            // Reserved names once letters are folded.
            ("\u{ff23}\u{ff2f}\u{ff2e}", PathIssue::ReservedName),
            ("\u{108}\u{14c}\u{143}.txt", PathIssue::ReservedName),
            ("\u{2102}\u{1d40e}\u{1d40d}", PathIssue::ReservedName),
            (
                "dir/\u{ff2c}\u{ff30}\u{ff34}\u{ff11}",
                PathIssue::ReservedName,
            ),
            ("nu\u{13a}", PathIssue::ReservedName),
            // HTML references, numeric, named, doubly encoded.
            ("&#46;&#46;/x", PathIssue::HtmlReference),
            ("a&#x2F;b", PathIssue::HtmlReference),
            ("a&#0000046;b", PathIssue::HtmlReference),
            ("a&sol;b", PathIssue::HtmlReference),
            ("a&bsol;b", PathIssue::HtmlReference),
            ("&amp;#46;&amp;#46;/x", PathIssue::HtmlReference),
            ("a&#133;b", PathIssue::HtmlReference),
        ];
        for (input, expected) in cases {
            assert_eq!(issue(input), Some(expected), "{input:?}");
        }
        for ok in [
            "Tom &amp; Jerry.txt",
            "R&D.txt",
            "caf&#233;.txt",
            "na\u{ef}ve.txt",
            "\u{3a9}mega",
            "\u{ff23}\u{ff2f}\u{ff2e}SOLE",
        ] {
            assert_eq!(issue(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn tables_are_sorted_and_say_what_they_claim() {
        assert!(SEPARATOR_LIKE.windows(2).all(|w| w[0].0 < w[1].0));
        for (c, ascii) in SEPARATOR_LIKE {
            assert!(!c.is_ascii(), "{c:?}");
            assert!(
                ascii.contains(['.', '/', '\\', ':', '<', '>', '"', '|', '?', '*']),
                "{c:?}"
            );
        }
        assert!(LETTER_LIKE.windows(2).all(|w| w[0].1 < w[1].0));
        for (first, last, ascii, _) in LETTER_LIKE {
            assert!(first <= last && first >= &0x80);
            assert!(ascii.is_ascii_uppercase() || ascii.is_ascii_digit() || *ascii == b'$');
        }
        // Entries from each source (Unicode 14.0 NFKD; bestfit1252).
        assert_eq!(fold_letter('\u{ff21}'), Some(b'A'));
        assert_eq!(fold_letter('\u{ff5a}'), Some(b'Z'));
        assert_eq!(fold_letter('\u{1d7ce}'), Some(b'0'));
        assert_eq!(fold_letter('\u{101}'), Some(b'A'));
        assert_eq!(fold_letter('\u{141}'), Some(b'L'));
        assert_eq!(fold_letter('\u{221e}'), Some(b'8'));
        assert_eq!(fold_letter('\u{416}'), None);
    }

    #[test]
    fn sanitizer_breaks_transformed_forms() {
        assert_eq!(sanitize_filename("a\u{a5}..\u{a5}win.ini"), "a_.._win.ini");
        assert_eq!(sanitize_filename("C\u{ff1a}x"), "C_x");
        assert_eq!(
            sanitize_filename("\u{ff23}\u{ff2f}\u{ff2e}"),
            "_\u{ff23}\u{ff2f}\u{ff2e}"
        );
        assert_eq!(sanitize_filename("&#46;&#46;&sol;x"), "_#46;_#46;_sol;x");
        assert_eq!(sanitize_filename("Tom &amp; Jerry"), "Tom &amp; Jerry");
        // A cut that turns `&#465;` (a letter) into `&#46` (a dot).
        let cut = sanitize_filename(&format!("{}&#465;", "a".repeat(251)));
        assert_eq!(cut, format!("{}_#46", "a".repeat(251)));
        for input in ["a\u{a5}b", "&amp;#46;", "\u{ff23}\u{ff2f}\u{ff2e}.txt"] {
            let once = sanitize_filename(input);
            assert_eq!(issue(&once), None, "{input:?}");
            assert_eq!(sanitize_filename(&once), once, "{input:?}");
        }
    }

    #[test]
    fn decoding_is_reported_in_the_result() {
        assert_eq!(check(b"a%2fb%20c").unwrap().as_str(), "a/b c");
        assert_eq!(check(b"a%u00e9").unwrap().as_str(), "a\u{e9}");
    }

    #[test]
    fn sanitizer() {
        assert_eq!(sanitize_filename(""), "_");
        assert_eq!(sanitize_filename(".."), "_");
        assert_eq!(sanitize_filename("..."), "_");
        assert_eq!(sanitize_filename(".env"), "_env");
        assert_eq!(sanitize_filename("a\0b\nc"), "a_b_c");
        assert_eq!(sanitize_filename("0x2e0x2e0x2f"), "0x_2e0x_2e0x_2f");
        assert_eq!(sanitize_filename("nul"), "_nul");
        assert_eq!(sanitize_filename("name. . "), "name");
        let long = "€".repeat(100);
        let cut = sanitize_filename(&long);
        assert_eq!(cut.len(), 255);
        assert!(cut.chars().all(|c| c == '€'));
    }

    #[test]
    fn error_code() {
        use pr_errors::CodedError;
        let err = check_stored_path("../x").unwrap_err();
        assert_eq!(err.code().as_str(), "security.invalid_path");
        assert_eq!(err.to_string(), "invalid path: `..` component");
    }
}
