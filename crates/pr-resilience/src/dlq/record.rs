//! What a dead letter holds, and its frame on disk.

use std::time::SystemTime;

use pr_core::fs::frame;
use pr_errors::CodedError;
use serde::{Deserialize, Serialize};

/// One failed attempt of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When the attempt failed.
    pub at: SystemTime,
    /// The attempt's error code (`db.timeout`), or empty when it had none.
    pub code: String,
    /// The attempt's error message.
    pub message: String,
}

impl Attempt {
    /// An attempt that failed now with `error`.
    #[must_use]
    pub fn failed<E: CodedError + std::fmt::Display + ?Sized>(error: &E) -> Self {
        Self {
            at: SystemTime::now(),
            code: error.info().code.as_str().to_owned(),
            message: error.to_string(),
        }
    }
}

/// An operation that will not be retried any more: its payload, why it
/// failed, each attempt, and the key that makes replaying it idempotent.
///
/// # Examples
///
/// ```
/// use pr_resilience::Error;
/// use pr_resilience::dlq::DeadLetter;
/// use std::time::Duration;
///
/// let error = Error::RateLimited { retry_after: Duration::from_secs(1) };
/// let letter = DeadLetter::new("charge order 42", &error).with_idempotency_key("order-42");
/// assert_eq!(letter.code, "resilience.rate_limited");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeadLetter<T> {
    /// The operation's input, to replay it.
    pub payload: T,
    /// The last error's code.
    pub code: String,
    /// The last error's message.
    pub message: String,
    /// Every failed attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// The key a consumer uses to apply the operation at most once.
    pub idempotency_key: Option<String>,
    /// When the operation first failed.
    pub first_failed_at: SystemTime,
}

impl<T> DeadLetter<T> {
    /// A letter for `payload` that failed now with `error` (one attempt).
    pub fn new<E: CodedError + std::fmt::Display + ?Sized>(payload: T, error: &E) -> Self {
        let attempt = Attempt::failed(error);
        Self {
            payload,
            code: attempt.code.clone(),
            message: attempt.message.clone(),
            first_failed_at: attempt.at,
            attempts: vec![attempt],
            idempotency_key: None,
        }
    }

    /// A letter with an explicit code and message and no attempt history.
    pub fn with_code(payload: T, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            payload,
            code: code.into(),
            message: message.into(),
            attempts: Vec::new(),
            idempotency_key: None,
            first_failed_at: SystemTime::now(),
        }
    }

    /// The same letter with this attempt history (the first attempt's time
    /// becomes `first_failed_at`).
    #[must_use]
    pub fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        if let Some(first) = attempts.first() {
            self.first_failed_at = first.at;
        }
        self.attempts = attempts;
        self
    }

    /// The same letter with an idempotency key.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// A letter as stored in the queue, with its place and time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DlqRecord<T> {
    /// Its sequence number: increasing in push order, never reused.
    pub seq: u64,
    /// When it was pushed.
    pub pushed_at: SystemTime,
    /// The letter.
    pub letter: DeadLetter<T>,
}

/// A record's frame: pr-core's frame (`len: u32`, `crc32c: u32`, both of
/// the payload) around a payload of `seq: u64`, `pushed_at_ms: u64`, then
/// the letter as JSON. Little-endian. The bytes before the letter.
pub(crate) const HEADER: usize = frame::HEADER + 16;

/// Builds a frame around an encoded letter placed at `buf[HEADER..]`.
///
/// # Errors
///
/// When the record is 4GiB or more (`max_record_size` keeps it under).
pub(crate) fn seal(buf: &mut [u8], seq: u64, pushed_at_ms: u64) -> std::io::Result<()> {
    buf[frame::HEADER..frame::HEADER + 8].copy_from_slice(&seq.to_le_bytes());
    buf[frame::HEADER + 8..HEADER].copy_from_slice(&pushed_at_ms.to_le_bytes());
    frame::seal(buf)
}

/// A record's sequence number and push time, from its frame's payload;
/// `None` when the payload is too short to hold them.
pub(crate) fn place(payload: &[u8]) -> Option<(u64, u64)> {
    Some((frame::u64_at(payload, 0)?, frame::u64_at(payload, 8)?))
}
