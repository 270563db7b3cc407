//! Routing operations a [`Retry`](crate::retry::Retry) policy gives up on into a [`Dlq`](crate::dlq::Dlq).

use std::fmt;
use std::sync::Mutex;

use pr_errors::CodedError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Attempt, DeadLetter, Dlq};
use crate::Error;
use crate::retry::{Classify, Retry};
use pr_core::sync::lock;

/// An operation the retry policy gave up on, and where its payload went.
#[derive(Debug)]
#[non_exhaustive]
pub struct DeadLettered<E> {
    /// The last attempt's error.
    pub error: E,
    /// The payload's sequence number in the queue, or why it could not be
    /// stored (a full queue, a failed write): then the caller still holds
    /// the only copy of the failure and must handle it.
    pub stored: Result<u64, Error>,
}

impl<E: fmt::Display> fmt::Display for DeadLettered<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.stored {
            Ok(seq) => write!(f, "{} (dead-lettered as record {seq})", self.error),
            Err(e) => write!(f, "{} (not dead-lettered: {e})", self.error),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for DeadLettered<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T: Serialize + DeserializeOwned> Dlq<T> {
    /// Runs `op(&payload)` under `retry`; when the policy gives up (retries
    /// exhausted, or an error not worth retrying), pushes the payload with
    /// every attempt's error and `idempotency_key` into this queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use pr_resilience::Error;
    /// use pr_resilience::dlq::{Dlq, DlqConfig};
    /// use pr_resilience::retry::Retry;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), pr_resilience::Error> {
    /// # let dir = std::env::temp_dir().join(format!("pr-dlq-route-doc-{}", std::process::id()));
    /// let dlq: Dlq<u32> = Dlq::open(DlqConfig::new(&dir))?;
    /// let retry = Retry::builder().max_retries(2).build()?;
    /// let failed = dlq
    ///     .retry_or_dead_letter(&retry, 7, Some("order-7"), |_order: &u32| async {
    ///         Err::<(), _>(Error::Timeout { name: "charge".into(), after: Duration::from_secs(1) })
    ///     })
    ///     .await
    ///     .unwrap_err();
    /// assert!(failed.stored.is_ok());
    /// let record = dlq.peek()?.expect("dead-lettered");
    /// assert_eq!((record.letter.payload, record.letter.attempts.len()), (7, 3));
    /// # drop(dlq); std::fs::remove_dir_all(&dir).ok();
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`DeadLettered`]: the last error, and the record's sequence number
    /// or why it could not be stored.
    pub async fn retry_or_dead_letter<C, R, E, F, Fut>(
        &self,
        retry: &Retry<C>,
        payload: T,
        idempotency_key: Option<&str>,
        mut op: F,
    ) -> Result<R, DeadLettered<E>>
    where
        C: Classify<R, E>,
        E: CodedError + fmt::Display,
        F: FnMut(&T) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let attempts = Mutex::new(Vec::new());
        let outcome = retry
            .run(|| {
                let attempt = op(&payload);
                let attempts = &attempts;
                async move {
                    let outcome = attempt.await;
                    if let Err(error) = &outcome {
                        lock(attempts).push(Attempt::failed(error));
                    }
                    outcome
                }
            })
            .await;
        let error = match outcome {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let mut letter = DeadLetter::new(payload, &error).with_attempts(
            attempts
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if let Some(key) = idempotency_key {
            letter = letter.with_idempotency_key(key);
        }
        let stored = self.push(&letter);
        match &stored {
            Ok(seq) => tracing::warn!(
                name: "pr_resilience.dlq.dead_lettered",
                event = "pr_resilience.dlq.dead_lettered",
                retry = retry.name(),
                seq,
                code = letter.code,
                "retries exhausted; operation dead-lettered"
            ),
            Err(e) => tracing::error!(
                name: "pr_resilience.dlq.not_stored",
                event = "pr_resilience.dlq.not_stored",
                retry = retry.name(),
                error = %e,
                "retries exhausted and the dead-letter queue refused the operation"
            ),
        }
        Err(DeadLettered { error, stored })
    }
}
