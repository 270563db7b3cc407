//! Chaos injection (feature `chaos`): faults, latency and outcomes, each at
//! a rate, behind an on/off switch.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{CallError, Error};
use pr_core::time::Clock;

struct Inner {
    name: String,
    enabled: AtomicBool,
    fault_rate: f64,
    latency_rate: f64,
    latency: Duration,
    outcome_rate: f64,
    clock: Clock,
}

/// Injects faults ([`Error::InjectedFault`], `resilience.injected_fault`),
/// latency, and substitute outcomes into calls, each at its own rate (0 to
/// 1), for resilience tests and game days. Disabled, it costs one atomic
/// load. Clones share the switch.
///
/// # Examples
///
/// ```
/// use pr_resilience::{CallError, Error};
/// use pr_resilience::chaos::Chaos;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let chaos = Chaos::builder("payments").fault_rate(1.0).build()?;
/// let hit = chaos.call(async { Ok::<_, std::io::Error>(1) }).await;
/// assert!(matches!(hit, Err(CallError::Rejected(Error::InjectedFault { .. }))));
/// chaos.disable();
/// assert_eq!(chaos.call(async { Ok::<_, std::io::Error>(1) }).await.ok(), Some(1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Chaos(Arc<Inner>);

impl fmt::Debug for Chaos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chaos")
            .field("name", &self.0.name)
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

impl Chaos {
    /// A builder injecting nothing until rates are set; enabled.
    pub fn builder(name: impl Into<String>) -> ChaosBuilder {
        ChaosBuilder {
            name: name.into(),
            enabled: true,
            fault_rate: 0.0,
            latency_rate: 0.0,
            latency: Duration::ZERO,
            outcome_rate: 0.0,
            clock: None,
        }
    }

    /// Turns injection on.
    pub fn enable(&self) {
        self.0.enabled.store(true, Ordering::Release);
    }

    /// Turns injection off.
    pub fn disable(&self) {
        self.0.enabled.store(false, Ordering::Release);
    }

    /// Whether injection is on.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.0.enabled.load(Ordering::Acquire)
    }

    fn roll(&self, rate: f64) -> bool {
        rate > 0.0 && (rate >= 1.0 || fastrand::f64() < rate)
    }

    /// Runs `fut`, maybe after an injected delay, maybe replaced by an
    /// injected fault.
    ///
    /// # Errors
    ///
    /// [`Error::InjectedFault`] when a fault is injected, or the operation's
    /// error.
    pub async fn call<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        if !self.is_enabled() {
            return fut.await.map_err(CallError::Inner);
        }
        self.maybe_delay().await;
        if self.roll(self.0.fault_rate) {
            tracing::debug!(target: "pr_resilience::chaos", event = "chaos.fault", chaos = %self.0.name, "chaos injected a fault");
            return Err(CallError::Rejected(Error::InjectedFault {
                name: self.0.name.clone(),
            }));
        }
        fut.await.map_err(CallError::Inner)
    }

    /// Runs `fut`, or (at the outcome rate) answers `substitute()` without
    /// running it: a fake error or result of the operation's own type.
    ///
    /// # Errors
    ///
    /// The operation's error or the substitute's.
    pub async fn call_or_substitute<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
        substitute: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if self.is_enabled() {
            self.maybe_delay().await;
            if self.roll(self.0.outcome_rate) {
                tracing::debug!(target: "pr_resilience::chaos", event = "chaos.outcome", chaos = %self.0.name, "chaos replaced the outcome");
                return substitute();
            }
        }
        fut.await
    }

    async fn maybe_delay(&self) {
        if self.roll(self.0.latency_rate) {
            tracing::debug!(target: "pr_resilience::chaos", event = "chaos.latency", chaos = %self.0.name, "chaos injected latency");
            self.0.clock.sleep(self.0.latency).await;
        }
    }
}

/// Builds a [`Chaos`].
#[must_use]
#[derive(Clone, Debug)]
pub struct ChaosBuilder {
    name: String,
    enabled: bool,
    fault_rate: f64,
    latency_rate: f64,
    latency: Duration,
    outcome_rate: f64,
    clock: Option<Clock>,
}

impl ChaosBuilder {
    /// The share of calls answered with an injected fault.
    pub fn fault_rate(mut self, rate: f64) -> Self {
        self.fault_rate = rate;
        self
    }

    /// The share of calls delayed by `latency`.
    pub fn latency(mut self, rate: f64, latency: Duration) -> Self {
        self.latency_rate = rate;
        self.latency = latency;
        self
    }

    /// The share of calls answered with a substitute outcome
    /// ([`Chaos::call_or_substitute`](crate::chaos::Chaos::call_or_substitute)).
    pub fn outcome_rate(mut self, rate: f64) -> Self {
        self.outcome_rate = rate;
        self
    }

    /// Starts enabled (the default) or disabled.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The clock latency is slept on.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The chaos policy.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a rate outside 0 to 1.
    pub fn build(self) -> Result<Chaos, Error> {
        for (field, rate) in [
            ("chaos.fault_rate", self.fault_rate),
            ("chaos.latency_rate", self.latency_rate),
            ("chaos.outcome_rate", self.outcome_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::invalid(
                    field,
                    format!("must be between 0 and 1, got {rate}"),
                ));
            }
        }
        Ok(Chaos(Arc::new(Inner {
            name: self.name,
            enabled: AtomicBool::new(self.enabled),
            fault_rate: self.fault_rate,
            latency_rate: self.latency_rate,
            latency: self.latency,
            outcome_rate: self.outcome_rate,
            clock: self.clock.unwrap_or_default(),
        })))
    }
}
