//! How numbers and label values are written in the exposition text: shared
//! by the registry, which renders label sets once when a series is made,
//! and the exposition, which writes every sample, so that neither module
//! depends on the other for them.

/// Writes a float as both formats read it: `NaN`, `+Inf`, `-Inf`,
/// integers without a fraction, others in shortest round-trip form.
pub(crate) fn push_f64(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(value as i64));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(value));
    }
}

/// A float as [`push_f64`] writes it.
pub(crate) fn format_f64(value: f64) -> String {
    let mut out = String::new();
    push_f64(&mut out, value);
    out
}

/// Writes an integer.
pub(crate) fn push_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Escapes a label value: backslash, double quote and newline.
pub(crate) fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
