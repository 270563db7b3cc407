//! Breakers as pr-health checks (feature `health`).

use pr_health::{Check, CheckFuture, Outcome};

use crate::breaker::{BreakerRegistry, CircuitBreaker, State};

/// A breaker as a health check: `Up` while it lets calls through (closed,
/// forced closed, disabled, metrics only), `Degraded` while it refuses them
/// (open, half-open, forced open), naming the state and the time until the
/// next probe. Named `breaker:<name>`.
///
/// # Examples
///
/// ```
/// use pr_health::{Check, Status};
/// use pr_resilience::breaker::{BreakerCheck, CircuitBreaker};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pr_resilience::Error> {
/// let breaker = CircuitBreaker::builder("payments").build()?;
/// let check = BreakerCheck::new(breaker.clone());
/// assert_eq!(check.check().await.status(), Status::Up);
/// breaker.force_open();
/// assert_eq!(check.check().await.status(), Status::Degraded);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BreakerCheck {
    name: String,
    breaker: CircuitBreaker,
}

impl BreakerCheck {
    /// A check of `breaker`.
    #[must_use]
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            name: format!("breaker:{}", breaker.name()),
            breaker,
        }
    }
}

fn outcome(breaker: &CircuitBreaker) -> Outcome {
    let state = breaker.state();
    match state {
        State::Open | State::HalfOpen | State::ForcedOpen => {
            let next = breaker
                .peek()
                .err()
                .and_then(|refused| refused.retry_after())
                .map_or_else(String::new, |wait| format!("; next probe in {wait:?}"));
            Outcome::degraded(format!(
                "circuit breaker `{}` is {state}{next}",
                breaker.name()
            ))
        }
        _ => Outcome::up().with_message(format!("circuit breaker is {state}")),
    }
}

impl Check for BreakerCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(std::future::ready(outcome(&self.breaker)))
    }
}

/// Every breaker of a [`BreakerRegistry`](crate::breaker::BreakerRegistry) as one health check: `Degraded`
/// when any refuses calls, naming them.
#[derive(Debug)]
pub struct RegistryCheck<K> {
    name: String,
    registry: BreakerRegistry<K>,
}

impl<K> RegistryCheck<K> {
    /// A check named `name` over `registry`'s breakers.
    #[must_use]
    pub fn new(name: impl Into<String>, registry: BreakerRegistry<K>) -> Self {
        Self {
            name: name.into(),
            registry,
        }
    }
}

impl<K> Check for RegistryCheck<K>
where
    K: std::hash::Hash + Eq + Clone + std::fmt::Display + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let open: Vec<String> = self
            .registry
            .breakers()
            .into_iter()
            .filter(|(_, breaker)| {
                matches!(
                    breaker.state(),
                    State::Open | State::HalfOpen | State::ForcedOpen
                )
            })
            .map(|(key, _)| key.to_string())
            .collect();
        let outcome = if open.is_empty() {
            Outcome::up()
        } else {
            Outcome::degraded(format!("open circuit breakers: {}", open.join(", ")))
        };
        Box::pin(std::future::ready(outcome))
    }
}
