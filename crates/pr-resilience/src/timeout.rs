//! Timeouts on tokio's time.

use std::time::Duration;

use crate::{CallError, Error};

#[cfg(feature = "tower")]
mod layer;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{TimeoutLayer, TimeoutService};

/// Cuts a call short after a fixed time with [`Error::Timeout`]
/// (`resilience.timeout`); the call's future is dropped (cancelled).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::CallError;
/// use pr_resilience::timeout::Timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let timeout = Timeout::new("lookup", Duration::from_secs(1));
/// let slow = async {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     Ok::<_, std::io::Error>(1)
/// };
/// assert!(matches!(timeout.call(slow).await, Err(CallError::Rejected(_))));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Timeout {
    name: String,
    after: Duration,
}

impl Timeout {
    /// A timeout named `name` (in errors and metrics) after `after`.
    pub fn new(name: impl Into<String>, after: Duration) -> Self {
        Self {
            name: name.into(),
            after,
        }
    }

    /// The time allowed.
    #[must_use]
    pub fn after(&self) -> Duration {
        self.after
    }

    /// The error this timeout answers.
    #[must_use]
    pub fn error(&self) -> Error {
        elapsed(&self.name, self.after)
    }

    /// Runs `fut`, cut short after the timeout.
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] with [`Error::Timeout`], or the operation's
    /// error.
    pub async fn call<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        match bounded(self.after, fut).await {
            Some(outcome) => outcome.map_err(CallError::Inner),
            None => Err(CallError::Rejected(self.error())),
        }
    }
}

/// Runs `fut` for at most `after`, or `None`. A future that is ready on its
/// first poll needs no timer: the clock is read and the timer set only once
/// the future is pending, so the deadline counts from the first poll.
#[inline]
pub(crate) async fn bounded<F: Future>(after: Duration, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(output) = first {
        return Some(output);
    }
    tokio::time::timeout(after, fut).await.ok()
}

pub(crate) fn elapsed(name: &str, after: Duration) -> Error {
    #[cfg(feature = "metrics")]
    crate::metrics::timeout(name);
    tracing::debug!(target: "pr_resilience::timeout", event = "timeout.elapsed", timeout = %name, "timed out");
    Error::Timeout {
        name: name.to_owned(),
        after,
    }
}
