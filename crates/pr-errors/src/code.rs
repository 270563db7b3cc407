//! Stable error codes and the per-crate catalogue that lists them.
//!
//! A code is written once, in a [`codes!`](macro@crate::codes) block, together with
//! its HTTP status, retry class, whether its message may be shown to a client,
//! and one line saying what it means. Everything else (the trait methods, the
//! problem details, `docs/error-codes.md`) reads that one entry.

use std::fmt;

use http::StatusCode;

use crate::RetryClass;

/// A stable error code of the form `area.reason`, e.g. `resilience.circuit_open`.
///
/// Both parts are lowercase ASCII snake case (`[a-z][a-z0-9_]*`). Codes are
/// part of a crate's public contract: once released, a code keeps its meaning.
/// Build one with [`Code::new`] in a `const` (the [`codes!`](macro@crate::codes)
/// macro does), so that a malformed code fails the build instead of a run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(&'static str);

impl Code {
    /// Checks `code` and wraps it.
    ///
    /// # Panics
    ///
    /// Panics when `code` is not `area.reason` in lowercase snake case. Use it
    /// in a `const` item, where that panic is a compile error.
    #[must_use]
    pub const fn new(code: &'static str) -> Self {
        assert!(
            is_valid_code(code),
            "error code must be `area.reason` in lowercase snake case"
        );
        Self(code)
    }

    /// The code as text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The part before the dot: the area that owns the code.
    #[must_use]
    pub fn area(self) -> &'static str {
        self.0.split_once('.').map_or(self.0, |(area, _)| area)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// Whether `code` is `area.reason`, both parts `[a-z][a-z0-9_]*`.
#[must_use]
pub const fn is_valid_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    let mut i = 0;
    let mut dots = 0;
    let mut at_part_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'.' {
            if at_part_start {
                return false;
            }
            dots += 1;
            at_part_start = true;
        } else if at_part_start {
            if !b.is_ascii_lowercase() {
                return false;
            }
            at_part_start = false;
        } else if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    dots == 1 && !at_part_start
}

/// One entry of a crate's error-code catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The stable code.
    pub code: Code,
    /// The HTTP status an API answers with when this error reaches a client.
    pub status: StatusCode,
    /// The retry class of every error with this code; an error may add a
    /// `retry_after` at run time (see [`CodedError::retry`](crate::CodedError::retry)).
    pub retry: RetryClass,
    /// Whether the error's message is safe to show to a client. Messages of
    /// non-public codes stay in logs; clients see only the code and status.
    pub public: bool,
    /// One line saying what the code means, for people reading the catalogue.
    pub meaning: &'static str,
}

impl CodeInfo {
    /// Builds an entry; used by the [`codes!`](macro@crate::codes) macro.
    #[must_use]
    pub const fn new(
        code: Code,
        status: StatusCode,
        retry: RetryClass,
        public: bool,
        meaning: &'static str,
    ) -> Self {
        Self {
            code,
            status,
            retry,
            public,
            meaning,
        }
    }
}

/// Every code one crate defines, with the crate's name.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Catalogue {
    /// The crate that owns the codes (its package name).
    pub crate_name: &'static str,
    /// The codes, in the order they were written.
    pub entries: &'static [CodeInfo],
}

impl Catalogue {
    /// Builds a catalogue; used by the [`codes!`](macro@crate::codes) macro.
    ///
    /// # Panics
    ///
    /// Panics when two entries share a code. Use it in a `const` or `static`,
    /// where that panic is a compile error.
    #[must_use]
    pub const fn new(crate_name: &'static str, entries: &'static [CodeInfo]) -> Self {
        assert!(
            first_duplicate(entries).is_none(),
            "two entries of one catalogue share a code"
        );
        Self {
            crate_name,
            entries,
        }
    }

    /// The entry for `code`, if this catalogue has it.
    #[must_use]
    pub fn find(&self, code: &str) -> Option<&'static CodeInfo> {
        self.entries.iter().find(|info| info.code.as_str() == code)
    }
}

/// Index of the first entry whose code an earlier entry already used.
const fn first_duplicate(entries: &[CodeInfo]) -> Option<usize> {
    let mut i = 0;
    while i < entries.len() {
        let mut j = 0;
        while j < i {
            if str_eq(entries[i].code.0, entries[j].code.0) {
                return Some(i);
            }
            j += 1;
        }
        i += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A code that two catalogues (or two crates) both define.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DuplicateCode {
    /// The code defined twice.
    pub code: Code,
    /// The crate that defined it first.
    pub first: &'static str,
    /// The crate that defined it again.
    pub second: &'static str,
}

impl fmt::Display for DuplicateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error code `{}` is defined by both `{}` and `{}`",
            self.code, self.first, self.second
        )
    }
}

/// Checks that no code appears twice across `catalogues`, reporting every
/// duplicate at once.
///
/// # Errors
///
/// Returns each [`DuplicateCode`] found.
pub fn check_unique(catalogues: &[&Catalogue]) -> Result<(), Vec<DuplicateCode>> {
    let mut seen = std::collections::HashMap::new();
    let mut duplicates = Vec::new();
    for catalogue in catalogues {
        for info in catalogue.entries {
            if let Some(first) = seen.insert(info.code, catalogue.crate_name) {
                duplicates.push(DuplicateCode {
                    code: info.code,
                    first,
                    second: catalogue.crate_name,
                });
            }
        }
    }
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(duplicates)
    }
}

/// Renders `catalogues` as the Markdown page `docs/error-codes.md`: one table
/// row per code (code, crate, HTTP status, retry class, client-visible
/// message, meaning), sorted by code so the page is stable.
#[must_use]
pub fn render_markdown(catalogues: &[&Catalogue]) -> String {
    use fmt::Write as _;

    let mut rows: Vec<(&CodeInfo, &str)> = catalogues
        .iter()
        .flat_map(|c| c.entries.iter().map(move |info| (info, c.crate_name)))
        .collect();
    rows.sort_by_key(|(info, _)| info.code);

    let mut out = String::from(
        "<!-- Generated from the crates' `codes!` catalogues; do not edit by hand.\n     \
         Regenerate with `PR_BLESS=1 cargo test -p pr-facade --all-features --test it -- catalogue`. -->\n\n\
         # Error codes\n\n\
         Every error the workspace returns carries one of these stable codes. The HTTP status is what an \
         API answers with; the retry class says whether trying again can help; \"message shown\" says \
         whether the error's message may reach a client (otherwise clients see only the code and status).\n\n\
         | code | crate | HTTP status | retry | message shown | meaning |\n\
         |---|---|---|---|---|---|\n",
    );
    for (info, crate_name) in rows {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} | {} |",
            info.code,
            crate_name,
            info.status.as_u16(),
            info.retry.class(),
            if info.public { "yes" } else { "no" },
            info.meaning.replace('|', "\\|"),
        );
    }
    out
}

/// Defines a crate's error codes and its [`Catalogue`] in one place.
///
/// Each entry is a doc comment (its first line becomes the catalogue's
/// `meaning`), a constant name, the code, the HTTP status (a
/// [`StatusCode`](http::StatusCode) constant name), `transient` or
/// `permanent`, and optionally `public` when the message may reach a client.
/// A malformed or duplicated code is a compile error.
///
/// # Examples
///
/// ```
/// pr_errors::codes! {
///     /// Every code of this crate.
///     pub static CODES;
///
///     /// The upstream did not answer in time.
///     pub UPSTREAM_TIMEOUT = "upstream.timeout", GATEWAY_TIMEOUT, transient;
///     /// The request named an order that does not exist.
///     pub ORDER_NOT_FOUND = "orders.not_found", NOT_FOUND, permanent, public;
/// }
///
/// assert_eq!(CODES.entries.len(), 2);
/// assert_eq!(ORDER_NOT_FOUND.code.as_str(), "orders.not_found");
/// assert_eq!(UPSTREAM_TIMEOUT.meaning, "The upstream did not answer in time.");
/// ```
///
/// A code that is not `area.reason` in lowercase snake case does not build:
///
/// ```compile_fail
/// pr_errors::codes! {
///     /// Codes.
///     static CODES;
///     /// Bad.
///     BAD = "Orders.NotFound", NOT_FOUND, permanent;
/// }
/// ```
///
/// Neither does a code written twice:
///
/// ```compile_fail
/// pr_errors::codes! {
///     /// Codes.
///     static CODES;
///     /// One.
///     ONE = "orders.gone", GONE, permanent;
///     /// Two.
///     TWO = "orders.gone", GONE, permanent;
/// }
/// ```
#[macro_export]
macro_rules! codes {
    (
        $(#[$catalogue_meta:meta])*
        $catalogue_vis:vis static $catalogue:ident;
        $(
            #[doc = $meaning:literal]
            $(#[doc = $more_doc:literal])*
            $vis:vis $name:ident = $code:literal, $status:ident, $retry:ident $(, $public:ident)?;
        )+
    ) => {
        $(#[$catalogue_meta])*
        $catalogue_vis static $catalogue: $crate::Catalogue = $crate::Catalogue::new(
            ::core::env!("CARGO_PKG_NAME"),
            &[$($name),+],
        );
        $(
            #[doc = $meaning]
            $(#[doc = $more_doc])*
            #[doc = ""]
            #[doc = ::core::concat!("Code `", $code, "`.")]
            $vis const $name: $crate::CodeInfo = $crate::CodeInfo::new(
                $crate::Code::new($code),
                $crate::__private::StatusCode::$status,
                $crate::__codes_retry!($retry),
                $crate::__codes_public!($($public)?),
                $meaning.trim_ascii(),
            );
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __codes_retry {
    (transient) => {
        $crate::RetryClass::TRANSIENT
    };
    (permanent) => {
        $crate::RetryClass::Permanent
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __codes_public {
    () => {
        false
    };
    (public) => {
        true
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_syntax() {
        for good in [
            "a.b",
            "resilience.circuit_open",
            "config.invalid_value",
            "x1.y_2",
        ] {
            assert!(is_valid_code(good), "{good}");
        }
        for bad in [
            "", ".", "a.", ".b", "a", "a.b.c", "A.b", "a.B", "1a.b", "a._b", "a-b.c", "a.b ", "é.b",
        ] {
            assert!(!is_valid_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn area_is_the_part_before_the_dot() {
        assert_eq!(Code::new("cache.miss").area(), "cache");
    }

    #[test]
    fn duplicates_across_catalogues_are_all_reported() {
        const A: CodeInfo = CodeInfo::new(
            Code::new("a.one"),
            StatusCode::BAD_REQUEST,
            RetryClass::Permanent,
            true,
            "one",
        );
        const B: CodeInfo = CodeInfo::new(
            Code::new("a.two"),
            StatusCode::BAD_REQUEST,
            RetryClass::Permanent,
            true,
            "two",
        );
        static FIRST: Catalogue = Catalogue::new("first", &[A, B]);
        static SECOND: Catalogue = Catalogue::new("second", &[B, A]);
        let dups = check_unique(&[&FIRST, &SECOND]).unwrap_err();
        assert_eq!(dups.len(), 2);
        assert_eq!(
            dups[0].to_string(),
            "error code `a.two` is defined by both `first` and `second`"
        );
        assert!(check_unique(&[&FIRST]).is_ok());
        assert!(first_duplicate(&[A, B, A]) == Some(2));
    }

    #[test]
    fn markdown_is_sorted_and_escaped() {
        const Z: CodeInfo = CodeInfo::new(
            Code::new("z.last"),
            StatusCode::SERVICE_UNAVAILABLE,
            RetryClass::TRANSIENT,
            false,
            "pipes | escaped",
        );
        const A: CodeInfo = CodeInfo::new(
            Code::new("a.first"),
            StatusCode::NOT_FOUND,
            RetryClass::Permanent,
            true,
            "first",
        );
        static CAT: Catalogue = Catalogue::new("demo", &[Z, A]);
        let md = render_markdown(&[&CAT]);
        let a = md.find("`a.first`").unwrap();
        let z = md.find("`z.last`").unwrap();
        assert!(a < z);
        assert!(md.contains("| `z.last` | `demo` | 503 | transient | no | pipes \\| escaped |"));
        assert!(md.contains("| `a.first` | `demo` | 404 | permanent | yes | first |"));
    }
}
