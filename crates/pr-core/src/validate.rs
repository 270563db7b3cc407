//! [`Validate`]: the rules a configuration type checks, every problem
//! reported at once, each at its key.
//!
//! Every crate's configuration implements [`Validate`], so a service's own
//! configuration nests the toolkit's sections (`v.nested("logging",
//! &self.logging)`) and each problem keeps its key (`logging.filter`) as a
//! [`Violation`], never as text split apart again. pr-config runs the rules
//! after loading and adds to each violation its code and the source of the
//! value (file and line, environment variable).

use std::fmt::{self, Display};

/// Rules a configuration type checks after loading, cross-field rules
/// included. Report every problem to the [`Validator`]; never put a value in
/// a message (say what is expected instead).
///
/// The default method accepts everything, so `impl Validate for MyConfig {}`
/// is enough for a type without rules.
///
/// # Examples
///
/// ```
/// use pr_core::validate::{Validate, Validator};
///
/// struct Pool { min: u32, max: u32 }
///
/// impl Validate for Pool {
///     fn validate(&self, v: &mut Validator) {
///         v.range("max", &self.max, &(1..=1000));
///         v.check(self.min <= self.max, "min", "must not be greater than `max`");
///     }
/// }
///
/// let mut v = Validator::new();
/// Pool { min: 5, max: 2 }.validate(&mut v);
/// assert_eq!(v.problems().len(), 1);
/// ```
pub trait Validate {
    /// Reports every problem to `v`.
    fn validate(&self, v: &mut Validator) {
        let _ = v;
    }
}

/// No settings, nothing to check (a service configuration with no
/// settings of its own).
impl Validate for () {}

/// One rule a configuration value breaks: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The dotted key path from the validated type (`files.0.path`).
    pub key: String,
    /// What is wrong, without the value (say what is expected instead).
    pub message: String,
}

impl Violation {
    /// A violation at `key`.
    #[must_use]
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// The violations as one line, `; ` between them (for an error's message).
#[must_use]
pub fn join(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs `value`'s rules on their own: `Ok` when it breaks none, else every
/// violation, keyed from `value`.
///
/// # Errors
///
/// Every [`Violation`], in the order the rules found them.
pub fn check<V: Validate + ?Sized>(value: &V) -> Result<(), Vec<Violation>> {
    let mut v = Validator::new();
    value.validate(&mut v);
    if v.problems.is_empty() {
        Ok(())
    } else {
        Err(v.problems)
    }
}

/// Collects violations, each with its key path.
#[derive(Debug, Default)]
pub struct Validator {
    prefix: String,
    problems: Vec<Violation>,
}

impl Validator {
    /// An empty validator.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else if key.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Reports a problem at `key` (relative to the current nesting).
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        let path = self.path(key);
        self.problems.push(Violation::new(path, message));
    }

    /// Reports `message` at `key` unless `ok`.
    pub fn check(&mut self, ok: bool, key: &str, message: impl Into<String>) {
        if !ok {
            self.error(key, message);
        }
    }

    /// Checks that `value` lies in `range`; the message names the range,
    /// not the value.
    pub fn range<N: PartialOrd + Display>(
        &mut self,
        key: &str,
        value: &N,
        range: &std::ops::RangeInclusive<N>,
    ) {
        if !range.contains(value) {
            self.error(
                key,
                format!("must be between {} and {}", range.start(), range.end()),
            );
        }
    }

    /// Checks that a string is not empty (after trimming).
    pub fn non_empty(&mut self, key: &str, value: &str) {
        self.check(!value.trim().is_empty(), key, "must not be empty");
    }

    /// Runs a nested type's rules under `key`.
    pub fn nested<V: Validate + ?Sized>(&mut self, key: &str, value: &V) {
        let saved = std::mem::take(&mut self.prefix);
        self.prefix = if saved.is_empty() {
            key.to_owned()
        } else {
            format!("{saved}.{key}")
        };
        value.validate(self);
        self.prefix = saved;
    }

    /// Runs the rules derived with garde (`#[derive(garde::Validate)]`) on
    /// `value` under `key` (empty for the top level), reporting each
    /// failure at its field's path (`tags[0]` becomes `tags.0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use pr_core::validate::{Validate, Validator};
    ///
    /// #[derive(garde::Validate)]
    /// struct Server {
    ///     #[garde(range(min = 1024))]
    ///     port: u16,
    ///     #[garde(length(min = 1))]
    ///     name: String,
    /// }
    ///
    /// impl Validate for Server {
    ///     fn validate(&self, v: &mut Validator) {
    ///         v.garde("", self);
    ///     }
    /// }
    ///
    /// let mut v = Validator::new();
    /// Server { port: 80, name: String::new() }.validate(&mut v);
    /// let keys: Vec<_> = v.problems().iter().map(|p| p.key.as_str()).collect();
    /// assert_eq!(keys, ["name", "port"]);
    /// ```
    #[cfg(feature = "garde")]
    #[cfg_attr(docsrs, doc(cfg(feature = "garde")))]
    pub fn garde<V>(&mut self, key: &str, value: &V)
    where
        V: garde::Validate + ?Sized,
        V::Context: Default,
    {
        if let Err(report) = value.validate() {
            for (path, error) in report.iter() {
                let path = path.to_string().replace('[', ".").replace(']', "");
                let path = path.trim_start_matches('.');
                let relative = match (key.is_empty(), path.is_empty()) {
                    (true, _) => path.to_owned(),
                    (false, true) => key.to_owned(),
                    (false, false) => format!("{key}.{path}"),
                };
                self.error(&relative, error.message());
            }
        }
    }

    /// The violations so far.
    #[must_use]
    pub fn problems(&self) -> &[Violation] {
        &self.problems
    }

    /// The violations, taken.
    #[must_use]
    pub fn into_problems(self) -> Vec<Violation> {
        self.problems
    }
}

/// Implements [`Validate`] for a settings type made of sections: each field
/// is validated at its own key (`api.limits`, `cache.max_size`), as
/// [`Validator::nested`] does; write the impl by hand for rules across
/// fields.
///
/// ```
/// use pr_core::validate::{Validate, Validator};
///
/// #[derive(Default)]
/// struct Pool { size: u32 }
/// impl Validate for Pool {
///     fn validate(&self, v: &mut Validator) {
///         v.range("size", &self.size, &(1..=64));
///     }
/// }
///
/// #[derive(Default)]
/// struct Settings { primary: Pool, replica: Pool }
/// pr_core::validate_fields!(Settings { primary, replica });
///
/// let problems = pr_core::validate::check(&Settings::default()).unwrap_err();
/// let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
/// assert_eq!(keys, ["primary.size", "replica.size"]);
/// ```
#[macro_export]
macro_rules! validate_fields {
    ($settings:ty { $($field:ident),+ $(,)? }) => {
        impl $crate::validate::Validate for $settings {
            fn validate(&self, v: &mut $crate::validate::Validator) {
                $( v.nested(stringify!($field), &self.$field); )+
            }
        }
    };
}
