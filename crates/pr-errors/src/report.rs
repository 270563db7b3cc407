//! [`Report`]: an owned error with its code, cause chain and backtrace, and
//! [`Chain`]: the same rendering for any borrowed error.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt::{self, Write as _};

use http::StatusCode;

use crate::codes::UNCLASSIFIED;
use crate::{Classified, Code, CodeInfo, CodedError, RetryClass, WithContext};

/// Renders at most this many causes, so that a cyclic or absurdly deep
/// `source()` chain cannot hang a log line.
const MAX_CAUSES: usize = 128;

/// An error ready to be logged or answered: the error, its code, its whole
/// cause chain, and a backtrace when `RUST_BACKTRACE` (or
/// `RUST_LIB_BACKTRACE`) asks for one.
///
/// `Display` writes one line, `message: cause: cause`, with control
/// characters escaped so the line cannot be split or forged in a log.
/// The alternate form (`{:#}`) and `Debug` write the code, then each cause on
/// its own line, then the backtrace; that is what `fn main() -> Result<(),
/// Report>` prints.
///
/// # Examples
///
/// ```
/// use pr_errors::{Report, ResultExt};
///
/// let err = std::fs::read("/no/such/file").unwrap_err();
/// let report = Report::unclassified(err).context("reading the settings");
/// assert_eq!(report.code().as_str(), "internal.unclassified");
/// assert!(report.to_string().starts_with("reading the settings: "));
/// assert_eq!(report.chain().count(), 2);
/// ```
pub struct Report {
    error: Box<dyn CodedError + Send + Sync + 'static>,
    backtrace: Backtrace,
}

impl Report {
    /// Wraps `error`, capturing a backtrace if the environment asks for one.
    pub fn new<E: CodedError + Send + Sync + 'static>(error: E) -> Self {
        Self {
            error: Box::new(error),
            backtrace: Backtrace::capture(),
        }
    }

    /// Wraps an error that has no code of its own under
    /// `internal.unclassified` (HTTP 500, permanent, message not shown to
    /// clients). Prefer [`ResultExt::classify`](crate::ResultExt::classify)
    /// with a code of your own catalogue.
    pub fn unclassified<E: StdError + Send + Sync + 'static>(error: E) -> Self {
        Self::new(Classified::new(&UNCLASSIFIED, error))
    }

    /// Adds what was being done; the code and backtrace are kept.
    #[must_use]
    pub fn context(self, what: impl Into<Cow<'static, str>>) -> Self {
        Self {
            error: Box::new(WithContext::new(what, Dyn(self.error))),
            backtrace: self.backtrace,
        }
    }

    /// The outermost error.
    #[must_use]
    pub fn error(&self) -> &(dyn CodedError + Send + Sync + 'static) {
        &*self.error
    }

    /// The catalogue entry of the error.
    #[must_use]
    pub fn info(&self) -> &'static CodeInfo {
        self.error.info()
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> Code {
        self.error.code()
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }

    /// The retry classification.
    #[must_use]
    pub fn retry(&self) -> RetryClass {
        self.error.retry()
    }

    /// Whether the message may be shown to a client.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.error.is_public()
    }

    /// The error and its causes, outermost first.
    #[must_use]
    pub fn chain(&self) -> Chain<'_> {
        chain(&*self.error)
    }

    /// The first error in the chain of type `E`.
    #[must_use]
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.chain().find_map(|err| err.downcast_ref::<E>())
    }

    /// The backtrace, when one was captured.
    #[must_use]
    pub fn backtrace(&self) -> Option<&Backtrace> {
        (self.backtrace.status() == BacktraceStatus::Captured).then_some(&self.backtrace)
    }
}

impl<E: CodedError + Send + Sync + 'static> From<E> for Report {
    fn from(error: E) -> Self {
        Self::new(error)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "error[{}]: ", self.code())?;
            write_multi_line(f, self.chain())?;
            if let Some(backtrace) = self.backtrace() {
                write!(f, "\n\nStack backtrace:\n{backtrace}")?;
            }
            Ok(())
        } else {
            write_one_line(f, self.chain())
        }
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:#}")
    }
}

/// The cause chain of `error`, outermost first.
///
/// The returned [`Chain`] is an iterator, and it renders like a
/// [`Report`]: one line with `{}`, one cause per line with `{:#}`.
///
/// # Examples
///
/// ```
/// let err = std::io::Error::other("disk on fire");
/// assert_eq!(pr_errors::chain(&err).to_string(), "disk on fire");
/// ```
#[must_use]
pub fn chain<'a>(error: &'a (dyn StdError + 'static)) -> Chain<'a> {
    Chain { next: Some(error) }
}

/// An error and its causes, outermost first; see [`chain`].
#[derive(Clone, Debug)]
pub struct Chain<'a> {
    next: Option<&'a (dyn StdError + 'static)>,
}

impl<'a> Iterator for Chain<'a> {
    type Item = &'a (dyn StdError + 'static);

    fn next(&mut self) -> Option<Self::Item> {
        let mut current = self.next?;
        // A report's context wraps its boxed error in `Dyn`; show the boxed
        // error itself, so that messages appear once and downcasts find it.
        if let Some(Dyn(inner)) = current.downcast_ref::<Dyn>() {
            current = &**inner;
        }
        self.next = current.source();
        Some(current)
    }
}

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write_multi_line(f, self.clone())
        } else {
            write_one_line(f, self.clone())
        }
    }
}

fn write_one_line(f: &mut fmt::Formatter<'_>, chain: Chain<'_>) -> fmt::Result {
    for (i, err) in chain.enumerate() {
        if i > MAX_CAUSES {
            return f.write_str(": ...");
        }
        if i > 0 {
            f.write_str(": ")?;
        }
        write!(Escaped(f), "{err}")?;
    }
    Ok(())
}

fn write_multi_line(f: &mut fmt::Formatter<'_>, mut chain: Chain<'_>) -> fmt::Result {
    if let Some(first) = chain.next() {
        write!(Escaped(f), "{first}")?;
    }
    for (i, cause) in chain.enumerate() {
        if i == 0 {
            f.write_str("\n\nCaused by:")?;
        }
        if i >= MAX_CAUSES {
            return f.write_str("\n    ...");
        }
        write!(f, "\n    {i}: ")?;
        write!(Escaped(f), "{cause}")?;
    }
    Ok(())
}

/// Forwards text, writing control characters (newlines included) as escapes
/// so that one error always renders as the lines we chose.
struct Escaped<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Fast path: C0 controls and DEL are single bytes, and C1 controls
        // (U+0080..=U+009F) start with 0xC2; text without those bytes has no
        // control character and is written in one piece.
        if !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
            return self.0.write_str(s);
        }
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if c.is_control() {
                self.0.write_str(&s[start..i])?;
                for escaped in c.escape_default() {
                    self.0.write_char(escaped)?;
                }
                start = i + c.len_utf8();
            }
        }
        self.0.write_str(&s[start..])
    }
}

/// A boxed coded error that is itself an error, so a [`Report`] can wrap
/// its contents in a [`WithContext`]. Transparent: its message and source are
/// the boxed error's.
struct Dyn(Box<dyn CodedError + Send + Sync + 'static>);

impl fmt::Debug for Dyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Dyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for Dyn {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl CodedError for Dyn {
    crate::coded::delegate_coded_error!(self => self.0);
}
