//! Exposition: Prometheus text 0.0.4 and `OpenMetrics` 1.0, and choosing
//! between them from an `Accept` header.

use std::fmt;

use crate::MetricKind;
use crate::exemplar::push_exemplar;
use crate::literal::{push_f64, push_u64};
use crate::registry::{CellRef, Family, Registry, Series};
use pr_core::sync::read;

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExpositionFormat {
    /// Prometheus text format 0.0.4.
    #[default]
    Prometheus,
    /// `OpenMetrics` 1.0 text (`# EOF`, `_created`, `# UNIT`).
    OpenMetrics,
}

impl ExpositionFormat {
    /// The `Content-Type` of a response in this format.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format a scraper asks for: `OpenMetrics` when the `Accept` header
    /// names `application/openmetrics-text` with a quality at least that of
    /// any other acceptable type, Prometheus text otherwise.
    #[must_use]
    pub fn from_accept(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Prometheus;
        };
        let mut openmetrics = 0.0f64;
        let mut other = 0.0f64;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            if media == "application/openmetrics-text" {
                openmetrics = openmetrics.max(quality);
            } else if media == "text/plain" || media == "*/*" || media == "text/*" {
                other = other.max(quality);
            }
        }
        if openmetrics > 0.0 && openmetrics >= other {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }
}

impl fmt::Display for ExpositionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prometheus => "prometheus",
            Self::OpenMetrics => "openmetrics",
        })
    }
}

/// Escapes HELP text: backslash and newline (and, in `OpenMetrics`, the quote).
fn escape_help(out: &mut String, help: &str, format: ExpositionFormat) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == ExpositionFormat::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `name{labels,extra} ` (without braces when there are no labels).
fn push_series_start(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &str,
    extra: Option<(&str, &str)>,
) {
    out.push_str(name);
    out.push_str(suffix);
    match (labels.is_empty(), extra) {
        (true, None) => {}
        (false, None) => {
            out.push('{');
            out.push_str(labels);
            out.push('}');
        }
        (empty, Some((k, v))) => {
            out.push('{');
            out.push_str(labels);
            if !empty {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(v);
            out.push('"');
            out.push('}');
        }
    }
    out.push(' ');
}

impl Registry {
    /// Renders every metric in `format`. Runs [`upkeep`](Self::upkeep)
    /// first. Safe to call from many threads at once.
    #[must_use]
    pub fn render(&self, format: ExpositionFormat) -> String {
        let mut out = String::new();
        self.render_into(&mut out, format);
        out
    }

    /// Renders every metric into `out` (appending).
    pub fn render_into(&self, out: &mut String, format: ExpositionFormat) {
        self.upkeep();
        let families = read(&self.inner.families);
        for family in families.values() {
            self.render_family(out, family, format);
        }
        if format == ExpositionFormat::OpenMetrics {
            out.push_str("# EOF\n");
        }
    }

    fn render_family(&self, out: &mut String, family: &Family, format: ExpositionFormat) {
        let series = read(&family.series);
        let overflow = family.overflow.get();
        if series.is_empty() && overflow.is_none() {
            return;
        }
        let meta = read(&family.meta).clone();
        let name = family.name.as_str();
        // `OpenMetrics` names a counter family without `_total`.
        let family_name = match (format, family.kind) {
            (ExpositionFormat::OpenMetrics, MetricKind::Counter) => {
                name.strip_suffix("_total").unwrap_or(name)
            }
            _ => name,
        };
        if let Some(help) = &meta.help {
            out.push_str("# HELP ");
            out.push_str(family_name);
            out.push(' ');
            escape_help(out, help, format);
            out.push('\n');
        }
        out.push_str("# TYPE ");
        out.push_str(family_name);
        out.push(' ');
        out.push_str(family.kind.as_str());
        out.push('\n');
        if format == ExpositionFormat::OpenMetrics
            && let Some(unit) = meta.unit
        {
            out.push_str("# UNIT ");
            out.push_str(family_name);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
        for s in series.values().chain(overflow) {
            self.render_series(out, family, family_name, s, format);
        }
    }

    fn render_series(
        &self,
        out: &mut String,
        family: &Family,
        name: &str,
        series: &Series,
        format: ExpositionFormat,
    ) {
        let labels = series.labels_text.as_str();
        let om = format == ExpositionFormat::OpenMetrics;
        match &series.cell {
            CellRef::Counter(cell) => {
                push_series_start(out, name, if om { "_total" } else { "" }, labels, None);
                push_u64(out, cell.value());
                if om && let Some(exemplar) = cell.exemplar() {
                    push_exemplar(out, &exemplar);
                }
                out.push('\n');
            }
            CellRef::Gauge(cell) => {
                push_series_start(out, name, "", labels, None);
                push_f64(out, cell.value());
                out.push('\n');
            }
            CellRef::Histogram(cell) => {
                let read = cell.read();
                if family.kind == MetricKind::Summary {
                    let quantiles = cell.sketch.quantiles(
                        &self.inner.config.summary_quantiles,
                        read.min,
                        read.max,
                    );
                    for (q, value) in self.inner.quantile_texts.iter().zip(quantiles) {
                        push_series_start(out, name, "", labels, Some(("quantile", q)));
                        push_f64(out, value.unwrap_or(f64::NAN));
                        out.push('\n');
                    }
                } else {
                    let les = family.le_texts.iter().map(String::as_str).chain(["+Inf"]);
                    let counts = read.cumulative.iter().copied().chain([read.count]);
                    for (index, (le, count)) in les.zip(counts).enumerate() {
                        push_series_start(out, name, "_bucket", labels, Some(("le", le)));
                        push_u64(out, count);
                        // 0.0.4 has no exemplars.
                        if om && let Some(exemplar) = cell.exemplar(index) {
                            push_exemplar(out, &exemplar);
                        }
                        out.push('\n');
                    }
                }
                push_series_start(out, name, "_sum", labels, None);
                push_f64(out, read.sum);
                out.push('\n');
                push_series_start(out, name, "_count", labels, None);
                push_u64(out, read.count);
                out.push('\n');
            }
        }
        if om && !matches!(series.cell, CellRef::Gauge(_)) {
            push_series_start(out, name, "_created", labels, None);
            push_f64(out, series.created);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::literal::{escape_label_value, format_f64};

    #[test]
    fn accept_negotiation() {
        let prometheus_scraper = "application/openmetrics-text;version=1.0.0;q=0.5,\
            application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(
            ExpositionFormat::from_accept(Some(prometheus_scraper)),
            ExpositionFormat::OpenMetrics
        );
        assert_eq!(
            ExpositionFormat::from_accept(Some("text/plain")),
            ExpositionFormat::Prometheus
        );
        assert_eq!(
            ExpositionFormat::from_accept(Some("*/*")),
            ExpositionFormat::Prometheus
        );
        assert_eq!(
            ExpositionFormat::from_accept(None),
            ExpositionFormat::Prometheus
        );
        assert_eq!(
            ExpositionFormat::from_accept(Some("application/openmetrics-text")),
            ExpositionFormat::OpenMetrics
        );
        assert_eq!(
            ExpositionFormat::from_accept(Some("application/openmetrics-text;q=0,text/plain")),
            ExpositionFormat::Prometheus
        );
        assert_eq!(
            ExpositionFormat::from_accept(Some(
                "text/plain;q=0.9, application/openmetrics-text;q=0.5"
            )),
            ExpositionFormat::Prometheus
        );
    }

    fn unescape(escaped: &str) -> String {
        let mut out = String::new();
        let mut chars = escaped.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => panic!("dangling backslash in {escaped:?}"),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn label_values_escape_reversibly(value in ".*") {
            let mut escaped = String::new();
            escape_label_value(&mut escaped, &value);
            proptest::prop_assert!(!escaped.contains('\n'));
            // Every quote is escaped, so the value cannot end the label early.
            let unescaped_quotes = escaped
                .char_indices()
                .filter(|(i, c)| *c == '"' && escaped[..*i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 0)
                .count();
            proptest::prop_assert_eq!(unescaped_quotes, 0);
            proptest::prop_assert_eq!(unescape(&escaped), value);
        }

        #[test]
        fn accept_never_panics(header in ".*") {
            let _ = ExpositionFormat::from_accept(Some(&header));
        }
    }

    #[test]
    fn floats_and_escapes() {
        assert_eq!(format_f64(1.0), "1");
        assert_eq!(format_f64(0.005), "0.005");
        assert_eq!(format_f64(f64::INFINITY), "+Inf");
        assert_eq!(format_f64(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_f64(f64::NAN), "NaN");
        assert_eq!(format_f64(1e20), "1e20");
        let mut out = String::new();
        escape_label_value(&mut out, "a\"b\\c\nd");
        assert_eq!(out, r#"a\"b\\c\nd"#);
        let mut out = String::new();
        escape_help(&mut out, "x \"y\" \\ \n", ExpositionFormat::Prometheus);
        assert_eq!(out, r#"x "y" \\ \n"#);
    }
}
