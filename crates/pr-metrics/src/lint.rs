//! Registration-time checks of names, units and labels, following the rules
//! of `promtool check metrics` (`client_golang`'s `promlint`). A name that
//! breaks one is refused with a coded [`Error`], never rewritten.

use metrics::Unit;

use crate::{Error, LintRule, MetricKind};

/// The label of the series that takes a metric's samples past its label-set
/// limit (`metric_overflow="true"`): reserved, so no series may use it.
pub(crate) const OVERFLOW_LABEL: &str = "metric_overflow";

/// Base units by name, and what a non-base unit should be instead (promlint's table).
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("ratio", "ratio"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
    ("percent", "ratio"),
];

const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mebi", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

const ABBREVIATIONS: &[&str] = &[
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// promlint's camelCase test: a lower-case letter followed by an upper-case one.
fn is_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

fn lint(name: &str, rule: LintRule) -> Error {
    Error::Lint {
        name: name.to_owned(),
        rule,
    }
}

/// The name suffix a facade [`Unit`] requires, or the lint error for a
/// non-base unit. `Count` (and no unit) need no suffix.
pub(crate) fn unit_suffix(name: &str, unit: Unit) -> Result<Option<&'static str>, Error> {
    let base = match unit {
        Unit::Count => return Ok(None),
        Unit::Seconds => return Ok(Some("seconds")),
        Unit::Bytes => return Ok(Some("bytes")),
        Unit::Milliseconds | Unit::Microseconds | Unit::Nanoseconds => "seconds",
        Unit::Percent => "ratio",
        Unit::Tebibytes | Unit::Gibibytes | Unit::Mebibytes | Unit::Kibibytes => "bytes",
        // Rates are computed by `rate()` from counters of base units.
        Unit::CountPerSecond => "a counter (`rate()` gives the per-second value)",
        _ => "a counter of bytes (`rate()` gives the per-second value)",
    };
    Err(lint(
        name,
        LintRule::NonBaseUnit {
            found: unit.as_str().to_owned(),
            base,
        },
    ))
}

/// Checks a metric name for `kind`, with its unit when known.
pub(crate) fn check_name(name: &str, kind: MetricKind, unit: Option<Unit>) -> Result<(), Error> {
    if !is_identifier(name) {
        return Err(lint(name, LintRule::InvalidName));
    }
    if is_camel_case(name) {
        return Err(lint(
            name,
            LintRule::NotSnakeCase {
                name: name.to_owned(),
            },
        ));
    }
    let lower = name.to_ascii_lowercase();
    let has_total = lower.ends_with("_total");
    match kind {
        MetricKind::Counter if !has_total => {
            return Err(lint(name, LintRule::CounterWithoutTotal));
        }
        MetricKind::Gauge | MetricKind::Histogram | MetricKind::Summary if has_total => {
            return Err(lint(name, LintRule::TotalOnNonCounter));
        }
        _ => {}
    }
    // The family's name as `OpenMetrics` sees it: without `_total`.
    let family = if has_total {
        &lower[..lower.len() - "_total".len()]
    } else {
        lower.as_str()
    };
    for suffix in [
        "_bucket", "_count", "_sum", "_created", "_gsum", "_gcount", "_info",
    ] {
        if family.ends_with(suffix) {
            return Err(lint(name, LintRule::ReservedSuffix { suffix }));
        }
    }
    for kind_name in ["counter", "gauge", "histogram", "summary"] {
        if lower.ends_with(&format!("_{kind_name}")) || lower.contains(&format!("_{kind_name}_")) {
            let kind = match kind_name {
                "counter" => MetricKind::Counter,
                "gauge" => MetricKind::Gauge,
                "histogram" => MetricKind::Histogram,
                _ => MetricKind::Summary,
            };
            return Err(lint(name, LintRule::TypeInName { kind }));
        }
    }
    for token in lower.split('_') {
        if let Some(base) = base_unit_of(token)
            && base != token
        {
            return Err(lint(
                name,
                LintRule::NonBaseUnit {
                    found: token.to_owned(),
                    base,
                },
            ));
        }
    }
    for &abbreviation in ABBREVIATIONS {
        if lower.ends_with(&format!("_{abbreviation}"))
            || lower.contains(&format!("_{abbreviation}_"))
        {
            return Err(lint(name, LintRule::AbbreviatedUnit { abbreviation }));
        }
    }
    if let Some(unit) = unit
        && let Some(suffix) = unit_suffix(name, unit)?
        && !family.ends_with(&format!("_{suffix}"))
    {
        return Err(lint(name, LintRule::UnitSuffix { unit: suffix }));
    }
    Ok(())
}

/// The base unit a name token stands for, if it is a unit (a prefixed
/// unit such as `milliseconds` maps to its base, `seconds`).
fn base_unit_of(token: &str) -> Option<&'static str> {
    let find = |t: &str| UNITS.iter().find(|(u, _)| *u == t).map(|(_, base)| *base);
    find(token).or_else(|| {
        UNIT_PREFIXES
            .iter()
            .find_map(|prefix| token.strip_prefix(prefix).and_then(find))
    })
}

/// Checks one label name against the reserved ones and the global labels.
/// `le` and `quantile` are refused on every kind: the exposition adds them
/// to histograms and summaries, and any histogram may be exposed as a summary.
pub(crate) fn check_label(
    metric: &str,
    label: &str,
    global: &[(String, String)],
) -> Result<(), Error> {
    if !is_identifier(label) {
        return Err(lint(
            metric,
            LintRule::InvalidLabel {
                label: label.to_owned(),
            },
        ));
    }
    if is_camel_case(label) {
        return Err(lint(
            metric,
            LintRule::NotSnakeCase {
                name: label.to_owned(),
            },
        ));
    }
    let reserved = label.starts_with("__")
        || label == "le"
        || label == "quantile"
        || label == OVERFLOW_LABEL
        || global.iter().any(|(g, _)| g == label);
    if reserved {
        return Err(lint(
            metric,
            LintRule::ReservedLabel {
                label: label.to_owned(),
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_errors::CodedError;

    fn code(name: &str, kind: MetricKind, unit: Option<Unit>) -> &'static str {
        match check_name(name, kind, unit) {
            Ok(()) => "ok",
            Err(e) => e.code().as_str(),
        }
    }

    #[test]
    fn good_names_pass() {
        for (name, kind, unit) in [
            ("http_requests_total", MetricKind::Counter, None),
            (
                "http_request_duration_seconds",
                MetricKind::Histogram,
                Some(Unit::Seconds),
            ),
            (
                "process_resident_memory_bytes",
                MetricKind::Gauge,
                Some(Unit::Bytes),
            ),
            (
                "io_read_bytes_total",
                MetricKind::Counter,
                Some(Unit::Bytes),
            ),
            ("queue_depth", MetricKind::Gauge, Some(Unit::Count)),
            ("cache_hit_ratio", MetricKind::Gauge, None),
            ("_private", MetricKind::Gauge, None),
        ] {
            assert_eq!(code(name, kind, unit), "ok", "{name}");
        }
    }

    #[test]
    fn bad_names_have_codes() {
        for (name, kind, unit, expected) in [
            ("", MetricKind::Gauge, None, "metrics.invalid_name"),
            ("9lives", MetricKind::Gauge, None, "metrics.invalid_name"),
            (
                "rule:recorded",
                MetricKind::Gauge,
                None,
                "metrics.invalid_name",
            ),
            ("with-dash", MetricKind::Gauge, None, "metrics.invalid_name"),
            (
                "httpRequests_total",
                MetricKind::Counter,
                None,
                "metrics.not_snake_case",
            ),
            (
                "http_requests",
                MetricKind::Counter,
                None,
                "metrics.counter_without_total",
            ),
            (
                "temperature_total",
                MetricKind::Gauge,
                None,
                "metrics.total_on_non_counter",
            ),
            (
                "latency_bucket",
                MetricKind::Gauge,
                None,
                "metrics.reserved_suffix",
            ),
            (
                "jobs_count",
                MetricKind::Gauge,
                None,
                "metrics.reserved_suffix",
            ),
            (
                "jobs_created_total",
                MetricKind::Counter,
                None,
                "metrics.reserved_suffix",
            ),
            (
                "requests_counter_total",
                MetricKind::Counter,
                None,
                "metrics.type_in_name",
            ),
            (
                "latency_histogram",
                MetricKind::Histogram,
                None,
                "metrics.type_in_name",
            ),
            (
                "latency_milliseconds",
                MetricKind::Histogram,
                None,
                "metrics.non_base_unit",
            ),
            (
                "uptime_hours",
                MetricKind::Gauge,
                None,
                "metrics.non_base_unit",
            ),
            (
                "disk_kilobytes",
                MetricKind::Gauge,
                None,
                "metrics.non_base_unit",
            ),
            (
                "cpu_percent",
                MetricKind::Gauge,
                None,
                "metrics.non_base_unit",
            ),
            (
                "latency_ms",
                MetricKind::Histogram,
                None,
                "metrics.abbreviated_unit",
            ),
            (
                "latency_sec_max",
                MetricKind::Gauge,
                None,
                "metrics.abbreviated_unit",
            ),
            (
                "latency",
                MetricKind::Histogram,
                Some(Unit::Seconds),
                "metrics.unit_suffix",
            ),
            (
                "latency_seconds",
                MetricKind::Histogram,
                Some(Unit::Milliseconds),
                "metrics.non_base_unit",
            ),
            (
                "usage_ratio",
                MetricKind::Gauge,
                Some(Unit::Percent),
                "metrics.non_base_unit",
            ),
        ] {
            assert_eq!(code(name, kind, unit), expected, "{name}");
        }
    }

    proptest::proptest! {
        /// Any name: accepted or refused with a code, never a panic, and a
        /// name with a character outside the alphabet is always refused.
        #[test]
        fn any_name_is_accepted_or_refused_with_a_code(name in ".{0,40}") {
            for kind in [MetricKind::Counter, MetricKind::Gauge, MetricKind::Histogram] {
                match check_name(&name, kind, None) {
                    Ok(()) => proptest::prop_assert!(is_identifier(&name)),
                    Err(e) => proptest::prop_assert!(e.code().as_str().starts_with("metrics.")),
                }
            }
        }

        /// Well-formed snake-case counters with `_total` pass.
        #[test]
        fn snake_case_counters_pass(words in proptest::collection::vec("(alpha|beta|jobs|queue|cache|hits|misses)", 1..4)) {
            let name = format!("{}_total", words.join("_"));
            proptest::prop_assert!(check_name(&name, MetricKind::Counter, None).is_ok(), "{}", name);
        }
    }

    #[test]
    fn labels() {
        let global = vec![("service".to_owned(), "api".to_owned())];
        let check = |l: &str| match check_label("m", l, &global) {
            Ok(()) => "ok",
            Err(e) => e.code().as_str(),
        };
        assert_eq!(check("method"), "ok");
        assert_eq!(check("status_code"), "ok");
        assert_eq!(check("__name__"), "metrics.reserved_label");
        assert_eq!(check("le"), "metrics.reserved_label");
        assert_eq!(check("quantile"), "metrics.reserved_label");
        assert_eq!(check("service"), "metrics.reserved_label");
        assert_eq!(check("bad-label"), "metrics.invalid_label");
        assert_eq!(check("0abc"), "metrics.invalid_label");
        assert_eq!(check("statusCode"), "metrics.not_snake_case");
    }
}
