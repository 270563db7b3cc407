//! Numbers in ranges, string length and character classes, RFC 3339
//! date-times.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::Error;

/// Parses an integer written in plain decimal (an optional `-`, digits; no
/// `+`, spaces, underscores or leading zeros) and checks it is in `range`.
///
/// # Examples
///
/// ```
/// use pr_security::validation::validate_int;
///
/// # fn main() -> Result<(), pr_security::Error> {
/// assert_eq!(validate_int::<u16>("8080", 1..=65535)?, 8080);
/// assert!(validate_int::<u16>("0", 1..=65535).is_err());
/// assert!(validate_int::<u16>("070", 1..=65535).is_err());
/// assert!(validate_int::<i64>("99999999999999999999", 0..=10).is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InvalidNumber`] when it does not parse, [`Error::OutOfRange`].
pub fn validate_int<T>(input: &str, range: RangeInclusive<T>) -> Result<T, Error>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    let digits = input.strip_prefix('-').unwrap_or(input);
    if digits.is_empty() || digits.len() > 40 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidNumber {
            issue: "not a decimal integer",
        });
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(Error::InvalidNumber {
            issue: "leading zero",
        });
    }
    let value: T = input.parse().map_err(|_| Error::InvalidNumber {
        issue: "does not fit the integer type",
    })?;
    check_range(value, range)
}

/// Parses a finite decimal number and checks it is in `range`.
///
/// # Errors
///
/// [`Error::InvalidNumber`] for text that is not a finite number (`NaN`,
/// `inf`, hex), [`Error::OutOfRange`].
pub fn validate_f64(input: &str, range: RangeInclusive<f64>) -> Result<f64, Error> {
    let ok = !input.is_empty()
        && input.len() <= 64
        && input
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    let value: f64 = if ok { input.parse().ok() } else { None }
        .filter(|v: &f64| v.is_finite())
        .ok_or(Error::InvalidNumber {
            issue: "not a finite decimal number",
        })?;
    check_range(value, range)
}

/// Checks that `value` is in `range`.
///
/// # Errors
///
/// [`Error::OutOfRange`].
pub fn check_range<T: PartialOrd + fmt::Display + Copy>(
    value: T,
    range: RangeInclusive<T>,
) -> Result<T, Error> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Error::OutOfRange {
            value: value.to_string(),
            min: range.start().to_string(),
            max: range.end().to_string(),
        })
    }
}

/// A character class for [`TextRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CharClass {
    /// Anything but control characters (C0, DEL, C1) and the bidirectional
    /// and invisible formatting characters that disguise text.
    Printable,
    /// Printable ASCII (`' '..='~'`).
    AsciiPrintable,
    /// ASCII letters and digits.
    AsciiAlphanumeric,
    /// ASCII letters, digits, `_` and `-` (identifiers, slugs, keys).
    Identifier,
    /// ASCII digits.
    Digits,
}

impl CharClass {
    fn allows(self, c: char) -> bool {
        match self {
            Self::Printable => !c.is_control() && !crate::chars::is_invisible_format(c),
            Self::AsciiPrintable => matches!(c, ' '..='~'),
            Self::AsciiAlphanumeric => c.is_ascii_alphanumeric(),
            Self::Identifier => c.is_ascii_alphanumeric() || c == '_' || c == '-',
            Self::Digits => c.is_ascii_digit(),
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Printable => "printable text",
            Self::AsciiPrintable => "printable ascii",
            Self::AsciiAlphanumeric => "ascii letters and digits",
            Self::Identifier => "an identifier ([A-Za-z0-9_-])",
            Self::Digits => "digits",
        }
    }
}

/// Length (in characters) and character class of a string.
///
/// # Examples
///
/// ```
/// use pr_security::validation::{CharClass, TextRule};
///
/// # fn main() -> Result<(), pr_security::Error> {
/// let username = TextRule::new(3, 32, CharClass::Identifier);
/// assert_eq!(username.check("ann_42")?, "ann_42");
/// assert!(username.check("an").is_err());
/// assert!(username.check("ann smith").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextRule {
    min_chars: usize,
    max_chars: usize,
    class: CharClass,
}

impl TextRule {
    /// A rule: from `min_chars` to `max_chars` characters of `class`.
    #[must_use]
    pub const fn new(min_chars: usize, max_chars: usize, class: CharClass) -> Self {
        Self {
            min_chars,
            max_chars,
            class,
        }
    }

    /// Checks `input`, returning it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidLength`] or [`Error::InvalidCharacters`].
    pub fn check<'a>(&self, input: &'a str) -> Result<&'a str, Error> {
        // Count at most max + 1 characters so a huge input costs little.
        let count = input.chars().take(self.max_chars.saturating_add(1)).count();
        if count < self.min_chars || count > self.max_chars {
            return Err(Error::InvalidLength {
                actual: if count > self.max_chars {
                    input.chars().count()
                } else {
                    count
                },
                min: self.min_chars,
                max: self.max_chars,
            });
        }
        if let Some(index) = input.chars().position(|c| !self.class.allows(c)) {
            return Err(Error::InvalidCharacters {
                index,
                class: self.class.name(),
            });
        }
        Ok(input)
    }
}

/// An RFC 3339 date-time, validated field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DateTime {
    /// Year, 0000 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of month, 1 to 28..=31 depending on month and year.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 60 (60 only for a leap second).
    pub second: u8,
    /// Fraction of a second in nanoseconds (digits past 9 are dropped).
    pub nanosecond: u32,
    /// Offset from UTC in minutes (`Z` is 0).
    pub offset_minutes: i16,
}

impl fmt::Display for DateTime {
    /// The normalized form: uppercase `T`, `Z` for a zero offset, the
    /// fraction without trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let frac = format!("{:09}", self.nanosecond);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if self.offset_minutes == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let abs = self.offset_minutes.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
        }
    }
}

/// Validates an RFC 3339 `date-time` (`2024-02-29T12:30:00.5+01:00`): every
/// field in range, the day valid for its month and year, `T`/`Z` in either
/// case, a leap second only as `:60`.
///
/// # Examples
///
/// ```
/// use pr_security::validation::validate_rfc3339;
///
/// # fn main() -> Result<(), pr_security::Error> {
/// assert_eq!(validate_rfc3339("2024-02-29t23:59:60.250z")?.to_string(), "2024-02-29T23:59:60.25Z");
/// assert!(validate_rfc3339("2023-02-29T00:00:00Z").is_err());
/// assert!(validate_rfc3339("2024-01-01 00:00:00").is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InvalidDate`] naming the field.
pub fn validate_rfc3339(input: &str) -> Result<DateTime, Error> {
    parse_rfc3339(input.as_bytes()).map_err(|issue| Error::InvalidDate { issue })
}

fn digits(b: &[u8], at: usize, n: usize) -> Result<u32, &'static str> {
    let part = b.get(at..at + n).ok_or("too short")?;
    let mut value = 0;
    for &d in part {
        if !d.is_ascii_digit() {
            return Err("expected a digit");
        }
        value = value * 10 + u32::from(d - b'0');
    }
    Ok(value)
}

fn expect(b: &[u8], at: usize, what: &[u8], issue: &'static str) -> Result<(), &'static str> {
    match b.get(at) {
        Some(c) if what.contains(c) => Ok(()),
        _ => Err(issue),
    }
}

fn parse_rfc3339(b: &[u8]) -> Result<DateTime, &'static str> {
    if b.len() > 64 {
        return Err("too long");
    }
    let year = digits(b, 0, 4)?;
    expect(b, 4, b"-", "expected `-` after the year")?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b"-", "expected `-` after the month")?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b"Tt", "expected `T` between date and time")?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b":", "expected `:` after the hour")?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b":", "expected `:` after the minute")?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("day out of range for the month");
    }
    if hour > 23 {
        return Err("hour out of range");
    }
    if minute > 59 {
        return Err("minute out of range");
    }
    if second > 60 {
        return Err("second out of range");
    }
    let mut at = 19;
    let mut nanosecond = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanosecond = nanosecond * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        let n = at - start;
        if n == 0 {
            return Err("empty fraction of a second");
        }
        for _ in n..9 {
            nanosecond *= 10;
        }
    }
    let offset_minutes = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, at + 1, 2)?;
            expect(b, at + 3, b":", "expected `:` in the offset")?;
            let om = digits(b, at + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            at += 6;
            let minutes = i16::try_from(oh * 60 + om).map_err(|_| "offset out of range")?;
            if sign == b'-' { -minutes } else { minutes }
        }
        _ => return Err("missing offset (`Z` or `+hh:mm`)"),
    };
    if at != b.len() {
        return Err("text after the offset");
    }
    let narrow = |v: u32| u8::try_from(v).map_err(|_| "field out of range");
    Ok(DateTime {
        year: u16::try_from(year).map_err(|_| "year out of range")?,
        month: narrow(month)?,
        day: narrow(day)?,
        hour: narrow(hour)?,
        minute: narrow(minute)?,
        second: narrow(second)?,
        nanosecond,
        offset_minutes,
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for ok in [
            "1985-04-12T23:20:50.52Z",
            "1996-12-19T16:39:57-08:00",
            "1990-12-31T23:59:60Z",
            "1937-01-01T12:00:27.87+00:20",
            "2000-02-29T00:00:00Z",
            "0000-01-01T00:00:00.123456789123Z",
        ] {
            validate_rfc3339(ok).unwrap();
        }
        for bad in [
            "",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00Zx",
            "2024-1-01T00:00:00Z",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert!(validate_rfc3339(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_rfc3339("1996-12-19T16:39:57.000-08:00")
                .unwrap()
                .to_string(),
            "1996-12-19T16:39:57-08:00"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(validate_int::<i32>("-5", -10..=10).unwrap(), -5);
        assert!(validate_int::<i32>("-0", -10..=10).is_ok());
        assert!(validate_int::<i32>("+5", -10..=10).is_err());
        assert!(validate_int::<i32>("", -10..=10).is_err());
        assert!(validate_int::<i32>("11", -10..=10).is_err());
        assert!(validate_f64("NaN", 0.0..=1.0).is_err());
        assert!(validate_f64("inf", 0.0..=1.0).is_err());
        assert!(validate_f64("1e999", 0.0..=1.0).is_err());
        assert!((validate_f64("0.5", 0.0..=1.0).unwrap() - 0.5).abs() < f64::EPSILON);
    }

    #[test]
    fn text() {
        let rule = TextRule::new(1, 3, CharClass::Printable);
        assert!(rule.check("a\u{202e}b").is_err());
        assert!(rule.check("abcd").is_err());
        let Err(Error::InvalidCharacters { index, .. }) = rule.check("a\nb") else {
            panic!()
        };
        assert_eq!(index, 1);
    }
}
