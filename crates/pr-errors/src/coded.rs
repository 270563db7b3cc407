//! The trait every error of the workspace implements, and the wrappers that
//! add context or a code to an error.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use http::StatusCode;

use crate::{Code, CodeInfo, RetryClass};

/// An error with a stable code, an HTTP status, a retry class, and a rule on
/// whether its message may reach a client.
///
/// Implement [`info`](CodedError::info) by mapping each variant to its entry
/// in the crate's [`codes!`](macro@crate::codes) catalogue; the other methods read
/// that entry. Override [`retry`](CodedError::retry) when an instance knows
/// more, such as how long to wait.
///
/// # Examples
///
/// ```
/// use pr_errors::{CodedError, CodeInfo, RetryClass};
/// use std::time::Duration;
///
/// pr_errors::codes! {
///     /// Codes of this example.
///     pub static CODES;
///     /// Too many requests from one client.
///     pub RATE_LIMITED = "limits.rate_limited", TOO_MANY_REQUESTS, transient, public;
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("rate limit exceeded, retry in {wait:?}")]
/// struct RateLimited {
///     wait: Duration,
/// }
///
/// impl CodedError for RateLimited {
///     fn info(&self) -> &'static CodeInfo {
///         &RATE_LIMITED
///     }
///     fn retry(&self) -> RetryClass {
///         RetryClass::after(self.wait)
///     }
/// }
///
/// let err = RateLimited { wait: Duration::from_secs(2) };
/// assert_eq!(err.code().as_str(), "limits.rate_limited");
/// assert_eq!(err.status().as_u16(), 429);
/// assert_eq!(err.retry().retry_after(), Some(Duration::from_secs(2)));
/// ```
pub trait CodedError: StdError {
    /// The catalogue entry of this error.
    fn info(&self) -> &'static CodeInfo;

    /// The stable code.
    fn code(&self) -> Code {
        self.info().code
    }

    /// The HTTP status an API answers with.
    fn status(&self) -> StatusCode {
        self.info().status
    }

    /// Whether trying again may help, and after how long.
    fn retry(&self) -> RetryClass {
        self.info().retry
    }

    /// Whether the message may be shown to a client.
    fn is_public(&self) -> bool {
        self.info().public
    }

    /// The message a client may see: the error's own message when its code is
    /// public, otherwise `None`. Wrappers that add context pass the wrapped
    /// error's answer through, so context written for logs never reaches a
    /// client.
    fn public_message(&self) -> Option<String> {
        self.is_public().then(|| self.to_string())
    }
}

impl<T: CodedError + ?Sized> CodedError for &T {
    delegate_coded_error!(self => (**self));
}

impl<T: CodedError> CodedError for Box<T> {
    delegate_coded_error!(self => (**self));
}

/// A shared error (a cache's single-flight load hands one to every waiter)
/// keeps its code.
impl<T: CodedError> CodedError for std::sync::Arc<T> {
    delegate_coded_error!(self => (**self));
}

/// Implements every [`CodedError`] method by asking `$inner`, so that
/// wrappers keep the wrapped error's run-time answers (a `retry_after`, say).
macro_rules! delegate_coded_error {
    ($self:ident => $inner:expr) => {
        fn info(&$self) -> &'static $crate::CodeInfo {
            $inner.info()
        }
        fn code(&$self) -> $crate::Code {
            $inner.code()
        }
        fn status(&$self) -> http::StatusCode {
            $inner.status()
        }
        fn retry(&$self) -> $crate::RetryClass {
            $inner.retry()
        }
        fn is_public(&$self) -> bool {
            $inner.is_public()
        }
        fn public_message(&$self) -> Option<String> {
            $inner.public_message()
        }
    };
}
pub(crate) use delegate_coded_error;

/// An error wrapped with what was being done when it happened.
///
/// Its message is the context ("loading config file"), its source the
/// wrapped error; code, status and retry class are the wrapped error's.
/// Made by [`ResultExt::context`].
#[derive(Debug)]
pub struct WithContext<E> {
    what: Cow<'static, str>,
    source: E,
}

impl<E> WithContext<E> {
    /// Wraps `source` with `what` was being done.
    pub fn new(what: impl Into<Cow<'static, str>>, source: E) -> Self {
        Self {
            what: what.into(),
            source,
        }
    }

    /// What was being done.
    #[must_use]
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The wrapped error.
    #[must_use]
    pub fn inner(&self) -> &E {
        &self.source
    }

    /// Unwraps the error.
    #[must_use]
    pub fn into_inner(self) -> E {
        self.source
    }
}

impl<E> fmt::Display for WithContext<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl<E: StdError + 'static> StdError for WithContext<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

impl<E: CodedError + 'static> CodedError for WithContext<E> {
    delegate_coded_error!(self => self.source);
}

/// An error from outside the catalogue (an `io::Error`, a parser's error)
/// given a code.
///
/// It is transparent: its message and source are the wrapped error's. Made
/// by [`ResultExt::classify`], or by [`Report::unclassified`](crate::Report::unclassified)
/// with the code `internal.unclassified`.
#[derive(Debug)]
pub struct Classified<E> {
    info: &'static CodeInfo,
    source: E,
}

impl<E> Classified<E> {
    /// Gives `source` the code `info`.
    pub const fn new(info: &'static CodeInfo, source: E) -> Self {
        Self { info, source }
    }

    /// The wrapped error.
    #[must_use]
    pub fn inner(&self) -> &E {
        &self.source
    }

    /// Unwraps the error.
    #[must_use]
    pub fn into_inner(self) -> E {
        self.source
    }
}

impl<E: fmt::Display> fmt::Display for Classified<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl<E: StdError> StdError for Classified<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.source()
    }
}

impl<E: StdError> CodedError for Classified<E> {
    fn info(&self) -> &'static CodeInfo {
        self.info
    }
}

/// Adds context or a code to the error of a `Result`.
pub trait ResultExt<T, E> {
    /// Wraps the error with what was being done.
    ///
    /// # Errors
    ///
    /// The original error, wrapped in a [`WithContext`].
    ///
    /// # Examples
    ///
    /// ```
    /// use pr_errors::{Report, ResultExt};
    ///
    /// # pr_errors::codes! { /// Codes.
    /// #     static CODES; /// Not found.
    /// #     NOT_FOUND = "demo.not_found", NOT_FOUND, permanent; }
    /// # #[derive(Debug, thiserror::Error)] #[error("no such user")] struct NoUser;
    /// # impl pr_errors::CodedError for NoUser { fn info(&self) -> &'static pr_errors::CodeInfo { &NOT_FOUND } }
    /// fn load() -> Result<(), NoUser> {
    ///     Err(NoUser)
    /// }
    /// let report = Report::new(load().context("loading the profile").unwrap_err());
    /// assert_eq!(report.to_string(), "loading the profile: no such user");
    /// assert_eq!(report.code().as_str(), "demo.not_found");
    /// ```
    fn context(self, what: impl Into<Cow<'static, str>>) -> Result<T, WithContext<E>>;

    /// Like [`context`](ResultExt::context), building the text only on error.
    ///
    /// # Errors
    ///
    /// The original error, wrapped in a [`WithContext`].
    fn with_context<S, F>(self, what: F) -> Result<T, WithContext<E>>
    where
        S: Into<Cow<'static, str>>,
        F: FnOnce() -> S;

    /// Gives an error from outside the catalogue the code `info`.
    ///
    /// # Errors
    ///
    /// The original error, wrapped in a [`Classified`].
    fn classify(self, info: &'static CodeInfo) -> Result<T, Classified<E>>;
}

impl<T, E> ResultExt<T, E> for Result<T, E> {
    fn context(self, what: impl Into<Cow<'static, str>>) -> Result<T, WithContext<E>> {
        self.map_err(|source| WithContext::new(what, source))
    }

    fn with_context<S, F>(self, what: F) -> Result<T, WithContext<E>>
    where
        S: Into<Cow<'static, str>>,
        F: FnOnce() -> S,
    {
        self.map_err(|source| WithContext::new(what(), source))
    }

    fn classify(self, info: &'static CodeInfo) -> Result<T, Classified<E>> {
        self.map_err(|source| Classified::new(info, source))
    }
}
