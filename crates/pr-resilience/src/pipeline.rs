//! Pipelines: several policies composed in one fixed, documented order.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use pr_errors::CodedError;

use crate::breaker::CallOutcome;
use crate::breaker::{BreakerBuilder, CircuitBreaker, SlidingWindow};
use crate::bulkhead::Bulkhead;
use crate::retry::{Backoff, Jitter, Retry};
use crate::retry::{Classify, Decision, Transient};
use crate::timeout::{bounded, elapsed};
use crate::{CallError, Error};

use crate::admission::Admission;
#[cfg(feature = "tower")]
mod layer;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{PipelineLayer, PipelineService};

/// The retry classifier of a pipeline without retry: accepts every outcome.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRetry;

impl<T, E> Classify<T, E> for NoRetry {
    #[inline]
    fn classify(&self, _: &Result<T, E>) -> Decision {
        Decision::Accept
    }
}

/// How a pipeline's breaker counts one attempt. Implemented by
/// [`Failures`] (the default) and every `Fn(&Result<T, CallError<E>>) -> CallOutcome`.
pub trait RecordOutcome<T, E> {
    /// How this attempt counts.
    fn outcome(&self, attempt: &Result<T, CallError<E>>) -> CallOutcome;
}

impl<T, E, F: Fn(&Result<T, CallError<E>>) -> CallOutcome> RecordOutcome<T, E> for F {
    #[inline]
    fn outcome(&self, attempt: &Result<T, CallError<E>>) -> CallOutcome {
        self(attempt)
    }
}

/// The default breaker classifier: the operation's errors count by their
/// pr-errors retry class ([`CallOutcome::of_error`]: a transient error is a
/// failure, a permanent one does not count unless the breaker
/// [records all errors](crate::breaker::BreakerBuilder::record_all_errors)),
/// attempt timeouts are failures, other refusals are ignored. For an
/// operation whose error has no class, give the pipeline a classifier of
/// its own ([`PipelineBuilder::record_with`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Failures;

impl<T, E: CodedError> RecordOutcome<T, E> for Failures {
    #[inline]
    fn outcome(&self, attempt: &Result<T, CallError<E>>) -> CallOutcome {
        match attempt {
            Ok(_) => CallOutcome::Success,
            Err(CallError::Inner(error)) => CallOutcome::of_error(error),
            Err(CallError::Rejected(Error::Timeout { .. })) => CallOutcome::Failure,
            Err(CallError::Rejected(_)) => CallOutcome::Ignored,
        }
    }
}

/// Policies composed in one order, outermost first:
///
/// 1. **admission** ([`Admission`], a rate limiter): refuses at once;
/// 2. **bulkhead**: a place for the whole call, retries included;
/// 3. **total timeout**: bounds the whole call, retries and waits included;
/// 4. **retry**: each attempt goes through the stages below;
/// 5. **circuit breaker**: each attempt takes a permit and records its
///    outcome ([`RecordOutcome`]);
/// 6. **attempt timeout**: bounds one attempt.
///
/// The retry stage sees every attempt's outcome as `Result<T, CallError<E>>`:
/// with the default [`Transient`] predicate it also retries the inner
/// stages' transient refusals (an open breaker, waiting out its retry-after;
/// an attempt timeout), always within the total timeout. Give the retry a
/// predicate ([`Retry::retry_if`](crate::retry::Retry::retry_if)) to leave some of them out.
///
/// **Fast failure**: an outcome that asks for a retry-after (an open
/// breaker's time to its next probe, a server's `Retry-After`) ending past
/// the total timeout is not waited for: the call answers that outcome at
/// once ([`Error::CircuitOpen`] with its retry-after, `resilience.circuit_open`,
/// 503) instead of sleeping until the total timeout cuts it short with a
/// `resilience.timeout` (504) that hides why. A retry-after that fits is
/// waited out and the call retried.
///
/// This is .NET's standard resilience pipeline (rate limit → total timeout
/// → retry → circuit breaker → attempt timeout) with the bulkhead next to
/// the rate limit, as Resilience4j places it. Every stage is optional.
/// Clones share every stage's state (breaker, bulkhead, retry budget,
/// admission), so one pipeline value can be cloned into many tasks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::{CallError, Error};
/// use pr_resilience::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Error> {
/// let pipeline = Pipeline::standard("inventory").build()?;
/// let attempts = std::sync::atomic::AtomicU32::new(0);
/// let answer = pipeline
///     .run(|| async {
///         if attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
///             // A transient error: retried after a backoff.
///             Err(Error::Rejected { name: "upstream".into(), retry_after: None })
///         } else {
///             Ok("in stock")
///         }
///     })
///     .await;
/// assert_eq!(answer.ok(), Some("in stock"));
/// assert_eq!(attempts.into_inner(), 2);
/// # Ok(())
/// # }
/// ```
pub struct Pipeline<R = NoRetry, B = Failures> {
    admission: Option<Arc<dyn Admission>>,
    bulkhead: Option<Bulkhead>,
    total_timeout: Option<(Arc<str>, Duration)>,
    retry: Option<Retry<R>>,
    breaker: Option<CircuitBreaker>,
    record: B,
    attempt_timeout: Option<(Arc<str>, Duration)>,
}

impl<R: Clone, B: Clone> Clone for Pipeline<R, B> {
    fn clone(&self) -> Self {
        Self {
            admission: self.admission.clone(),
            bulkhead: self.bulkhead.clone(),
            total_timeout: self.total_timeout.clone(),
            retry: self.retry.clone(),
            breaker: self.breaker.clone(),
            record: self.record.clone(),
            attempt_timeout: self.attempt_timeout.clone(),
        }
    }
}

impl<R, B> fmt::Debug for Pipeline<R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("admission", &self.admission.is_some())
            .field("bulkhead", &self.bulkhead)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

impl Pipeline {
    /// An empty pipeline builder.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            name: "pipeline".into(),
            admission: None,
            bulkhead: None,
            total_timeout: None,
            retry: None,
            breaker: None,
            record: Failures,
            attempt_timeout: None,
        }
    }

    /// .NET's standard resilience pipeline: total timeout 30 s; 3 retries of
    /// transient errors, exponential from 2 s with equal jitter; a breaker
    /// over a 30 s time window opening at a 10 % failure rate after 100
    /// calls, 5 s in open; attempt timeout 10 s. Add a rate limiter with
    /// [`admission`](crate::pipeline::PipelineBuilder::admission), and change any stage.
    pub fn standard(name: impl Into<String>) -> PipelineBuilder<Transient> {
        let name = name.into();
        let retry = crate::retry::RetryBuilder::default()
            .name(name.clone())
            .backoff(Backoff::Exponential {
                base: Duration::from_secs(2),
                factor: 2.0,
            })
            .jitter(Jitter::Equal)
            .max_retries(3);
        let breaker = CircuitBreaker::builder(name.clone())
            .sliding_window(SlidingWindow::Time {
                size: Duration::from_secs(30),
                buckets: 30,
            })
            .failure_rate_threshold(10.0)
            .minimum_calls(100)
            .wait_in_open(Duration::from_secs(5));
        PipelineBuilder {
            name,
            admission: None,
            bulkhead: None,
            total_timeout: Some(Duration::from_secs(30)),
            retry: Some(retry.build_infallible()),
            breaker: Some(BreakerStage::Builder(Box::new(breaker))),
            record: Failures,
            attempt_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl<R, B> Pipeline<R, B> {
    /// The breaker, if the pipeline has one.
    #[must_use]
    pub fn breaker(&self) -> Option<&CircuitBreaker> {
        self.breaker.as_ref()
    }

    /// The bulkhead, if the pipeline has one.
    #[must_use]
    pub fn bulkhead(&self) -> Option<&Bulkhead> {
        self.bulkhead.as_ref()
    }

    /// The retry policy, if the pipeline has one.
    #[must_use]
    pub fn retry(&self) -> Option<&Retry<R>> {
        self.retry.as_ref()
    }

    /// Runs `op` through every stage.
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] when a stage refused or cut short the call
    /// (after retries, the last attempt's), or the last attempt's own error
    /// as [`CallError::Inner`].
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, CallError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        R: Classify<T, CallError<E>>,
        B: RecordOutcome<T, E>,
    {
        if let Some(admission) = &self.admission {
            admission.try_acquire()?;
        }
        let _place = match &self.bulkhead {
            Some(bulkhead) => Some(bulkhead.acquire().await?),
            None => None,
        };
        match &self.total_timeout {
            Some((name, after)) => {
                // Read only when a retry-after could be weighed against it.
                let deadline = self
                    .retry
                    .is_some()
                    .then(|| tokio::time::Instant::now() + *after);
                match bounded(*after, self.retried(&mut op, deadline)).await {
                    Some(outcome) => outcome,
                    None => Err(CallError::Rejected(elapsed(name, *after))),
                }
            }
            None => self.retried(&mut op, None).await,
        }
    }

    async fn retried<T, E, F, Fut>(
        &self,
        op: &mut F,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<T, CallError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        R: Classify<T, CallError<E>>,
        B: RecordOutcome<T, E>,
    {
        let Some(retry) = &self.retry else {
            return self.attempt(op).await;
        };
        let mut outcome = self.attempt(op).await;
        let Decision::Retry { after } = retry.classifier().classify(&outcome) else {
            return outcome;
        };
        let mut state = retry.backoffs();
        let mut after = after;
        loop {
            if past_deadline(after, deadline) {
                tracing::debug!(
                    target: "pr_resilience::retry",
                    event = "retry.gave_up",
                    policy = %retry.name(),
                    attempts = state.attempts(),
                    reason = "retry_after_past_total_timeout",
                    "retry gave up: the retry-after ends past the total timeout"
                );
                return outcome;
            }
            let Some(wait) = state.next(after) else {
                if outcome.is_ok() && retry.fails_after_max_attempts() {
                    return Err(CallError::Rejected(Error::RetriesExhausted {
                        name: retry.name().to_owned(),
                        attempts: state.attempts(),
                    }));
                }
                return outcome;
            };
            retry.clock().sleep(wait).await;
            state.waited();
            outcome = self.attempt(op).await;
            match retry.classifier().classify(&outcome) {
                Decision::Accept => return outcome,
                Decision::Retry { after: next } => after = next,
            }
        }
    }

    #[inline]
    async fn attempt<T, E, F, Fut>(&self, op: &mut F) -> Result<T, CallError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        B: RecordOutcome<T, E>,
    {
        let permit = match &self.breaker {
            Some(breaker) => Some(breaker.try_acquire()?),
            None => None,
        };
        let outcome = match &self.attempt_timeout {
            Some((name, after)) => match bounded(*after, op()).await {
                Some(outcome) => outcome.map_err(CallError::Inner),
                None => Err(CallError::Rejected(elapsed(name, *after))),
            },
            None => op().await.map_err(CallError::Inner),
        };
        if let Some(permit) = permit {
            permit.record(self.record.outcome(&outcome));
        }
        outcome
    }
}

/// Whether a retry-after ends past the total timeout's deadline: waiting
/// for it would only end in the total timeout.
fn past_deadline(after: Option<Duration>, deadline: Option<tokio::time::Instant>) -> bool {
    match (after, deadline) {
        (Some(after), Some(deadline)) => {
            after > deadline.saturating_duration_since(tokio::time::Instant::now())
        }
        _ => false,
    }
}

enum BreakerStage {
    Builder(Box<BreakerBuilder>),
    Built(CircuitBreaker),
}

/// Builds a [`Pipeline`]; each stage is optional.
#[must_use]
pub struct PipelineBuilder<R = NoRetry, B = Failures> {
    name: String,
    admission: Option<Arc<dyn Admission>>,
    bulkhead: Option<Bulkhead>,
    total_timeout: Option<Duration>,
    retry: Option<Retry<R>>,
    breaker: Option<BreakerStage>,
    record: B,
    attempt_timeout: Option<Duration>,
}

impl<R, B> fmt::Debug for PipelineBuilder<R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<R, B> PipelineBuilder<R, B> {
    /// The name of the pipeline's timeouts in errors and metrics
    /// (`<name>.total`, `<name>.attempt`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The admission stage (a rate limiter).
    pub fn admission(mut self, admission: impl Admission + 'static) -> Self {
        self.admission = Some(Arc::new(admission));
        self
    }

    /// The bulkhead.
    pub fn bulkhead(mut self, bulkhead: Bulkhead) -> Self {
        self.bulkhead = Some(bulkhead);
        self
    }

    /// The total timeout (`None` removes it).
    pub fn total_timeout(mut self, after: Option<Duration>) -> Self {
        self.total_timeout = after;
        self
    }

    /// The attempt timeout (`None` removes it).
    pub fn attempt_timeout(mut self, after: Option<Duration>) -> Self {
        self.attempt_timeout = after;
        self
    }

    /// The retry policy; its predicate sees `Result<T, CallError<E>>`.
    pub fn retry<R2>(self, retry: Retry<R2>) -> PipelineBuilder<R2, B> {
        PipelineBuilder {
            name: self.name,
            admission: self.admission,
            bulkhead: self.bulkhead,
            total_timeout: self.total_timeout,
            retry: Some(retry),
            breaker: self.breaker,
            record: self.record,
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// The retry stage or none, with the predicate type `R2` either way: a
    /// pipeline made from configuration has one type whether or not it
    /// names a retry policy.
    pub(crate) fn retry_stage<R2>(self, retry: Option<Retry<R2>>) -> PipelineBuilder<R2, B> {
        PipelineBuilder {
            name: self.name,
            admission: self.admission,
            bulkhead: self.bulkhead,
            total_timeout: self.total_timeout,
            retry,
            breaker: self.breaker,
            record: self.record,
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// No retry stage.
    pub fn without_retry(self) -> PipelineBuilder<NoRetry, B> {
        PipelineBuilder {
            name: self.name,
            admission: self.admission,
            bulkhead: self.bulkhead,
            total_timeout: self.total_timeout,
            retry: None,
            breaker: self.breaker,
            record: self.record,
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// The circuit breaker, built from `breaker` (a built breaker can be
    /// shared instead with [`shared_breaker`](Self::shared_breaker)).
    pub fn breaker(mut self, breaker: BreakerBuilder) -> Self {
        self.breaker = Some(BreakerStage::Builder(Box::new(breaker)));
        self
    }

    /// No breaker stage.
    pub fn without_breaker(mut self) -> Self {
        self.breaker = None;
        self
    }

    /// How the breaker counts an attempt (the record / ignore predicates).
    pub fn record_with<B2>(self, record: B2) -> PipelineBuilder<R, B2> {
        PipelineBuilder {
            name: self.name,
            admission: self.admission,
            bulkhead: self.bulkhead,
            total_timeout: self.total_timeout,
            retry: self.retry,
            breaker: self.breaker,
            record,
            attempt_timeout: self.attempt_timeout,
        }
    }

    /// Uses an existing breaker (shared with other pipelines or a registry).
    pub fn shared_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(BreakerStage::Built(breaker));
        self
    }

    /// The pipeline.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] from the breaker's settings.
    pub fn build(self) -> Result<Pipeline<R, B>, Error> {
        let breaker = match self.breaker {
            Some(BreakerStage::Built(breaker)) => Some(breaker),
            Some(BreakerStage::Builder(builder)) => Some(builder.build()?),
            None => None,
        };
        let name = self.name;
        Ok(Pipeline {
            admission: self.admission,
            bulkhead: self.bulkhead,
            total_timeout: self
                .total_timeout
                .map(|after| (Arc::from(format!("{name}.total")), after)),
            retry: self.retry,
            breaker,
            record: self.record,
            attempt_timeout: self
                .attempt_timeout
                .map(|after| (Arc::from(format!("{name}.attempt")), after)),
        })
    }
}
