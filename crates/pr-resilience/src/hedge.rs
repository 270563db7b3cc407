//! Hedging, with Polly's three modes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::Error;
use crate::retry::{Classify, Decision, RetryBudget, Transient};

/// The most hedged attempts beside the primary (Polly's limit).
const MAX_HEDGES: u32 = 10;

/// When hedged attempts start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HedgeMode {
    /// The next attempt starts when the running ones have not answered
    /// acceptably after `delay`, or at once when one fails (Polly's latency
    /// mode).
    Latency(Duration),
    /// Every attempt starts at once (Polly's parallel mode, a zero delay).
    Parallel,
    /// The next attempt starts only when the previous one failed (Polly's
    /// fallback mode, an infinite delay).
    Sequential,
}

/// Runs extra attempts of an operation beside a slow or failed one; the
/// first acceptable outcome wins and the other attempts are cancelled
/// (their futures dropped). When every attempt fails, the primary's (the
/// first attempt's) outcome is returned. Each hedged attempt may take a
/// token from a shared [`RetryBudget`]; without one, no more hedges start.
///
/// An outcome is acceptable when the classifier (by default [`Transient`])
/// does not ask to retry it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::Error;
/// use pr_resilience::hedge::{Hedge, HedgeMode};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Error> {
/// let hedge = Hedge::new(HedgeMode::Latency(Duration::from_millis(50)), 2)?;
/// let answer = hedge
///     .run(|attempt| async move {
///         // The primary is slow; the first hedge answers quickly.
///         let wait = if attempt == 0 { 1_000 } else { 10 };
///         tokio::time::sleep(Duration::from_millis(wait)).await;
///         Ok::<_, Error>(attempt)
///     })
///     .await;
/// assert_eq!(answer.ok(), Some(1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Hedge<C = Transient> {
    mode: HedgeMode,
    max_hedges: u32,
    budget: Option<RetryBudget>,
    classify: C,
}

impl Hedge {
    /// Up to `max_hedges` attempts beside the primary (1 to 10, as
    /// Polly), started as `mode` says.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] (`hedge.max_hedges`) outside 1 to 10: every
    /// attempt is a future held until the call ends, so the count is
    /// bounded.
    pub fn new(mode: HedgeMode, max_hedges: u32) -> Result<Self, Error> {
        if !(1..=MAX_HEDGES).contains(&max_hedges) {
            return Err(Error::invalid(
                "hedge.max_hedges",
                format!("must be 1 to {MAX_HEDGES}, got {max_hedges}"),
            ));
        }
        Ok(Self {
            mode,
            max_hedges,
            budget: None,
            classify: Transient,
        })
    }
}

impl<C> Hedge<C> {
    /// Each hedged attempt takes a token from `budget`.
    #[must_use]
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Which outcomes are not acceptable (and start the next attempt).
    pub fn classify_with<D>(self, classify: D) -> Hedge<D> {
        Hedge {
            mode: self.mode,
            max_hedges: self.max_hedges,
            budget: self.budget,
            classify,
        }
    }

    /// Runs `op(0)` (the primary) and up to `max_hedges` more attempts
    /// `op(1)`, `op(2)`, ...
    ///
    /// # Errors
    ///
    /// The primary's error, when no attempt answered acceptably.
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, E>,
    {
        let mut running: Vec<(u32, Pin<Box<Fut>>)> = vec![(0, Box::pin(op(0)))];
        let mut launched = 1u32;
        let mut primary: Option<Result<T, E>> = None;
        let mut last: Option<Result<T, E>> = None;
        let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = self.timer();
        std::future::poll_fn(|cx: &mut Context<'_>| {
            loop {
                let mut failed = false;
                let mut index = 0;
                while index < running.len() {
                    let Some((attempt, fut)) = running.get_mut(index) else {
                        break;
                    };
                    let attempt = *attempt;
                    match fut.as_mut().poll(cx) {
                        Poll::Pending => index += 1,
                        Poll::Ready(outcome) => {
                            running.swap_remove(index);
                            if self.classify.classify(&outcome) == Decision::Accept {
                                if attempt > 0 {
                                    tracing::debug!(target: "pr_resilience::hedge", event = "hedge.won", attempt, "hedged attempt won");
                                }
                                // Returning drops the other attempts: cancelled.
                                return Poll::Ready(outcome);
                            }
                            failed = true;
                            if attempt == 0 {
                                primary = Some(outcome);
                            } else {
                                last = Some(outcome);
                            }
                        }
                    }
                }
                let fired = timer
                    .as_mut()
                    .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
                let start_next = launched <= self.max_hedges
                    && ((failed && (running.is_empty() || self.mode != HedgeMode::Sequential))
                        || fired
                        || self.mode == HedgeMode::Parallel);
                if start_next && self.budget.as_ref().is_none_or(RetryBudget::try_spend) {
                    tracing::debug!(target: "pr_resilience::hedge", event = "hedge.started", attempt = launched, "hedged attempt started");
                    running.push((launched, Box::pin(op(launched))));
                    launched += 1;
                    timer = self.timer();
                    continue;
                }
                if running.is_empty() {
                    let outcome = primary.take().or_else(|| last.take());
                    if let Some(outcome) = outcome {
                        return Poll::Ready(outcome);
                    }
                }
                if fired {
                    // The timer fired but no hedge may start: stop polling it.
                    timer = None;
                }
                return Poll::Pending;
            }
        })
        .await
    }

    fn timer(&self) -> Option<Pin<Box<tokio::time::Sleep>>> {
        match self.mode {
            HedgeMode::Latency(delay) => Some(Box::pin(tokio::time::sleep(delay))),
            HedgeMode::Parallel | HedgeMode::Sequential => None,
        }
    }
}
