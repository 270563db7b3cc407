//! Timestamps: RFC 3339 for log lines, compact names for rotated files, and
//! rotation period boundaries, in UTC or a time zone (DST-safe).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A time zone for timestamps and file names.
#[derive(Clone, Debug)]
pub(crate) enum Tz {
    /// Coordinated Universal Time (`Z`).
    Utc,
    /// A zone with rules (the system's local zone, an IANA name or a POSIX
    /// TZ string); offsets come from its rules at each instant.
    Zone(TimeZone),
}

impl Tz {
    /// Parses `utc`, `local`, an IANA name (`Europe/Paris`) or a POSIX TZ
    /// string (`EST5EDT,M3.2.0,M11.1.0`). The error says what is expected,
    /// never any of `name`.
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        match name.trim() {
            "" | "utc" | "UTC" | "Z" => Ok(Self::Utc),
            "local" => Ok(Self::Zone(TimeZone::system())),
            other => TimeZone::get(other)
                .or_else(|_| TimeZone::posix(other))
                .map(Self::Zone)
                // jiff's errors quote the name; the setting may hold
                // anything, so none of it is repeated.
                .map_err(|_| {
                    "unknown time zone (expected `utc`, `local`, an IANA name such as \
                     `Europe/Paris` or a POSIX TZ string such as `EST5EDT,M3.2.0,M11.1.0`)"
                        .to_owned()
                }),
        }
    }

    /// Offset from UTC in seconds at `unix` seconds.
    pub(crate) fn offset_secs(&self, unix: i64) -> i32 {
        match self {
            Self::Utc => 0,
            Self::Zone(tz) => Timestamp::from_second(unix)
                .map(|ts| tz.to_offset(ts).seconds())
                .unwrap_or(0),
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch (negative seconds before it).
pub(crate) fn unix_parts(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, 1_000_000_000 - d.subsec_nanos())
            }
        }
    }
}

/// Civil date from days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a [`file_stamp`] back to Unix seconds.
pub(crate) fn parse_file_stamp(stamp: &str) -> Option<i64> {
    let b = stamp.as_bytes();
    if b.len() < 16 || b[8] != b'T' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> { stamp.get(range)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    let offset = match b[15] {
        b'Z' if b.len() == 16 => 0,
        b'+' | b'-' if b.len() == 20 => {
            let abs = num(16..18)? * 3600 + num(18..20)? * 60;
            if b[15] == b'-' { -abs } else { abs }
        }
        _ => return None,
    };
    Some(local - offset)
}

/// Broken-down local time: (year, month, day, hour, minute, second).
fn broken_down(local_secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = local_secs.div_euclid(86_400);
    let rem = u32::try_from(local_secs.rem_euclid(86_400)).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

fn push_2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + u8::try_from(v / 10 % 10).unwrap_or(0)));
    out.push(char::from(b'0' + u8::try_from(v % 10).unwrap_or(0)));
}

fn push_year(out: &mut String, y: i64) {
    use std::fmt::Write as _;
    if (0..=9999).contains(&y) {
        let y = u32::try_from(y).unwrap_or(0);
        push_2(out, y / 100);
        push_2(out, y % 100);
    } else {
        let _ = write!(out, "{y:+05}");
    }
}

fn push_offset(out: &mut String, offset: i32, colon: bool) {
    if offset == 0 {
        out.push('Z');
        return;
    }
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = offset.unsigned_abs();
    push_2(out, abs / 3600);
    if colon {
        out.push(':');
    }
    push_2(out, abs / 60 % 60);
}

struct Cache {
    secs: i64,
    zone: usize,
    prefix: String,
    suffix: String,
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache { secs: i64::MIN, zone: 0, prefix: String::new(), suffix: String::new() })
    };
}

/// Appends `t` as RFC 3339 with microseconds (`2026-11-23T10:37:11.123456Z`,
/// or with the zone's offset). The part down to the second is cached per
/// thread, so consecutive events in one second format cheaply.
pub(crate) fn write_rfc3339(out: &mut String, t: SystemTime, tz: &Tz) {
    let (secs, nanos) = unix_parts(t);
    let zone = match tz {
        Tz::Utc => 0,
        Tz::Zone(z) => std::ptr::from_ref(z) as usize,
    };
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.secs != secs || cache.zone != zone {
            let offset = tz.offset_secs(secs);
            let (y, mo, d, h, mi, s) = broken_down(secs + i64::from(offset));
            let prefix = &mut cache.prefix;
            prefix.clear();
            push_year(prefix, y);
            prefix.push('-');
            push_2(prefix, mo);
            prefix.push('-');
            push_2(prefix, d);
            prefix.push('T');
            push_2(prefix, h);
            prefix.push(':');
            push_2(prefix, mi);
            prefix.push(':');
            push_2(prefix, s);
            prefix.push('.');
            cache.suffix.clear();
            push_offset(&mut cache.suffix, offset, true);
            cache.secs = secs;
            cache.zone = zone;
        }
        out.push_str(&cache.prefix);
        let micros = nanos / 1000;
        push_2(out, micros / 10_000);
        push_2(out, micros / 100 % 100);
        push_2(out, micros % 100);
        out.push_str(&cache.suffix);
    });
}

/// A compact, file-name-safe stamp: `20261123T100000Z` or
/// `20261101T010000-0400`. The offset keeps the two repeated hours of a DST
/// fall-back apart.
pub(crate) fn file_stamp(unix: i64, tz: &Tz) -> String {
    let offset = tz.offset_secs(unix);
    let (y, mo, d, h, mi, s) = broken_down(unix + i64::from(offset));
    let mut out = String::with_capacity(20);
    push_year(&mut out, y);
    push_2(&mut out, mo);
    push_2(&mut out, d);
    out.push('T');
    push_2(&mut out, h);
    push_2(&mut out, mi);
    push_2(&mut out, s);
    push_offset(&mut out, offset, false);
    out
}

/// A time-based rotation period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Period {
    Hourly,
    Daily,
}

/// The start of the period containing `unix` and the start of the next one,
/// in the zone's local time. Daily periods follow the zone's calendar, so a
/// DST day lasts 23 or 25 hours.
pub(crate) fn period_bounds(period: Period, unix: i64, tz: &Tz) -> (i64, i64) {
    match period {
        Period::Hourly => {
            let offset = i64::from(tz.offset_secs(unix));
            let start = unix - (unix + offset).rem_euclid(3600);
            (start, start + 3600)
        }
        Period::Daily => match tz {
            Tz::Utc => {
                let start = unix - unix.rem_euclid(86_400);
                (start, start + 86_400)
            }
            Tz::Zone(zone) => daily_in_zone(unix, zone).unwrap_or_else(|| {
                let offset = i64::from(tz.offset_secs(unix));
                let start = unix - (unix + offset).rem_euclid(86_400);
                (start, start + 86_400)
            }),
        },
    }
}

fn daily_in_zone(unix: i64, zone: &TimeZone) -> Option<(i64, i64)> {
    let zoned = Timestamp::from_second(unix).ok()?.to_zoned(zone.clone());
    let start = zoned.start_of_day().ok()?;
    let next = zoned.tomorrow().ok()?.start_of_day().ok()?;
    Some((start.timestamp().as_second(), next.timestamp().as_second()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn utc_rfc3339() {
        let mut s = String::new();
        write_rfc3339(&mut s, at(1_795_430_231, 123_456_789), &Tz::Utc);
        assert_eq!(s, "2026-11-23T10:37:11.123456Z");
        s.clear();
        write_rfc3339(&mut s, at(0, 0), &Tz::Utc);
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
        s.clear();
        write_rfc3339(&mut s, at(951_782_400, 5_000), &Tz::Utc);
        assert_eq!(s, "2000-02-29T00:00:00.000005Z");
    }

    #[test]
    fn zoned_rfc3339_and_stamps_across_dst() {
        let tz = Tz::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        // 2026-11-01 05:30Z is 01:30 EDT; an hour later it is 01:30 EST.
        let first: i64 = 1_793_511_000;
        let at_i = |secs: i64| at(u64::try_from(secs).unwrap(), 0);
        let mut s = String::new();
        write_rfc3339(&mut s, at_i(first), &tz);
        assert_eq!(s, "2026-11-01T01:30:00.000000-04:00");
        s.clear();
        write_rfc3339(&mut s, at_i(first + 3600), &tz);
        assert_eq!(s, "2026-11-01T01:30:00.000000-05:00");
        assert_ne!(file_stamp(first, &tz), file_stamp(first + 3600, &tz));
        assert_eq!(file_stamp(first, &tz), "20261101T013000-0400");
        assert_eq!(parse_file_stamp("20261101T013000-0400"), Some(first));
        assert_eq!(parse_file_stamp("20261101T013000-0500"), Some(first + 3600));
        assert_eq!(parse_file_stamp("20261123T000000Z"), Some(1_795_392_000));
        assert_eq!(parse_file_stamp("2026112"), None);
        // The fall-back day lasts 25 hours.
        let (start, end) = period_bounds(Period::Daily, first, &tz);
        assert_eq!(end - start, 25 * 3600);
        let (h0, h1) = period_bounds(Period::Hourly, first + 3600, &tz);
        assert_eq!((h0, h1), (first + 1800, first + 5400));
    }

    #[test]
    fn utc_periods() {
        let t = 1_795_430_231;
        assert_eq!(
            period_bounds(Period::Hourly, t, &Tz::Utc),
            (1_795_428_000, 1_795_431_600)
        );
        assert_eq!(
            period_bounds(Period::Daily, t, &Tz::Utc),
            (1_795_392_000, 1_795_478_400)
        );
        assert_eq!(file_stamp(1_795_392_000, &Tz::Utc), "20261123T000000Z");
    }

    #[test]
    fn before_epoch() {
        assert_eq!(
            unix_parts(UNIX_EPOCH - Duration::from_millis(1500)),
            (-2, 500_000_000)
        );
    }
}

#[cfg(test)]
mod props {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn stamps_round_trip(unix in -62_135_596_800_i64..253_402_300_799, zone in 0_usize..3) {
            let tz = match zone {
                0 => Tz::Utc,
                1 => Tz::parse("EST5EDT,M3.2.0,M11.1.0").unwrap(),
                _ => Tz::parse("<+0530>-5:30").unwrap(),
            };
            prop_assert_eq!(parse_file_stamp(&file_stamp(unix, &tz)), Some(unix));
        }

        #[test]
        fn periods_contain_the_instant(unix in 0_i64..4_000_000_000, daily in any::<bool>()) {
            let tz = Tz::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
            let period = if daily { Period::Daily } else { Period::Hourly };
            let (start, end) = period_bounds(period, unix, &tz);
            prop_assert!(start <= unix && unix < end);
            prop_assert!((82_800..=90_000).contains(&(end - start)) || (!daily && end - start == 3600));
        }

        #[test]
        fn stamp_parser_never_panics(s in "\\PC{0,24}") {
            let _ = parse_file_stamp(&s);
        }
    }
}
