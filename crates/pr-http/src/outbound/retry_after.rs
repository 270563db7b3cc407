//! `Retry-After` (RFC 9110, section 10.2.3) as a server's 429 or 5xx sends
//! it: delta-seconds or an HTTP-date, bounded.
//!
//! A server's header is input like any other: a value that does not parse
//! (a negative number, a float, twenty digits, a date in another format) is
//! ignored, and the retry falls back on its backoff; a value that parses is
//! cut to the client's maximum, so that a broken or hostile server cannot
//! park a call for a day. A date in the past means now.

use std::time::{Duration, SystemTime};

/// The longest header value read: an HTTP-date is 29 characters, and no
/// useful delta-seconds is longer.
const MAX_LEN: usize = 64;

/// The wait a `Retry-After` value asks for, at most `max`; `None` when it
/// does not parse. `now` is the wall time an HTTP-date is counted from.
pub(crate) fn parse(value: &[u8], now: SystemTime, max: Duration) -> Option<Duration> {
    if value.len() > MAX_LEN {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?.trim_matches([' ', '\t']);
    let wait = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Any number of digits is valid; one past u64 is absurd and ignored.
        Duration::from_secs(text.parse::<u64>().ok()?)
    } else {
        let at = httpdate::parse_http_date(text).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: Duration = Duration::from_secs(60);

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn delta_seconds_and_dates_are_read_and_bounded() {
        let now = at(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        let p = |text: &str| parse(text.as_bytes(), now, MAX);
        assert_eq!(p("1"), Some(Duration::from_secs(1)));
        assert_eq!(p(" 0 "), Some(Duration::ZERO));
        assert_eq!(p("120"), Some(MAX));
        assert_eq!(p("99999999999999999999999"), None);
        assert_eq!(
            p("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(p("Wed, 21 Oct 2015 09:00:00 GMT"), Some(MAX));
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "0x10",
            "+3",
            "2015-10-21T07:28:30Z",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
        assert_eq!(parse(&[b'1'; 65], now, MAX), None);
        assert_eq!(parse(&[0xff, b'1'], now, MAX), None);
    }

    proptest! {
        #[test]
        fn any_value_is_ignored_or_bounded(value in proptest::collection::vec(any::<u8>(), 0..80), now in 0u64..4_000_000_000) {
            if let Some(wait) = parse(&value, at(now), MAX) {
                prop_assert!(wait <= MAX);
            }
        }

        #[test]
        fn delta_seconds_are_exact_below_the_bound(secs in 0u64..=60) {
            prop_assert_eq!(
                parse(secs.to_string().as_bytes(), at(0), MAX),
                Some(Duration::from_secs(secs))
            );
        }
    }
}
