//! Retry with backoff: constant, linear, exponential and decorrelated
//! jitter (Polly's V2 formula), full or equal jitter, limits on attempts,
//! delay and elapsed time, predicates on errors and results, a server's
//! retry-after, an `on_retry` hook and a shared [`RetryBudget`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_errors::CodedError;

use crate::Error;
use crate::time::nanos;
use pr_core::time::Clock;

mod config;
#[cfg(feature = "tower")]
mod layer;

pub use config::{BackoffKind, RetryConfig};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{RetryLayer, RetryService};

/// How the wait before each retry grows.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Backoff {
    /// The same wait every time.
    Constant(Duration),
    /// `base × n` before the n-th retry.
    Linear(Duration),
    /// `base × factor^(n-1)` before the n-th retry.
    Exponential {
        /// The first wait.
        base: Duration,
        /// The growth per retry (≥ 1; 2 doubles).
        factor: f64,
    },
    /// Polly's "V2" decorrelated jitter: exponential growth around `median
    /// first wait` with well-spread random waits (jitter is built in; the
    /// [`Jitter`] setting is not applied on top).
    DecorrelatedJitter(Duration),
}

/// Randomness added to the computed wait, so that many clients do not retry
/// in lockstep (in configuration `"none"`, `"full"` or `"equal"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Jitter {
    /// The computed wait exactly.
    #[default]
    None,
    /// A random wait between zero and the computed wait.
    Full,
    /// Half the computed wait plus a random part of the other half.
    Equal,
}

/// What a classifier says about one attempt's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Keep this outcome (a success, or an error not worth retrying).
    Accept,
    /// Try again; `after` is the wait the outcome asks for (a server's
    /// retry-after), which wins over the computed backoff.
    Retry {
        /// The wait the outcome asked for, if any.
        after: Option<Duration>,
    },
}

/// Decides whether an outcome is retried: the retry predicate.
///
/// Implemented by [`Transient`] (the default), [`ErrorIf`], [`ResultIf`],
/// and every `Fn(&Result<T, E>) -> Decision`.
pub trait Classify<T, E> {
    /// The decision for one attempt's outcome.
    fn classify(&self, outcome: &Result<T, E>) -> Decision;
}

impl<T, E, F: Fn(&Result<T, E>) -> Decision> Classify<T, E> for F {
    #[inline]
    fn classify(&self, outcome: &Result<T, E>) -> Decision {
        self(outcome)
    }
}

/// The default predicate: retry the errors pr-errors classifies as
/// transient ([`CodedError::retry`]), waiting at least their retry-after.
/// The circuit breaker counts the same errors as failures, by the same rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct Transient;

impl<T, E: CodedError> Classify<T, E> for Transient {
    #[inline]
    fn classify(&self, outcome: &Result<T, E>) -> Decision {
        match outcome {
            Ok(_) => Decision::Accept,
            Err(error) => match crate::error::transient(error) {
                Some(class) => Decision::Retry {
                    after: class.retry_after(),
                },
                None => Decision::Accept,
            },
        }
    }
}

/// Retries the errors a predicate picks. Made by [`Retry::retry_if`](crate::retry::Retry::retry_if).
#[derive(Clone, Copy, Debug)]
pub struct ErrorIf<F>(F);

impl<T, E, F: Fn(&E) -> bool> Classify<T, E> for ErrorIf<F> {
    #[inline]
    fn classify(&self, outcome: &Result<T, E>) -> Decision {
        match outcome {
            Err(error) if (self.0)(error) => Decision::Retry { after: None },
            _ => Decision::Accept,
        }
    }
}

/// Retries the successful results a predicate picks, and otherwise asks
/// the inner classifier. Made by [`Retry::retry_result_if`](crate::retry::Retry::retry_result_if).
#[derive(Clone, Copy, Debug)]
pub struct ResultIf<C, F> {
    inner: C,
    result: F,
}

impl<T, E, C: Classify<T, E>, F: Fn(&T) -> bool> Classify<T, E> for ResultIf<C, F> {
    #[inline]
    fn classify(&self, outcome: &Result<T, E>) -> Decision {
        match outcome {
            Ok(value) if (self.result)(value) => Decision::Retry { after: None },
            _ => self.inner.classify(outcome),
        }
    }
}

/// What the `on_retry` hook sees before each wait.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The policy's name.
    pub name: &'a str,
    /// Which retry this is (1 for the first retry, the second attempt).
    pub retry: u32,
    /// The wait before it.
    pub delay: Duration,
    /// Whether the wait came from the outcome's retry-after.
    pub from_retry_after: bool,
}

type Hook = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

struct Settings {
    name: String,
    backoff: Backoff,
    jitter: Jitter,
    max_retries: u32,
    max_delay: Option<Duration>,
    max_elapsed: Option<Duration>,
    budget: Option<RetryBudget>,
    on_retry: Option<Hook>,
    clock: Clock,
    #[cfg_attr(
        not(feature = "pipeline"),
        expect(dead_code, reason = "read by pipelines only")
    )]
    fail_after_max_attempts: bool,
}

/// A retry policy; clones share settings and budget.
///
/// [`run`](crate::retry::Retry::run) retries an async operation (a closure returning a
/// future), [`run_mut`](crate::retry::Retry::run_mut) an `async` closure that borrows
/// mutable state, [`run_blocking`](crate::retry::Retry::run_blocking) a blocking one. The first attempt runs with no allocation and no clock
/// read; when it succeeds, that is all the policy costs. When the policy
/// gives up (attempts, elapsed time or budget spent, or an outcome not
/// worth retrying) it returns the last outcome as it is, as Polly and
/// Resilience4j do, and emits a `retry.gave_up` event (`tracing`, target
/// `pr_resilience::retry`) naming the limit that stopped it:
/// `max_retries`, `max_elapsed` or `budget`. A
/// [`Pipeline`](crate::pipeline::Pipeline) can answer
/// [`Error::RetriesExhausted`] instead for a result its predicate still
/// rejects ([`RetryBuilder::fail_after_max_attempts`](crate::retry::RetryBuilder::fail_after_max_attempts)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::retry::{Backoff, Jitter, Retry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), pr_resilience::Error> {
/// let retry = Retry::builder()
///     .backoff(Backoff::Exponential { base: Duration::from_millis(100), factor: 2.0 })
///     .jitter(Jitter::Full)
///     .max_retries(4)
///     .build()?
///     .retry_if(|error: &std::io::Error| error.kind() == std::io::ErrorKind::ConnectionReset);
///
/// let mut calls = 0;
/// let answer = retry
///     .run_mut(async || {
///         calls += 1;
///         if calls < 3 { Err(std::io::ErrorKind::ConnectionReset.into()) } else { Ok(42) }
///     })
///     .await;
/// assert_eq!(answer.ok(), Some(42));
/// assert_eq!(calls, 3);
/// # Ok(())
/// # }
/// ```
pub struct Retry<C = Transient> {
    settings: Arc<Settings>,
    classify: C,
}

impl<C: Clone> Clone for Retry<C> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
            classify: self.classify.clone(),
        }
    }
}

impl<C> fmt::Debug for Retry<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("name", &self.settings.name)
            .field("backoff", &self.settings.backoff)
            .field("jitter", &self.settings.jitter)
            .field("max_retries", &self.settings.max_retries)
            .field("max_delay", &self.settings.max_delay)
            .field("max_elapsed", &self.settings.max_elapsed)
            .finish_non_exhaustive()
    }
}

impl Retry {
    /// A builder with the defaults: 3 retries, exponential backoff from
    /// 200 ms doubling, equal jitter, at most 30 s between attempts,
    /// transient errors retried.
    pub fn builder() -> RetryBuilder {
        RetryBuilder::default()
    }
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            settings: Arc::new(RetryBuilder::default().settings()),
            classify: Transient,
        }
    }
}

impl<C> Retry<C> {
    /// Retries the errors `predicate` picks (instead of the transient ones).
    pub fn retry_if<F>(self, predicate: F) -> Retry<ErrorIf<F>> {
        Retry {
            settings: self.settings,
            classify: ErrorIf(predicate),
        }
    }

    /// Also retries the successful results `predicate` picks (a response
    /// with status 503, an empty page).
    pub fn retry_result_if<F>(self, predicate: F) -> Retry<ResultIf<C, F>> {
        Retry {
            settings: self.settings,
            classify: ResultIf {
                inner: self.classify,
                result: predicate,
            },
        }
    }

    /// Replaces the predicate by any [`Classify`].
    pub fn classify_with<D>(self, classify: D) -> Retry<D> {
        Retry {
            settings: self.settings,
            classify,
        }
    }

    /// The policy's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The predicate.
    pub fn classifier(&self) -> &C {
        &self.classify
    }

    /// Runs `op` (a closure returning a future), retrying as the policy
    /// says; answers the last outcome. The future is `Send` when the
    /// closure's futures are, so it can be spawned.
    ///
    /// # Errors
    ///
    /// The last attempt's error, when the policy gave up.
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, E>,
    {
        let mut outcome = op().await;
        let Decision::Retry { after } = self.classify.classify(&outcome) else {
            return outcome;
        };
        let mut state = Backoffs::new(&self.settings);
        let mut after = after;
        loop {
            let Some(wait) = state.next(after) else {
                return outcome;
            };
            self.settings.clock.sleep(wait).await;
            state.waited();
            outcome = op().await;
            match self.classify.classify(&outcome) {
                Decision::Accept => return outcome,
                Decision::Retry { after: next } => after = next,
            }
        }
    }

    /// Runs an async closure that borrows mutable state (`async || { conn.query().await }`
    /// with `conn: &mut Conn`), retrying as the policy says.
    ///
    /// Today's compiler cannot prove such a future `Send` for every
    /// lifetime, so await it where `Send` is not required (a
    /// current-thread runtime, `block_on`, a `LocalSet`); in spawned tasks
    /// use [`run`](Self::run).
    ///
    /// # Errors
    ///
    /// The last attempt's error, when the policy gave up.
    pub async fn run_mut<T, E, F>(&self, mut op: F) -> Result<T, E>
    where
        F: AsyncFnMut() -> Result<T, E>,
        C: Classify<T, E>,
    {
        // The same loop as `run`, not a call to it: `run` must stay `Send`
        // for spawned tasks, which an `AsyncFnMut` future cannot promise yet.
        let mut outcome = op().await;
        let Decision::Retry { after } = self.classify.classify(&outcome) else {
            return outcome;
        };
        let mut state = Backoffs::new(&self.settings);
        let mut after = after;
        loop {
            let Some(wait) = state.next(after) else {
                return outcome;
            };
            self.settings.clock.sleep(wait).await;
            state.waited();
            outcome = op().await;
            match self.classify.classify(&outcome) {
                Decision::Accept => return outcome,
                Decision::Retry { after: next } => after = next,
            }
        }
    }

    /// The first step of a retry loop written elsewhere (a pipeline, a
    /// tower service): the backoff state for an outcome to retry.
    #[cfg(feature = "pipeline")]
    pub(crate) fn backoffs(&self) -> Backoffs<'_> {
        Backoffs::new(&self.settings)
    }

    #[cfg(feature = "pipeline")]
    pub(crate) fn clock(&self) -> &Clock {
        &self.settings.clock
    }

    #[cfg(feature = "pipeline")]
    pub(crate) fn fails_after_max_attempts(&self) -> bool {
        self.settings.fail_after_max_attempts
    }

    /// Runs a blocking `op`, sleeping the thread between attempts (or moving
    /// a [`ManualClock`](pr_core::time::ManualClock) forward).
    ///
    /// # Errors
    ///
    /// The last attempt's error, when the policy gave up.
    pub fn run_blocking<T, E, F>(&self, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Result<T, E>,
        C: Classify<T, E>,
    {
        let mut outcome = op();
        let Decision::Retry { after } = self.classify.classify(&outcome) else {
            return outcome;
        };
        let mut state = Backoffs::new(&self.settings);
        let mut after = after;
        loop {
            let Some(wait) = state.next(after) else {
                return outcome;
            };
            self.settings.clock.sleep_blocking(wait);
            state.waited();
            outcome = op();
            match self.classify.classify(&outcome) {
                Decision::Accept => return outcome,
                Decision::Retry { after: next } => after = next,
            }
        }
    }

    /// The waits the policy would use for `retries` retries in a row when
    /// no outcome asks for a retry-after, ignoring elapsed time and budget;
    /// random where the backoff or jitter is.
    #[must_use]
    pub fn delays(&self, retries: u32) -> Vec<Duration> {
        let settings = &self.settings;
        let mut prev = 0.0;
        (1..=retries.min(settings.max_retries))
            .map(|n| compute(settings, n, &mut prev))
            .collect()
    }
}

/// The per-call state of the slow path: retries so far, elapsed time,
/// decorrelated jitter's running value, a budget token held while waiting.
pub(crate) struct Backoffs<'a> {
    settings: &'a Settings,
    retries: u32,
    started: u64,
    prev: f64,
    waiting: Option<Waiting<'a>>,
}

impl<'a> Backoffs<'a> {
    fn new(settings: &'a Settings) -> Self {
        Self {
            settings,
            retries: 0,
            started: settings.clock.now_nanos(),
            prev: 0.0,
            waiting: None,
        }
    }

    /// The wait before the next retry, or `None` to give up.
    pub(crate) fn next(&mut self, after: Option<Duration>) -> Option<Duration> {
        let settings = self.settings;
        if self.retries >= settings.max_retries {
            return self.give_up("max_retries");
        }
        let n = self.retries + 1;
        let computed = compute(settings, n, &mut self.prev);
        let wait = after.unwrap_or(computed);
        if let Some(max) = settings.max_elapsed {
            let elapsed = settings.clock.now_nanos().saturating_sub(self.started);
            if elapsed.saturating_add(nanos(wait)) > nanos(max) {
                return self.give_up("max_elapsed");
            }
        }
        if let Some(budget) = &settings.budget {
            match budget.withdraw() {
                Some(waiting) => self.waiting = Some(waiting),
                None => return self.give_up("budget"),
            }
        }
        self.retries = n;
        let event = RetryEvent {
            name: &settings.name,
            retry: n,
            delay: wait,
            from_retry_after: after.is_some(),
        };
        tracing::debug!(
            target: "pr_resilience::retry",
            event = "retry.scheduled",
            policy = %settings.name,
            retry = n,
            delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying after a backoff"
        );
        #[cfg(feature = "metrics")]
        crate::metrics::retry(&settings.name);
        if let Some(hook) = &settings.on_retry {
            hook(&event);
        }
        Some(wait)
    }

    /// The policy gives up: a `retry.gave_up` event naming the limit that
    /// stopped it (the caller gets the last outcome).
    #[cold]
    fn give_up(&self, reason: &'static str) -> Option<Duration> {
        tracing::debug!(
            target: "pr_resilience::retry",
            event = "retry.gave_up",
            policy = %self.settings.name,
            attempts = self.attempts(),
            reason,
            "retry gave up"
        );
        None
    }

    /// Attempts made so far, the first included.
    pub(crate) fn attempts(&self) -> u32 {
        self.retries + 1
    }

    /// The wait is over: the retry no longer counts as waiting.
    pub(crate) fn waited(&mut self) {
        self.waiting = None;
    }
}

/// The computed wait before retry `n`: the backoff capped at the maximum
/// delay, then jittered within that cap (so that waits that reach the cap
/// stay spread instead of all equal to it), as AWS's "full jitter" and
/// "equal jitter". A wait that overflows (a huge factor or retry count) is
/// the maximum delay, or `Duration::MAX` without one, never zero.
fn compute(settings: &Settings, n: u32, prev: &mut f64) -> Duration {
    let max = settings
        .max_delay
        .map_or(f64::INFINITY, |max| max.as_secs_f64());
    let capped = |secs: f64| if secs.is_nan() { max } else { secs.min(max) };
    let raw = match settings.backoff {
        Backoff::Constant(base) => apply_jitter(capped(base.as_secs_f64()), settings.jitter),
        Backoff::Linear(base) => {
            apply_jitter(capped(base.as_secs_f64() * f64::from(n)), settings.jitter)
        }
        Backoff::Exponential { base, factor } => {
            let exp = i32::try_from(n - 1).unwrap_or(i32::MAX);
            apply_jitter(
                capped(base.as_secs_f64() * factor.powi(exp)),
                settings.jitter,
            )
        }
        Backoff::DecorrelatedJitter(median) => {
            // Polly's DecorrelatedJitterBackoffV2 (Polly.Contrib.WaitAndRetry).
            const P_FACTOR: f64 = 4.0;
            const RP_SCALING_FACTOR: f64 = 1.0 / 1.4;
            let t = f64::from(n - 1) + fastrand::f64();
            let next = t.exp2() * (P_FACTOR * t).sqrt().tanh();
            let value = next - *prev;
            *prev = next;
            // Past ~1,000 retries `next` is infinite and `value` NaN
            // (infinity minus infinity): the cap, as Polly does.
            capped(value * RP_SCALING_FACTOR * median.as_secs_f64())
        }
    };
    if raw.is_nan() {
        return settings.max_delay.unwrap_or(Duration::MAX);
    }
    Duration::try_from_secs_f64(raw.max(0.0)).unwrap_or(Duration::MAX)
}

fn apply_jitter(secs: f64, jitter: Jitter) -> f64 {
    if secs.is_infinite() {
        // No cap and an overflowing backoff: a fraction of infinity is
        // still infinity (and `inf × 0` would be NaN).
        return secs;
    }
    match jitter {
        Jitter::None => secs,
        Jitter::Full => secs * fastrand::f64(),
        Jitter::Equal => secs / 2.0 + secs / 2.0 * fastrand::f64(),
    }
}

/// Builds a [`Retry`]; see [`Retry::builder`](crate::retry::Retry::builder) for the defaults.
#[must_use]
pub struct RetryBuilder {
    name: String,
    backoff: Backoff,
    jitter: Jitter,
    max_retries: u32,
    max_delay: Option<Duration>,
    max_elapsed: Option<Duration>,
    budget: Option<RetryBudget>,
    on_retry: Option<Hook>,
    clock: Option<Clock>,
    fail_after_max_attempts: bool,
}

impl Default for RetryBuilder {
    fn default() -> Self {
        Self {
            name: "retry".into(),
            backoff: Backoff::Exponential {
                base: Duration::from_millis(200),
                factor: 2.0,
            },
            jitter: Jitter::Equal,
            max_retries: 3,
            max_delay: Some(Duration::from_secs(30)),
            max_elapsed: None,
            budget: None,
            on_retry: None,
            clock: None,
            fail_after_max_attempts: false,
        }
    }
}

impl fmt::Debug for RetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBuilder")
            .field("name", &self.name)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl RetryBuilder {
    /// The name in events and metrics (`retry` by default).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How the wait grows.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Jitter on top of the backoff.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The most retries after the first attempt (0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The longest computed wait (a retry-after is not capped). Jitter
    /// applies within the cap: with [`Jitter::Full`] a wait that reached
    /// the cap is anywhere from zero to it.
    pub fn max_delay(mut self, max: Option<Duration>) -> Self {
        self.max_delay = max;
        self
    }

    /// Gives up when the next wait would end later than this after the
    /// first failure.
    pub fn max_elapsed(mut self, max: Option<Duration>) -> Self {
        self.max_elapsed = max;
        self
    }

    /// A budget shared with other policies; a retry takes a token before
    /// its wait, and without a token the policy gives up.
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Called before each wait.
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// The clock waits are measured and slept on.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// In a [`Pipeline`](crate::pipeline::Pipeline), when the policy gives up on a
    /// successful result its result predicate still rejects, answer
    /// [`Error::RetriesExhausted`] (`resilience.retries_exhausted`) instead
    /// of that result (Resilience4j's `failAfterMaxAttempts`). Off by
    /// default; [`Retry::run`](crate::retry::Retry::run) always answers the last outcome, having no
    /// error of its own to answer with.
    pub fn fail_after_max_attempts(mut self, fail: bool) -> Self {
        self.fail_after_max_attempts = fail;
        self
    }

    fn settings(self) -> Settings {
        #[cfg(feature = "metrics")]
        crate::metrics::describe();
        Settings {
            name: self.name,
            backoff: self.backoff,
            jitter: self.jitter,
            max_retries: self.max_retries,
            max_delay: self.max_delay,
            max_elapsed: self.max_elapsed,
            budget: self.budget,
            on_retry: self.on_retry,
            clock: self.clock.unwrap_or_default(),
            fail_after_max_attempts: self.fail_after_max_attempts,
        }
    }

    /// The policy, for settings known to be valid.
    #[cfg(feature = "pipeline")]
    pub(crate) fn build_infallible(self) -> Retry {
        Retry {
            settings: Arc::new(self.settings()),
            classify: Transient,
        }
    }

    /// The policy, retrying transient errors.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an exponential factor below 1 or not
    /// finite.
    pub fn build(self) -> Result<Retry, Error> {
        if let Backoff::Exponential { factor, .. } = self.backoff
            && !(factor.is_finite() && factor >= 1.0)
        {
            return Err(Error::invalid(
                "retry.backoff.factor",
                format!("must be a finite number >= 1, got {factor}"),
            ));
        }
        Ok(Retry {
            settings: Arc::new(self.settings()),
            classify: Transient,
        })
    }
}

/// A token bucket of retries shared by many policies, so that retries cannot
/// multiply an outage: every retry takes a token before its wait (a retry
/// waiting in backoff has already spent its token), tokens come back at a
/// fixed rate, and the bucket is never overdrawn.
///
/// Clones share the bucket. Hedging and failover take from the same kind of
/// budget.
#[derive(Clone)]
pub struct RetryBudget(Arc<BudgetInner>);

struct BudgetInner {
    capacity: f64,
    per_second: f64,
    clock: Clock,
    state: Mutex<BudgetState>,
}

struct BudgetState {
    tokens: f64,
    refilled_at: u64,
    waiting: u64,
    spent: u64,
}

/// A budget's figures.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct BudgetSnapshot {
    /// Tokens left now.
    pub available: f64,
    /// Retries that took a token and are still waiting in backoff.
    pub waiting: u64,
    /// Tokens taken since the budget was made.
    pub spent: u64,
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("capacity", &self.0.capacity)
            .field("per_second", &self.0.per_second)
            .finish_non_exhaustive()
    }
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens, refilled at `per_second`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a capacity below 1 or a negative or
    /// non-finite rate.
    pub fn new(capacity: u32, per_second: f64) -> Result<Self, Error> {
        Self::with_clock(capacity, per_second, Clock::default())
    }

    /// As [`new`](Self::new), on a given clock.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_clock(capacity: u32, per_second: f64, clock: Clock) -> Result<Self, Error> {
        if capacity == 0 {
            return Err(Error::invalid(
                "retry_budget.capacity",
                "must be at least 1",
            ));
        }
        if !(per_second.is_finite() && per_second >= 0.0) {
            return Err(Error::invalid(
                "retry_budget.per_second",
                format!("must be a finite number >= 0, got {per_second}"),
            ));
        }
        let now = clock.now_nanos();
        Ok(Self(Arc::new(BudgetInner {
            capacity: f64::from(capacity),
            per_second,
            clock,
            state: Mutex::new(BudgetState {
                tokens: f64::from(capacity),
                refilled_at: now,
                waiting: 0,
                spent: 0,
            }),
        })))
    }

    fn refill(&self, state: &mut BudgetState) {
        let now = self.0.clock.now_nanos();
        let elapsed = now.saturating_sub(state.refilled_at);
        #[expect(
            clippy::cast_precision_loss,
            reason = "nanoseconds to seconds, rounding is fine"
        )]
        let earned = elapsed as f64 / 1e9 * self.0.per_second;
        state.tokens = (state.tokens + earned).min(self.0.capacity);
        state.refilled_at = now;
    }

    /// Takes one token, or `None` when the bucket is empty.
    fn withdraw(&self) -> Option<Waiting<'_>> {
        let mut state = pr_core::sync::lock(&self.0.state);
        self.refill(&mut state);
        if state.tokens < 1.0 {
            tracing::debug!(target: "pr_resilience::retry", event = "retry.budget_exhausted", "retry budget exhausted");
            return None;
        }
        state.tokens -= 1.0;
        state.waiting += 1;
        state.spent += 1;
        Some(Waiting(self))
    }

    /// Takes one token for work that is not a retry wait (a hedge, a
    /// failover step); `false` when the bucket is empty.
    #[must_use]
    pub fn try_spend(&self) -> bool {
        let mut state = pr_core::sync::lock(&self.0.state);
        self.refill(&mut state);
        if state.tokens < 1.0 {
            return false;
        }
        state.tokens -= 1.0;
        state.spent += 1;
        true
    }

    /// The budget's figures now.
    #[must_use]
    pub fn snapshot(&self) -> BudgetSnapshot {
        let mut state = pr_core::sync::lock(&self.0.state);
        self.refill(&mut state);
        BudgetSnapshot {
            available: state.tokens,
            waiting: state.waiting,
            spent: state.spent,
        }
    }
}

/// A retry waiting in backoff; counted in [`BudgetSnapshot::waiting`](crate::retry::BudgetSnapshot::waiting) until
/// dropped.
struct Waiting<'a>(&'a RetryBudget);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = pr_core::sync::lock(&(self.0).0.state);
        state.waiting = state.waiting.saturating_sub(1);
    }
}
