//! pr-resilience's error type and codes, and [`CallError`], what a policy
//! answers around an operation's own error.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use pr_errors::{CodeInfo, CodedError, RetryClass};

pr_errors::codes! {
    /// Every code pr-resilience defines.
    pub static CODES;

    /// The circuit breaker is open and refuses calls until its next probe.
    pub CIRCUIT_OPEN = "resilience.circuit_open", SERVICE_UNAVAILABLE, transient;
    /// The bulkhead's places and wait queue are full, or the wait for a place ran out.
    pub BULKHEAD_FULL = "resilience.bulkhead_full", SERVICE_UNAVAILABLE, transient;
    /// The operation did not complete within its timeout.
    pub TIMEOUT = "resilience.timeout", GATEWAY_TIMEOUT, transient;
    /// A pipeline's retry gave up on a result its predicate still rejects.
    pub RETRIES_EXHAUSTED = "resilience.retries_exhausted", SERVICE_UNAVAILABLE, transient;
    /// An admission stage (a rate limiter, a load shedder) refused the call.
    pub REJECTED = "resilience.rejected", TOO_MANY_REQUESTS, transient;
    /// Every provider of a failover chain was skipped because its breaker is open.
    pub NO_PROVIDER = "resilience.no_provider", SERVICE_UNAVAILABLE, transient;
    /// A chaos policy injected this fault on purpose.
    pub INJECTED_FAULT = "resilience.injected_fault", SERVICE_UNAVAILABLE, transient;
    /// A policy's settings are invalid.
    pub INVALID_CONFIG = "resilience.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// A rate limiter refused the call: its quota is spent until the retry-after.
    pub RATE_LIMITED = "resilience.rate_limited", TOO_MANY_REQUESTS, transient, public;
    /// A call asked a rate limiter for more permits than its burst can ever hold.
    pub RATE_EXCEEDS_BURST = "resilience.rate_exceeds_burst", TOO_MANY_REQUESTS, permanent;
    /// A keyed rate limiter refused a key that takes more bytes than it may hold for one key.
    pub RATE_KEY_TOO_LARGE = "resilience.rate_key_too_large", TOO_MANY_REQUESTS, permanent;
    /// A distributed rate limiter could not reach its store and its policy is to fail closed.
    pub LIMITER_UNAVAILABLE = "resilience.limiter_unavailable", SERVICE_UNAVAILABLE, transient;
    /// The dead-letter queue is at its record or byte bound and refuses new records.
    pub DLQ_FULL = "resilience.dlq_full", SERVICE_UNAVAILABLE, transient;
    /// Reading or writing the dead-letter queue's files failed.
    pub DLQ_IO = "resilience.dlq_io", INTERNAL_SERVER_ERROR, transient;
    /// A dead-letter queue file is damaged before its tail (not a torn last record).
    pub DLQ_CORRUPT = "resilience.dlq_corrupt", INTERNAL_SERVER_ERROR, permanent;
    /// A dead-letter record's payload could not be encoded or decoded.
    pub DLQ_CODEC = "resilience.dlq_codec", INTERNAL_SERVER_ERROR, permanent;
}

/// What a resilience policy can answer instead of the operation's own result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The breaker refused the call; `retry_after` is the time until it lets a probe through.
    #[error("circuit breaker `{name}` is open; next probe in {retry_after:?}")]
    CircuitOpen {
        /// The breaker's name.
        name: String,
        /// Time until the breaker lets a probe call through.
        retry_after: Duration,
    },
    /// The bulkhead refused the call.
    #[error(
        "bulkhead `{name}` is full ({limit} concurrent calls and a full or timed-out wait queue)"
    )]
    BulkheadFull {
        /// The bulkhead's name.
        name: String,
        /// Its concurrency limit.
        limit: usize,
    },
    /// The call (or one attempt of it) took longer than its timeout.
    #[error("`{name}` timed out after {after:?}")]
    Timeout {
        /// Which timeout fired (`attempt`, `total`, or a policy's name).
        name: String,
        /// The timeout.
        after: Duration,
    },
    /// A pipeline's retry gave up on a successful result that its result
    /// predicate still rejected (with
    /// [`fail_after_max_attempts`](crate::retry::RetryBuilder::fail_after_max_attempts)).
    #[error("retry `{name}` gave up after {attempts} attempts")]
    RetriesExhausted {
        /// The retry policy's name.
        name: String,
        /// Attempts made, the first included.
        attempts: u32,
    },
    /// An admission stage refused the call.
    #[error("`{name}` refused the call{}", retry_after.map(|d| format!("; retry in {d:?}")).unwrap_or_default())]
    Rejected {
        /// The stage's name.
        name: String,
        /// When a call may be admitted again, if the stage knows.
        retry_after: Option<Duration>,
    },
    /// Every provider of a failover chain was skipped (breaker open).
    #[error("failover `{name}`: every provider's breaker is open; next probe in {retry_after:?}")]
    NoProvider {
        /// The chain's name.
        name: String,
        /// Time until the first provider lets a probe through.
        retry_after: Duration,
    },
    /// A chaos policy injected a fault.
    #[error("chaos `{name}` injected a fault")]
    InjectedFault {
        /// The chaos policy's name.
        name: String,
    },
    /// A policy's settings are invalid; every problem is listed, each at its
    /// key (`breaker.failure_rate_threshold`).
    #[error(
        "invalid resilience configuration: {}",
        pr_core::validate::join(problems)
    )]
    InvalidConfig {
        /// Every problem, each at its key.
        problems: Vec<pr_core::validate::Violation>,
    },
    /// A rate limiter refused the call until `retry_after`.
    #[error("rate limit exceeded; retry in {retry_after:?}")]
    RateLimited {
        /// Time until the limiter admits the call.
        retry_after: Duration,
    },
    /// More permits were asked for at once than the limiter's burst.
    #[error("asked for {requested} permits at once, more than the limiter's burst of {burst}")]
    ExceedsBurst {
        /// The permits asked for.
        requested: u32,
        /// The limiter's burst.
        burst: u32,
    },
    /// A keyed limiter's key takes more bytes than it may hold for one key.
    #[error("the rate-limit key takes {bytes} bytes, more than the {max} a key may take")]
    RateKeyTooLarge {
        /// The bytes the key would take.
        bytes: usize,
        /// The most one key may take.
        max: usize,
    },
    /// A distributed limiter's store is unreachable and it fails closed.
    #[error("rate limiter `{name}` cannot reach its store ({reason}); failing closed")]
    LimiterUnavailable {
        /// The limiter's name.
        name: String,
        /// Why the store is unreachable (the client's error, or an open breaker).
        reason: String,
        /// When the limiter will try its store again.
        retry_after: Duration,
    },
    /// The dead-letter queue refused a record: it is at a bound.
    #[error("dead-letter queue at {dir} is full: `{bound}` = {limit} reached")]
    DlqFull {
        /// The queue's directory.
        dir: PathBuf,
        /// Which bound (`max_records`, `max_size` or `max_record_size`).
        bound: &'static str,
        /// The bound's value.
        limit: u64,
    },
    /// A dead-letter queue file operation failed.
    #[error("dead-letter queue: cannot {op} {path}: {message}")]
    DlqIo {
        /// What was being done (`open`, `write`, `sync`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A dead-letter segment is damaged before its tail.
    #[error("dead-letter queue segment {path} is damaged at byte {offset}: {reason}")]
    DlqCorrupt {
        /// The segment file.
        path: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong (`checksum mismatch`, `length past the end`, ...).
        reason: String,
    },
    /// A dead-letter record could not be encoded or decoded.
    #[error("dead-letter record {seq}: cannot {op} the payload: {message}")]
    DlqCodec {
        /// The record's sequence number (0 while encoding a new record).
        seq: u64,
        /// `encode` or `decode`.
        op: &'static str,
        /// The serializer's message.
        message: String,
    },
}

impl Error {
    /// The wait this error asks for before trying again, if it knows.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry().retry_after()
    }
}

impl Error {
    /// One invalid setting, at `key`.
    #[cfg(any(
        feature = "breaker",
        feature = "bulkhead",
        feature = "chaos",
        feature = "hedge",
        feature = "rate",
        feature = "retry"
    ))]
    pub(crate) fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            problems: vec![pr_core::validate::Violation::new(key, message)],
        }
    }
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::CircuitOpen { .. } => &CIRCUIT_OPEN,
            Self::BulkheadFull { .. } => &BULKHEAD_FULL,
            Self::Timeout { .. } => &TIMEOUT,
            Self::RetriesExhausted { .. } => &RETRIES_EXHAUSTED,
            Self::Rejected { .. } => &REJECTED,
            Self::NoProvider { .. } => &NO_PROVIDER,
            Self::InjectedFault { .. } => &INJECTED_FAULT,
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::RateLimited { .. } => &RATE_LIMITED,
            Self::ExceedsBurst { .. } => &RATE_EXCEEDS_BURST,
            Self::RateKeyTooLarge { .. } => &RATE_KEY_TOO_LARGE,
            Self::LimiterUnavailable { .. } => &LIMITER_UNAVAILABLE,
            Self::DlqFull { .. } => &DLQ_FULL,
            Self::DlqIo { .. } => &DLQ_IO,
            Self::DlqCorrupt { .. } => &DLQ_CORRUPT,
            Self::DlqCodec { .. } => &DLQ_CODEC,
        }
    }

    fn retry(&self) -> RetryClass {
        match self {
            Self::CircuitOpen { retry_after, .. }
            | Self::NoProvider { retry_after, .. }
            | Self::RateLimited { retry_after }
            | Self::LimiterUnavailable { retry_after, .. } => RetryClass::after(*retry_after),
            Self::Rejected {
                retry_after: Some(wait),
                ..
            } => RetryClass::after(*wait),
            _ => self.info().retry,
        }
    }
}

/// pr-errors' retry class of `error` when trying again may help (a transient
/// error), `None` for a permanent one. The one rule by which this crate reads
/// an error's class: the retry policy's `Transient` predicate retries these
/// errors, and the breaker's default classification (`CallOutcome::of_error`)
/// counts them as failures, so the two never disagree on an error.
#[cfg(any(feature = "retry", feature = "breaker"))]
pub(crate) fn transient<E: CodedError + ?Sized>(error: &E) -> Option<RetryClass> {
    let class = error.retry();
    class.is_transient().then_some(class)
}

/// The outcome of a call through a policy: either a policy refused or cut
/// short the call ([`Rejected`](CallError::Rejected), with a coded
/// [`Error`]), or the operation itself failed ([`Inner`](CallError::Inner),
/// the operation's own error, untouched).
///
/// It implements [`CodedError`] when `E` does, so a retry predicate, an HTTP
/// handler or a dead-letter queue reads one classification: a rejection's
/// code and retry-after, or the inner error's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError<E> {
    /// A policy refused the call or cut it short (open breaker, full
    /// bulkhead, timeout, rejected admission).
    Rejected(Error),
    /// The operation's own error.
    Inner(E),
}

impl<E> CallError<E> {
    /// The operation's own error, if that is what this is.
    #[must_use]
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(error) => Some(error),
            Self::Rejected(_) => None,
        }
    }

    /// The policy's error, if a policy refused the call.
    #[must_use]
    pub fn rejection(&self) -> Option<&Error> {
        match self {
            Self::Rejected(error) => Some(error),
            Self::Inner(_) => None,
        }
    }

    /// The operation's own error, by reference.
    #[must_use]
    pub fn inner(&self) -> Option<&E> {
        match self {
            Self::Inner(error) => Some(error),
            Self::Rejected(_) => None,
        }
    }

    /// Maps the operation's error, keeping a rejection.
    pub fn map_inner<F>(self, map: impl FnOnce(E) -> F) -> CallError<F> {
        match self {
            Self::Inner(error) => CallError::Inner(map(error)),
            Self::Rejected(error) => CallError::Rejected(error),
        }
    }
}

impl<E> CallError<CallError<E>> {
    /// One level instead of two, for stacked layers (a breaker layer over
    /// a timeout layer answers `CallError<CallError<E>>`).
    #[must_use]
    pub fn flatten(self) -> CallError<E> {
        match self {
            Self::Rejected(error) | Self::Inner(CallError::Rejected(error)) => {
                CallError::Rejected(error)
            }
            Self::Inner(CallError::Inner(error)) => CallError::Inner(error),
        }
    }
}

impl<E> From<Error> for CallError<E> {
    fn from(error: Error) -> Self {
        Self::Rejected(error)
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(error) => fmt::Display::fmt(error, f),
            Self::Inner(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected(error) => error.source(),
            Self::Inner(error) => error.source(),
        }
    }
}

impl<E: CodedError + 'static> CodedError for CallError<E> {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::Rejected(error) => error.info(),
            Self::Inner(error) => error.info(),
        }
    }

    fn retry(&self) -> RetryClass {
        match self {
            Self::Rejected(error) => error.retry(),
            Self::Inner(error) => error.retry(),
        }
    }

    fn public_message(&self) -> Option<String> {
        match self {
            Self::Rejected(error) => error.public_message(),
            Self::Inner(error) => error.public_message(),
        }
    }
}
