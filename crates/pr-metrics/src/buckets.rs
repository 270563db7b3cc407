//! Histogram bucket bounds: the Prometheus defaults and the linear and
//! exponential helpers.

use crate::Error;

/// The Prometheus client libraries' default buckets, in seconds: 5 ms to 10 s.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `count` bounds starting at `start`, each `width` above the previous one.
///
/// # Errors
///
/// [`Error::InvalidBuckets`] when `count` is 0 or `width` is not positive and finite.
pub fn linear(start: f64, width: f64, count: usize) -> Result<Vec<f64>, Error> {
    if count == 0 || !(width > 0.0 && width.is_finite()) || !start.is_finite() {
        return Err(Error::InvalidBuckets {
            name: "linear".to_owned(),
            reason: format!(
                "need count >= 1 and a positive finite width, got count {count}, width {width}"
            ),
        });
    }
    let bounds: Vec<f64> = (0..count).map(|i| start + width * i as f64).collect();
    validate("linear", &bounds)?;
    Ok(bounds)
}

/// `count` bounds starting at `start`, each `factor` times the previous one.
///
/// # Errors
///
/// [`Error::InvalidBuckets`] when `count` is 0, `start` is not positive or
/// `factor` is not above 1.
pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Vec<f64>, Error> {
    if count == 0 || !(start > 0.0 && start.is_finite()) || !(factor > 1.0 && factor.is_finite()) {
        return Err(Error::InvalidBuckets {
            name: "exponential".to_owned(),
            reason: format!(
                "need count >= 1, start > 0 and factor > 1, got count {count}, start {start}, factor {factor}"
            ),
        });
    }
    let mut bounds = Vec::with_capacity(count);
    let mut bound = start;
    for _ in 0..count {
        bounds.push(bound);
        bound *= factor;
    }
    validate("exponential", &bounds)?;
    Ok(bounds)
}

/// Checks that bounds are finite and strictly increasing. A trailing
/// `+Inf` is accepted and dropped by the caller (it is always implied).
pub(crate) fn validate(name: &str, bounds: &[f64]) -> Result<(), Error> {
    let fail = |reason: String| {
        Err(Error::InvalidBuckets {
            name: name.to_owned(),
            reason,
        })
    };
    if bounds.is_empty() {
        return fail("at least one finite bound is needed".to_owned());
    }
    for (i, bound) in bounds.iter().enumerate() {
        if !bound.is_finite() {
            return fail(format!("bound {i} is {bound}, not a finite number"));
        }
    }
    if let Some(i) = bounds.windows(2).position(|w| w[0] >= w[1]) {
        return fail(format!(
            "bounds must strictly increase, but bound {} ({}) is not above bound {i} ({})",
            i + 1,
            bounds[i + 1],
            bounds[i]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_errors::CodedError;

    #[test]
    fn helpers() {
        assert_eq!(linear(1.0, 2.0, 3).unwrap(), vec![1.0, 3.0, 5.0]);
        assert_eq!(exponential(1.0, 10.0, 3).unwrap(), vec![1.0, 10.0, 100.0]);
        assert!(validate("default", &DEFAULT_BUCKETS).is_ok());
        for err in [
            linear(0.0, 0.0, 3).unwrap_err(),
            exponential(0.0, 2.0, 3).unwrap_err(),
            exponential(1.0, 1.0, 3).unwrap_err(),
            validate("x", &[1.0, 1.0]).unwrap_err(),
            validate("x", &[f64::NAN]).unwrap_err(),
            validate("x", &[]).unwrap_err(),
        ] {
            assert_eq!(err.code().as_str(), "metrics.invalid_buckets");
        }
    }
}
