//! Typed values that parse from human text: [`Duration`] (`"30s"`) and
//! [`ByteSize`] (`"64MiB"`).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration that reads `"30s"`, `"1m30s"`, `"250ms"`, `"2h"`, `"1d"` (units
/// `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, combinable), or a bare number of
/// seconds, and writes the same compact form.
///
/// # Examples
///
/// ```
/// use pr_core::units::Duration;
///
/// let d: Duration = "1m30s".parse()?;
/// assert_eq!(d.as_std(), std::time::Duration::from_secs(90));
/// assert_eq!(d.to_string(), "1m30s");
/// # Ok::<(), pr_core::units::ParseUnitError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

/// A byte size that reads `"64MiB"`, `"1.5GB"`, `"512"`, `"10 kB"` (SI units
/// `kB MB GB TB` are powers of 1000, IEC units `KiB MiB GiB TiB` powers of
/// 1024, `B` or no unit is bytes).
///
/// # Examples
///
/// ```
/// use pr_core::units::ByteSize;
///
/// let size: ByteSize = "64MiB".parse()?;
/// assert_eq!(size.as_u64(), 64 * 1024 * 1024);
/// assert_eq!(size.to_string(), "64MiB");
/// # Ok::<(), pr_core::units::ParseUnitError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Why a [`Duration`] or [`ByteSize`] did not parse. Never contains the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseUnitError(&'static str);

const DURATION_EXPECTED: &str = "a duration such as \"30s\", \"1m30s\" or \"250ms\"";
const BYTES_EXPECTED: &str = "a byte size such as \"64MiB\", \"1GB\" or \"512\"";

impl Duration {
    /// The standard-library duration.
    #[must_use]
    pub const fn as_std(self) -> std::time::Duration {
        self.0
    }

    /// A duration of `secs` seconds.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// A duration of `millis` milliseconds.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Self(d)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = ParseUnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = ParseUnitError(DURATION_EXPECTED);
        let s = s.trim();
        if s.is_empty() {
            return Err(err);
        }
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Self::from_secs(secs));
        }
        let mut total: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .ok_or(err.clone())?;
            if digits == 0 {
                return Err(err);
            }
            let number: u128 = rest[..digits].parse().map_err(|_| err.clone())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let nanos_per: u128 = match &rest[..unit_len] {
                "ns" => 1,
                "us" | "µs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "d" => 86_400_000_000_000,
                _ => return Err(err),
            };
            rest = &rest[unit_len..];
            total = number
                .checked_mul(nanos_per)
                .and_then(|n| total.checked_add(n))
                .ok_or(ParseUnitError("a duration that fits in 64-bit seconds"))?;
        }
        let secs = u64::try_from(total / 1_000_000_000)
            .map_err(|_| ParseUnitError("a duration that fits in 64-bit seconds"))?;
        let nanos = u32::try_from(total % 1_000_000_000).unwrap_or(0);
        Ok(Self(std::time::Duration::new(secs, nanos)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        for (unit, per) in [
            ("d", 86_400_000_000_000u128),
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
        ] {
            if nanos >= per {
                write!(f, "{}{unit}", nanos / per)?;
                nanos %= per;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DURATION_EXPECTED)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v).map(Duration::from_secs).map_err(|_| {
                    E::invalid_value(de::Unexpected::Other("a negative number"), &self)
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Other("text"), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl ByteSize {
    /// The size in bytes.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// `n` bytes.
    #[must_use]
    pub const fn from_bytes(n: u64) -> Self {
        Self(n)
    }

    /// `n` kibibytes.
    #[must_use]
    pub const fn kib(n: u64) -> Self {
        Self(n * 1024)
    }

    /// `n` mebibytes.
    #[must_use]
    pub const fn mib(n: u64) -> Self {
        Self(n * 1024 * 1024)
    }
}

impl FromStr for ByteSize {
    type Err = ParseUnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = ParseUnitError(BYTES_EXPECTED);
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = (&s[..split], s[split..].trim());
        if number.is_empty() {
            return Err(err);
        }
        let factor: u64 = match unit {
            "" | "B" | "b" => 1,
            "k" | "kB" | "KB" => 1_000,
            "M" | "MB" => 1_000_000,
            "G" | "GB" => 1_000_000_000,
            "T" | "TB" => 1_000_000_000_000,
            "Ki" | "KiB" => 1 << 10,
            "Mi" | "MiB" => 1 << 20,
            "Gi" | "GiB" => 1 << 30,
            "Ti" | "TiB" => 1 << 40,
            _ => return Err(err),
        };
        if let Ok(n) = number.parse::<u64>() {
            return n
                .checked_mul(factor)
                .map(Self)
                .ok_or(ParseUnitError("a byte size that fits in 64 bits"));
        }
        let n: f64 = number.parse().map_err(|_| err.clone())?;
        #[allow(
            clippy::cast_precision_loss,
            reason = "fractional sizes are approximate by nature"
        )]
        let bytes = (n * factor as f64).round();
        if !(0.0..1.8e19).contains(&bytes) {
            return Err(ParseUnitError("a byte size that fits in 64 bits"));
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "range checked above"
        )]
        Ok(Self(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, per) in [
            ("TiB", 1u64 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ] {
            if self.0 >= per && self.0.is_multiple_of(per) {
                return write!(f, "{}{unit}", self.0 / per);
            }
        }
        write!(f, "{}", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(BYTES_EXPECTED)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| {
                    E::invalid_value(de::Unexpected::Other("a negative number"), &self)
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Other("text"), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as \"30s\", \"1m30s\" or \"250ms\".",
        })
    }
}

#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
impl schemars::JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A byte size such as \"64MiB\", \"1GB\" or \"512\".",
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        for (text, ms) in [
            ("30s", 30_000),
            ("250ms", 250),
            ("1m30s", 90_000),
            ("2h", 7_200_000),
            ("1d", 86_400_000),
            ("15", 15_000),
        ] {
            assert_eq!(
                text.parse::<Duration>().unwrap().0.as_millis(),
                ms,
                "{text}"
            );
        }
        for bad in ["", "s", "30x", "1.5s", "-1s", "30 s x"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_sizes() {
        for (text, n) in [
            ("64MiB", 64 << 20),
            ("1GB", 1_000_000_000),
            ("512", 512),
            ("10 kB", 10_000),
            ("1.5KiB", 1536),
        ] {
            assert_eq!(text.parse::<ByteSize>().unwrap().0, n, "{text}");
        }
        for bad in ["", "MiB", "12XB", "-1"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn duration_display_roundtrips(nanos in 0u64..u64::MAX) {
            let d = Duration(std::time::Duration::from_nanos(nanos));
            prop_assert_eq!(d.to_string().parse::<Duration>().unwrap(), d);
        }

        #[test]
        fn bytesize_display_roundtrips(n in any::<u64>()) {
            let b = ByteSize(n);
            prop_assert_eq!(b.to_string().parse::<ByteSize>().unwrap(), b);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = s.parse::<Duration>();
            let _ = s.parse::<ByteSize>();
        }
    }
}
