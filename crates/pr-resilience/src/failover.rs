//! An ordered failover chain across providers, each behind its breaker.

use std::fmt;
use std::time::Duration;

use crate::breaker::CallOutcome;
use crate::breaker::CircuitBreaker;
use crate::retry::RetryBudget;
use crate::{CallError, Error};

/// Providers tried in order (a primary region, then a secondary, then a
/// static mirror): a provider whose breaker refuses is skipped without a
/// call; a provider that fails passes the call to the next one. Moving on
/// after a failure takes a token from the shared [`RetryBudget`] when there
/// is one, so that a chain cannot multiply an outage.
///
/// # Examples
///
/// ```
/// use pr_resilience::breaker::CircuitBreaker;
/// use pr_resilience::failover::Failover;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pr_resilience::Error> {
/// let primary = CircuitBreaker::builder("eu").build()?;
/// primary.force_open();
/// let chain = Failover::new("storage")
///     .provider("eu", primary)
///     .provider("us", CircuitBreaker::builder("us").build()?);
/// let answer = chain.run(|name: &str| { let name = name.to_owned(); async move { Ok::<_, std::io::Error>(name) } }).await;
/// assert_eq!(answer.ok().as_deref(), Some("us"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Failover {
    name: String,
    providers: Vec<(String, CircuitBreaker)>,
    budget: Option<RetryBudget>,
}

impl fmt::Debug for Failover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failover")
            .field("name", &self.name)
            .field(
                "providers",
                &self
                    .providers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Failover {
    /// An empty chain.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            providers: Vec::new(),
            budget: None,
        }
    }

    /// Adds a provider at the end of the chain, behind `breaker`.
    #[must_use]
    pub fn provider(mut self, name: impl Into<String>, breaker: CircuitBreaker) -> Self {
        self.providers.push((name.into(), breaker));
        self
    }

    /// Moving on after a failure takes a token from `budget`.
    #[must_use]
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Calls `op(provider name)` on each provider in order until one
    /// succeeds.
    ///
    /// # Errors
    ///
    /// The last provider's error as [`CallError::Inner`] when every
    /// provider called failed (or the budget ran out), or
    /// [`Error::NoProvider`] when every provider was skipped.
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, CallError<E>>
    where
        F: FnMut(&str) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut last_error = None;
        let mut soonest: Option<Duration> = None;
        for (name, breaker) in &self.providers {
            let permit = match breaker.try_acquire() {
                Ok(permit) => permit,
                Err(refused) => {
                    tracing::debug!(target: "pr_resilience::failover", event = "failover.skipped", chain = %self.name, provider = %name, "provider skipped: its breaker is open");
                    if let Some(wait) = refused.retry_after() {
                        soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                    }
                    continue;
                }
            };
            if last_error.is_some() && !self.budget.as_ref().is_none_or(RetryBudget::try_spend) {
                drop(permit);
                break;
            }
            match op(name).await {
                Ok(value) => {
                    permit.record(CallOutcome::Success);
                    return Ok(value);
                }
                Err(error) => {
                    permit.record(CallOutcome::Failure);
                    tracing::debug!(target: "pr_resilience::failover", event = "failover.failed", chain = %self.name, provider = %name, "provider failed; trying the next one");
                    last_error = Some(error);
                }
            }
        }
        match last_error {
            Some(error) => Err(CallError::Inner(error)),
            None => Err(CallError::Rejected(Error::NoProvider {
                name: self.name.clone(),
                retry_after: soonest.unwrap_or(Duration::ZERO),
            })),
        }
    }
}
