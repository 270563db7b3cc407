//! The circuit breaker, with Resilience4j's semantics and a lock-free
//! closed path.
//!
//! ## How it works
//!
//! The state lives in one atomic word (state and a generation number). In
//! the closed state a call loads that word, reads the clock (for slow-call
//! timing), and on completion records its outcome in the sliding window
//! with atomic operations only: a count window is a ring of one-byte slots
//! with running failure and slow totals; a time window is a ring of buckets,
//! each one atomic word holding 16 bits of its epoch and its three counters,
//! beside the whole epoch it last rolled over to (so a long idle cannot
//! bring old counts back through an aliased tag). The
//! thresholds are checked after each record (and skipped while the window
//! holds no failure and no slow call). Transitions take a mutex; calls never
//! do. Half-open permits are slots holding a lease's expiry time; a permit
//! whose call never completes is handed to another probe once its lease
//! expires.
//!
//! ## What counts as a failure
//!
//! An error counts by its pr-errors retry class ([`CodedError::retry`]),
//! the one rule by which the retry policy's `Transient` predicate retries:
//! a transient error (a timeout, a refused connection, a 503) is a failure;
//! a permanent one (bad input, a 404 "city not found", a missing
//! permission) is [`CallOutcome::PermanentError`], which the breaker counts
//! as neither a success nor a failure, as Resilience4j counts its
//! `ignoreExceptions`.
//! Not a failure: it says the caller was wrong, not that the dependency is
//! unwell, so no number of them opens the breaker. Not a success either: it
//! may never have reached the dependency (a request our own validation
//! refused) and so says nothing of its health, and counting it as a success
//! would let a flood of 404s dilute the failure rate of the calls that time
//! out. It is not timed as a slow call, and in half-open a probe that ends
//! in one frees its slot for another probe, as an ignored call does.
//! [`BreakerBuilder::record_all_errors`] counts every error as a failure
//! instead (Resilience4j's default).
//!
//! [`call`](CircuitBreaker::call) and
//! [`call_blocking`](CircuitBreaker::call_blocking) classify so through
//! [`CallOutcome::of`], as do the breaker's tower layer (its default
//! `ByRetryClass`) and a pipeline's breaker stage (its default `Failures`).
//! An error type without a class goes through
//! [`call_with`](CircuitBreaker::call_with) (or a layer's or pipeline's
//! `record_with`) with a classifier of its own.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::time::nanos;
use crate::{CallError, Error};
use pr_core::time::Clock;
use pr_errors::CodedError;

mod config;
#[cfg(feature = "health")]
mod health;
#[cfg(feature = "tower")]
mod layer;
mod registry;

pub use config::{BreakerConfig, SlidingWindowKind};
#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
pub use health::{BreakerCheck, RegistryCheck};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{BreakerLayer, BreakerService, ByRetryClass, ErrorsFail, RecordResponse};
pub use registry::BreakerRegistry;

/// The breaker's sliding window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlidingWindow {
    /// The last `n` calls.
    Count(u32),
    /// The calls of the last `size`, counted in `buckets` buckets (the
    /// window slides one bucket at a time). Each bucket counts up to 65,535
    /// calls; past that, the bucket's rates are those of its first 65,535.
    Time {
        /// The window's length.
        size: Duration,
        /// How many buckets it is cut into (1 to 1,024).
        buckets: u32,
    },
}

/// A breaker's state (serialized as its [`as_str`](State::as_str) name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum State {
    /// Calls pass and are recorded.
    Closed,
    /// Calls are refused until the wait in open ends.
    Open,
    /// A limited number of probe calls pass and decide.
    HalfOpen,
    /// Refuses every call until released (manual).
    ForcedOpen,
    /// Lets every call pass and records them, never opens (manual).
    ForcedClosed,
    /// Lets every call pass, records nothing (manual).
    Disabled,
    /// Records calls and reports when it would open, never refuses.
    MetricsOnly,
}

impl State {
    /// Every state, `Closed` (where a breaker starts) first.
    #[cfg(feature = "metrics")]
    pub(crate) const ALL: [Self; 7] = [
        Self::Closed,
        Self::Open,
        Self::HalfOpen,
        Self::ForcedOpen,
        Self::ForcedClosed,
        Self::Disabled,
        Self::MetricsOnly,
    ];

    /// The state's name in events and metrics.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::ForcedOpen => "forced_open",
            Self::ForcedClosed => "forced_closed",
            Self::Disabled => "disabled",
            Self::MetricsOnly => "metrics_only",
        }
    }

    const fn code(self) -> u64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
            Self::ForcedOpen => 3,
            Self::ForcedClosed => 4,
            Self::Disabled => 5,
            Self::MetricsOnly => 6,
        }
    }

    const fn from_code(code: u64) -> Self {
        match code & 7 {
            0 => Self::Closed,
            1 => Self::Open,
            2 => Self::HalfOpen,
            3 => Self::ForcedOpen,
            4 => Self::ForcedClosed,
            5 => Self::Disabled,
            _ => Self::MetricsOnly,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one call counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// A success (still slow if it took longer than the slow-call duration).
    Success,
    /// A failure.
    Failure,
    /// An error that trying again cannot fix (pr-errors' permanent class:
    /// bad input, a 404): not counted at all, as [`Ignored`](Self::Ignored),
    /// unless the breaker was built with
    /// [`record_all_errors`](BreakerBuilder::record_all_errors), which
    /// counts it as a failure. See the [module](self) for why.
    PermanentError,
    /// Not counted at all (a client error, a cancelled call).
    Ignored,
}

impl CallOutcome {
    /// How an outcome counts by default: a success, or
    /// [`of_error`](Self::of_error) for an error.
    ///
    /// ```
    /// use pr_resilience::breaker::CallOutcome;
    /// use pr_resilience::Error;
    ///
    /// let after = std::time::Duration::from_secs(1);
    /// let timed_out = Err::<(), _>(Error::Timeout { name: "db".into(), after });
    /// assert_eq!(CallOutcome::of(&timed_out), CallOutcome::Failure);
    /// assert_eq!(CallOutcome::of(&Ok::<_, Error>(())), CallOutcome::Success);
    /// ```
    #[inline]
    pub fn of<T, E: CodedError>(outcome: &Result<T, E>) -> Self {
        match outcome {
            Ok(_) => Self::Success,
            Err(error) => Self::of_error(error),
        }
    }

    /// How an error counts by default, by its pr-errors retry class: a
    /// transient error is a [`Failure`](Self::Failure), a permanent one a
    /// [`PermanentError`](Self::PermanentError).
    #[inline]
    pub fn of_error<E: CodedError + ?Sized>(error: &E) -> Self {
        if crate::error::transient(error).is_some() {
            Self::Failure
        } else {
            Self::PermanentError
        }
    }
}

/// A state change, as listeners see it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Transition<'a> {
    /// The breaker's name.
    pub name: &'a str,
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// The window's failure rate (percent) when the change was decided.
    pub failure_rate: f64,
    /// The window's slow-call rate (percent) when the change was decided.
    pub slow_call_rate: f64,
}

type Listener = Arc<dyn Fn(&Transition<'_>) + Send + Sync>;

/// The configuration keys ([`BreakerConfig`]'s) of the window's shape, a
/// change of which [`CircuitBreaker::retune`] applies by starting a new
/// window.
pub const WINDOW_KEYS: &[&str] = &[
    "sliding_window",
    "window_size",
    "window_duration",
    "window_buckets",
];

/// The configuration keys ([`BreakerConfig`]'s) of what
/// [`CircuitBreaker::retune`] changes on a live breaker while keeping its
/// window (see also [`WINDOW_KEYS`]).
pub const RETUNABLE: &[&str] = &[
    "failure_rate_threshold",
    "slow_call_rate_threshold",
    "minimum_calls",
    "wait_in_open",
    "open_backoff_factor",
    "max_wait_in_open",
    "record_all_errors",
];

/// The settings a live breaker takes from [`CircuitBreaker::retune`]: each
/// an atomic read where it is used, so a change applies to the next
/// decision and the window, state and counts are kept.
struct Tuning {
    /// Percent, as `f64` bits.
    failure_rate: AtomicU64,
    /// Percent, as `f64` bits.
    slow_rate: AtomicU64,
    minimum_calls: AtomicU32,
    /// Nanoseconds.
    wait_open: AtomicU64,
    /// As `f64` bits.
    open_factor: AtomicU64,
    /// Nanoseconds.
    max_wait_open: AtomicU64,
    /// Whether a [`CallOutcome::PermanentError`] counts as a failure (else
    /// it is ignored).
    record_all_errors: AtomicBool,
}

impl Tuning {
    fn new(builder: &BreakerBuilder) -> Self {
        let tuning = Self {
            failure_rate: AtomicU64::new(0),
            slow_rate: AtomicU64::new(0),
            minimum_calls: AtomicU32::new(0),
            wait_open: AtomicU64::new(0),
            open_factor: AtomicU64::new(0),
            max_wait_open: AtomicU64::new(0),
            record_all_errors: AtomicBool::new(false),
        };
        tuning.set(builder);
        tuning
    }

    fn set(&self, b: &BreakerBuilder) {
        let relaxed = Ordering::Relaxed;
        self.failure_rate.store(b.failure_rate.to_bits(), relaxed);
        self.slow_rate.store(b.slow_rate.to_bits(), relaxed);
        self.minimum_calls.store(b.minimum_calls.max(1), relaxed);
        self.wait_open.store(nanos(b.wait_open), relaxed);
        self.open_factor.store(b.open_factor.to_bits(), relaxed);
        let max = b.max_wait_open.max(b.wait_open);
        self.max_wait_open.store(nanos(max), relaxed);
        self.record_all_errors.store(b.record_all_errors, relaxed);
    }

    fn failure_rate(&self) -> f64 {
        f64::from_bits(self.failure_rate.load(Ordering::Relaxed))
    }

    fn slow_rate(&self) -> f64 {
        f64::from_bits(self.slow_rate.load(Ordering::Relaxed))
    }

    fn minimum_calls(&self) -> u32 {
        self.minimum_calls.load(Ordering::Relaxed)
    }

    fn wait_open(&self) -> Duration {
        Duration::from_nanos(self.wait_open.load(Ordering::Relaxed))
    }

    fn open_factor(&self) -> f64 {
        f64::from_bits(self.open_factor.load(Ordering::Relaxed))
    }

    fn max_wait_open(&self) -> Duration {
        Duration::from_nanos(self.max_wait_open.load(Ordering::Relaxed))
    }

    fn record_all_errors(&self) -> bool {
        self.record_all_errors.load(Ordering::Relaxed)
    }
}

/// A breaker's figures.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The state.
    pub state: State,
    /// Calls in the window.
    pub calls: u32,
    /// Failed calls in the window.
    pub failures: u32,
    /// Slow calls in the window.
    pub slow_calls: u32,
    /// How many times in a row it re-opened from half-open.
    pub reopens: u32,
}

const FAILURE: u8 = 2;
const SLOW: u8 = 4;
const RECORDED: u8 = 1;
const LEASE_FREE: u64 = 0;
const LEASE_DONE: u64 = u64::MAX;

struct Inner {
    name: String,
    /// What [`CircuitBreaker::retune`] changes on the live breaker.
    tuning: Tuning,
    slow_nanos: u64,
    permitted: u32,
    lease_nanos: u64,
    /// The clock given, or the precise clock when the one given is too
    /// coarse for the slow-call duration.
    clock: Clock,
    /// `generation << 3 | state code`.
    state: AtomicU64,
    open_until: AtomicU64,
    reopens: AtomicU32,
    /// The window, and after each change of its shape by
    /// [`CircuitBreaker::retune`] the new one chained after it (see
    /// [`Windows`]).
    window: Windows,
    /// The shape of `window`, compared by `retune`.
    window_shape: Mutex<SlidingWindow>,
    leases: Box<[AtomicU64]>,
    probe_failures: AtomicU32,
    probe_slow: AtomicU32,
    probes_done: AtomicU32,
    /// In metrics-only mode, whether the window is past a threshold and
    /// `breaker.would_open` was reported for this crossing.
    would_open: AtomicBool,
    transition: Mutex<()>,
    listeners: Vec<Listener>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::BreakerMetrics,
}

/// A circuit breaker; clones share one state.
///
/// # Examples
///
/// ```
/// use std::io::{Error as IoError, ErrorKind};
/// use std::time::Duration;
/// use pr_errors::ResultExt as _;
/// use pr_resilience::Clock;
/// use pr_resilience::breaker::{CircuitBreaker, SlidingWindow, State};
///
/// pr_errors::codes! {
///     /// This example's codes.
///     static CODES;
///     /// The payment provider did not answer.
///     UNREACHABLE = "payments.unreachable", BAD_GATEWAY, transient;
///     /// No such card.
///     NO_CARD = "payments.no_card", NOT_FOUND, permanent;
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), pr_resilience::Error> {
/// let breaker = CircuitBreaker::builder("payments")
///     .clock(Clock::tokio()) // tokio's paused time drives it
///     .sliding_window(SlidingWindow::Count(10))
///     .minimum_calls(4)
///     .failure_rate_threshold(50.0)
///     .wait_in_open(Duration::from_secs(30))
///     .build()?;
///
/// // A permanent error says the caller was wrong: it does not count.
/// for _ in 0..10 {
///     let missing = Err::<(), _>(IoError::from(ErrorKind::NotFound)).classify(&NO_CARD);
///     let _ = breaker.call(async { missing }).await;
/// }
/// assert_eq!(breaker.state(), State::Closed);
/// // A transient one is a failure.
/// for _ in 0..4 {
///     let refused = Err::<(), _>(IoError::from(ErrorKind::ConnectionRefused));
///     let _ = breaker.call(async { refused.classify(&UNREACHABLE) }).await;
/// }
/// assert_eq!(breaker.state(), State::Open);
/// let refused = breaker.peek().unwrap_err();
/// assert_eq!(refused.retry_after(), Some(Duration::from_secs(30)));
/// tokio::time::advance(Duration::from_secs(30)).await;
/// assert!(breaker.peek().is_ok()); // a probe may go
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CircuitBreaker(Arc<Inner>);

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.0.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// A permission to make one call, as plain data, for callers that cannot
/// hold a borrowed [`Permit`] (a `'static` future). Give it back with
/// [`CircuitBreaker::record`](crate::breaker::CircuitBreaker::record) or [`CircuitBreaker::release`](crate::breaker::CircuitBreaker::release).
#[derive(Debug)]
#[must_use = "a permit must be recorded or released"]
pub struct RawPermit {
    generation: u64,
    start: u64,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counted,
    Unrecorded,
    Probe { slot: usize, token: u64 },
}

/// A permission to make one call; record its outcome with
/// [`record`](crate::breaker::Permit::record). Dropped without a record, the call does not
/// count (a half-open probe slot is freed at once).
#[must_use = "a permit must be recorded, or the call does not count"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    raw: Option<RawPermit>,
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("raw", &self.raw).finish()
    }
}

impl Permit<'_> {
    /// Records the call's outcome.
    #[inline]
    pub fn record(mut self, outcome: CallOutcome) {
        if let Some(raw) = self.raw.take() {
            self.breaker.record(raw, outcome);
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            self.breaker.release(raw);
        }
    }
}

impl CircuitBreaker {
    /// A builder with Resilience4j's defaults: a count window of 100 calls,
    /// 50 % failure rate, 100 % slow-call rate over 60 s, 100 minimum
    /// calls, 10 permitted half-open calls, 60 s in open; except that
    /// permanent errors do not count (see the [module](self) and
    /// [`BreakerBuilder::record_all_errors`]).
    pub fn builder(name: impl Into<String>) -> BreakerBuilder {
        BreakerBuilder::new(name)
    }

    /// The breaker's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Takes `settings`' thresholds while running, keeping its state, its
    /// window and their counts: the failure and slow-call rate thresholds,
    /// the minimum calls, the wait in open with its backoff factor and
    /// maximum, and whether permanent errors count ([`RETUNABLE`] names
    /// their configuration keys). Each applies to the next decision (an
    /// open breaker keeps the wait it was given). A window of another shape
    /// (kind, size, duration or buckets: [`WINDOW_KEYS`]) starts a new,
    /// empty window of that shape, logged `breaker.window_changed`; the
    /// state is kept (an open breaker stays open until its wait ends), and
    /// the calls in flight are recorded in the new window. The rest sizes
    /// the state (the half-open probes and their lease, the slow-call
    /// duration and the clock it chose): `settings`' values for those are
    /// ignored, and a new breaker applies them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`], as [`BreakerBuilder::build`] names it;
    /// nothing changes then.
    pub fn retune(&self, settings: &BreakerBuilder) -> Result<(), Error> {
        settings.check()?;
        self.0.tuning.set(settings);
        let mut shape = pr_core::sync::lock(&self.0.window_shape);
        if *shape != settings.window {
            self.0.window.replace(settings.window);
            tracing::info!(
                event = "breaker.window_changed",
                breaker = %self.0.name,
                from = ?*shape,
                to = ?settings.window,
                "breaker window changed: a new, empty window started"
            );
            *shape = settings.window;
        }
        drop(shape);
        tracing::info!(
            event = "breaker.retuned",
            breaker = %self.0.name,
            failure_rate_threshold = settings.failure_rate,
            slow_call_rate_threshold = settings.slow_rate,
            minimum_calls = settings.minimum_calls,
            "breaker thresholds changed"
        );
        Ok(())
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> State {
        State::from_code(self.0.state.load(Ordering::Acquire))
    }

    /// Takes a permit for one call, or refuses with
    /// [`Error::CircuitOpen`] carrying the time until the next probe.
    ///
    /// # Errors
    ///
    /// [`Error::CircuitOpen`] when the breaker is open, forced open, or
    /// half-open with every probe taken.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Error> {
        let raw = self.acquire_raw()?;
        Ok(Permit {
            breaker: self,
            raw: Some(raw),
        })
    }

    /// [`try_acquire`](Self::try_acquire) as plain data.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    #[inline]
    pub fn acquire_raw(&self) -> Result<RawPermit, Error> {
        let inner = &*self.0;
        let word = inner.state.load(Ordering::Acquire);
        match word & 7 {
            0 | 4 | 6 => Ok(RawPermit {
                generation: word,
                start: if inner.slow_nanos == u64::MAX {
                    0
                } else {
                    inner.clock.now_nanos()
                },
                kind: Kind::Counted,
            }),
            5 => Ok(RawPermit {
                generation: word,
                start: 0,
                kind: Kind::Unrecorded,
            }),
            _ => self.acquire_slow(word),
        }
    }

    #[cold]
    fn acquire_slow(&self, mut word: u64) -> Result<RawPermit, Error> {
        let inner = &*self.0;
        loop {
            let now = inner.clock.now_nanos();
            match State::from_code(word) {
                State::Open => {
                    let until = inner.open_until.load(Ordering::Acquire);
                    if now < until {
                        return Err(self.open_error(Duration::from_nanos(until - now)));
                    }
                    self.to_half_open(word);
                    word = inner.state.load(Ordering::Acquire);
                }
                State::HalfOpen => {
                    for (slot, lease) in inner.leases.iter().enumerate() {
                        let current = lease.load(Ordering::Acquire);
                        let free =
                            current == LEASE_FREE || (current != LEASE_DONE && current <= now);
                        if !free {
                            continue;
                        }
                        // Never 0 (free) nor `u64::MAX` (done), even for a lease of
                        // centuries.
                        let token = now
                            .saturating_add(inner.lease_nanos)
                            .clamp(1, LEASE_DONE - 1);
                        if lease
                            .compare_exchange(current, token, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                        {
                            if inner.state.load(Ordering::Acquire) != word {
                                // The breaker moved on while we took the slot.
                                let _ = lease.compare_exchange(
                                    token,
                                    current,
                                    Ordering::AcqRel,
                                    Ordering::Acquire,
                                );
                                break;
                            }
                            return Ok(RawPermit {
                                generation: word,
                                start: now,
                                kind: Kind::Probe { slot, token },
                            });
                        }
                    }
                    let latest = inner.state.load(Ordering::Acquire);
                    if latest != word {
                        word = latest;
                        continue;
                    }
                    return Err(self.open_error(self.next_lease_expiry(now)));
                }
                State::ForcedOpen => return Err(self.open_error(inner.tuning.wait_open())),
                _ => return self.acquire_raw(),
            }
        }
    }

    fn next_lease_expiry(&self, now: u64) -> Duration {
        let soonest = self
            .0
            .leases
            .iter()
            .map(|lease| lease.load(Ordering::Acquire))
            .filter(|&lease| lease != LEASE_FREE && lease != LEASE_DONE)
            .min();
        match soonest {
            Some(expiry) => Duration::from_nanos(expiry.saturating_sub(now)),
            // Every probe completed: the verdict is being written.
            None => Duration::ZERO,
        }
    }

    fn open_error(&self, retry_after: Duration) -> Error {
        #[cfg(feature = "metrics")]
        self.0.metrics.rejected.increment(1);
        // An event on the caller's span (an OpenTelemetry span event):
        // disabled, as it is unless a subscriber asks for DEBUG here, it
        // costs a cached check.
        tracing::debug!(
            target: "pr_resilience::breaker",
            event = "breaker.rejected",
            breaker = %self.0.name,
            retry_after_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
            "circuit open: call refused"
        );
        Error::CircuitOpen {
            name: self.0.name.clone(),
            retry_after,
        }
    }

    /// Whether a call would be allowed now, without taking a permit; the
    /// refusal carries the time until the next probe.
    ///
    /// # Errors
    ///
    /// [`Error::CircuitOpen`] when a call now would be refused.
    pub fn peek(&self) -> Result<(), Error> {
        let inner = &*self.0;
        let word = inner.state.load(Ordering::Acquire);
        let now = inner.clock.now_nanos();
        match State::from_code(word) {
            State::Open => {
                let until = inner.open_until.load(Ordering::Acquire);
                if now < until {
                    Err(Error::CircuitOpen {
                        name: inner.name.clone(),
                        retry_after: Duration::from_nanos(until - now),
                    })
                } else {
                    Ok(())
                }
            }
            State::HalfOpen => {
                let any_free = inner.leases.iter().any(|lease| {
                    let current = lease.load(Ordering::Acquire);
                    current == LEASE_FREE || (current != LEASE_DONE && current <= now)
                });
                if any_free {
                    Ok(())
                } else {
                    Err(Error::CircuitOpen {
                        name: inner.name.clone(),
                        retry_after: self.next_lease_expiry(now),
                    })
                }
            }
            State::ForcedOpen => Err(Error::CircuitOpen {
                name: inner.name.clone(),
                retry_after: inner.tuning.wait_open(),
            }),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a call made under `permit`.
    #[inline]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "taking the permit by value ends its use: it cannot be recorded twice"
    )]
    pub fn record(&self, permit: RawPermit, outcome: CallOutcome) {
        let inner = &*self.0;
        let outcome = match outcome {
            CallOutcome::PermanentError if inner.tuning.record_all_errors() => CallOutcome::Failure,
            CallOutcome::PermanentError => CallOutcome::Ignored,
            counted => counted,
        };
        match permit.kind {
            Kind::Unrecorded => {}
            Kind::Counted => {
                let slow = inner.slow_nanos != u64::MAX
                    && inner.clock.now_nanos().saturating_sub(permit.start) >= inner.slow_nanos;
                let code = match outcome {
                    CallOutcome::Ignored | CallOutcome::PermanentError => return,
                    CallOutcome::Success => RECORDED,
                    CallOutcome::Failure => RECORDED | FAILURE,
                } | if slow { SLOW } else { 0 };
                #[cfg(feature = "metrics")]
                inner.metrics.outcome(code);
                if inner.state.load(Ordering::Relaxed) != permit.generation {
                    return;
                }
                if let Some(rates) = inner.window.current().record(code, inner) {
                    self.exceeded(permit.generation, rates);
                } else if permit.generation & 7 == State::MetricsOnly.code()
                    && inner.would_open.load(Ordering::Relaxed)
                {
                    // Back under the thresholds: the next crossing reports.
                    inner.would_open.store(false, Ordering::Relaxed);
                }
            }
            Kind::Probe { slot, token } => self.record_probe(&permit, slot, token, outcome),
        }
    }

    /// Gives a permit back without an outcome (the call was cancelled).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "taking the permit by value ends its use: it cannot be recorded twice"
    )]
    pub fn release(&self, permit: RawPermit) {
        if let Kind::Probe { slot, token } = permit.kind
            && let Some(lease) = self.0.leases.get(slot)
        {
            let _ = lease.compare_exchange(token, LEASE_FREE, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn record_probe(&self, permit: &RawPermit, slot: usize, token: u64, outcome: CallOutcome) {
        let inner = &*self.0;
        let Some(lease) = inner.leases.get(slot) else {
            return;
        };
        if matches!(outcome, CallOutcome::Ignored | CallOutcome::PermanentError) {
            self.release(RawPermit { ..*permit });
            return;
        }
        if inner.state.load(Ordering::Acquire) != permit.generation {
            // A probe of an earlier half-open period (its slot may hold an
            // equal token of this one): its verdict no longer counts.
            return;
        }
        if lease
            .compare_exchange(token, LEASE_DONE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // The lease expired and went to another probe.
            return;
        }
        let slow = inner.slow_nanos != u64::MAX
            && inner.clock.now_nanos().saturating_sub(permit.start) >= inner.slow_nanos;
        if outcome == CallOutcome::Failure {
            inner.probe_failures.fetch_add(1, Ordering::AcqRel);
        }
        if slow {
            inner.probe_slow.fetch_add(1, Ordering::AcqRel);
        }
        let done = inner.probes_done.fetch_add(1, Ordering::AcqRel) + 1;
        if done < inner.permitted {
            return;
        }
        let failures = inner.probe_failures.load(Ordering::Acquire);
        let slow_calls = inner.probe_slow.load(Ordering::Acquire);
        let rates = Rates::new(done, failures, slow_calls);
        let to = if rates.failure_rate >= inner.tuning.failure_rate()
            || rates.slow_rate >= inner.tuning.slow_rate()
        {
            State::Open
        } else {
            State::Closed
        };
        self.transition(permit.generation, to, rates);
    }

    fn exceeded(&self, generation: u64, rates: Rates) {
        match State::from_code(generation) {
            State::Closed => self.transition(generation, State::Open, rates),
            // Once per crossing of a threshold, not once per call past it
            // (a flood of events at full traffic).
            State::MetricsOnly if !self.0.would_open.swap(true, Ordering::Relaxed) => {
                tracing::info!(
                    target: "pr_resilience::breaker",
                    event = "breaker.would_open",
                    breaker = %self.0.name,
                    failure_rate = rates.failure_rate,
                    slow_call_rate = rates.slow_rate,
                    "metrics-only breaker past a threshold: it would have opened"
                );
            }
            _ => {}
        }
    }

    fn to_half_open(&self, word: u64) {
        self.transition(word, State::HalfOpen, Rates::default());
    }

    /// Moves from the state word `from` (exactly) to `to`; does nothing if
    /// another thread moved first.
    fn transition(&self, from: u64, to: State, rates: Rates) {
        let inner = &*self.0;
        let guard = pr_core::sync::lock(&inner.transition);
        if inner.state.load(Ordering::Acquire) != from {
            return;
        }
        self.enter(from, to, rates);
        drop(guard);
    }

    /// Sets up `to` and publishes it; the transition lock is held.
    fn enter(&self, from: u64, to: State, rates: Rates) {
        let inner = &*self.0;
        let now = inner.clock.now_nanos();
        let from_state = State::from_code(from);
        match to {
            State::Open => {
                let reopens = if from_state == State::HalfOpen {
                    inner.reopens.fetch_add(1, Ordering::AcqRel) + 1
                } else {
                    inner.reopens.load(Ordering::Acquire)
                };
                let wait = self.open_wait(reopens);
                inner
                    .open_until
                    .store(now.saturating_add(nanos(wait)), Ordering::Release);
            }
            State::HalfOpen => {
                for lease in &inner.leases {
                    lease.store(LEASE_FREE, Ordering::Release);
                }
                inner.probe_failures.store(0, Ordering::Release);
                inner.probe_slow.store(0, Ordering::Release);
                inner.probes_done.store(0, Ordering::Release);
            }
            State::Closed => {
                inner.reopens.store(0, Ordering::Release);
                inner.window.current().reset();
            }
            State::ForcedClosed | State::MetricsOnly => inner.window.current().reset(),
            State::ForcedOpen | State::Disabled => {}
        }
        inner.would_open.store(false, Ordering::Relaxed);
        let generation = (from >> 3).wrapping_add(1);
        inner
            .state
            .store(generation << 3 | to.code(), Ordering::Release);
        let event = Transition {
            name: &inner.name,
            from: from_state,
            to,
            failure_rate: rates.failure_rate,
            slow_call_rate: rates.slow_rate,
        };
        tracing::info!(
            target: "pr_resilience::breaker",
            event = "breaker.transition",
            breaker = %inner.name,
            from = from_state.as_str(),
            to = to.as_str(),
            failure_rate = rates.failure_rate,
            slow_call_rate = rates.slow_rate,
            "circuit breaker changed state"
        );
        #[cfg(feature = "metrics")]
        inner
            .metrics
            .state(State::ALL.iter().position(|s| *s == to).unwrap_or(0));
        for listener in &inner.listeners {
            listener(&event);
        }
    }

    fn open_wait(&self, reopens: u32) -> Duration {
        let inner = &*self.0;
        let (wait, max) = (inner.tuning.wait_open(), inner.tuning.max_wait_open());
        let factor = inner
            .tuning
            .open_factor()
            .powi(i32::try_from(reopens).unwrap_or(i32::MAX));
        let secs = (wait.as_secs_f64() * factor).min(max.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(max)
    }

    fn set_state(&self, to: State) {
        let inner = &*self.0;
        let guard = pr_core::sync::lock(&inner.transition);
        let from = inner.state.load(Ordering::Acquire);
        self.enter(from, to, Rates::default());
        drop(guard);
    }

    /// Refuses every call until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.set_state(State::ForcedOpen);
    }

    /// Lets every call pass and records them without ever opening, until
    /// [`reset`](Self::reset).
    pub fn force_closed(&self) {
        self.set_state(State::ForcedClosed);
    }

    /// Lets every call pass and records nothing, until [`reset`](Self::reset).
    pub fn disable(&self) {
        self.set_state(State::Disabled);
    }

    /// Records calls and reports a `breaker.would_open` event (`tracing`,
    /// info) instead of opening, once each time the window crosses a
    /// threshold, until [`reset`](Self::reset).
    pub fn metrics_only(&self) {
        self.set_state(State::MetricsOnly);
    }

    /// Back to closed with an empty window.
    pub fn reset(&self) {
        self.set_state(State::Closed);
    }

    /// The breaker's figures now.
    #[must_use]
    pub fn snapshot(&self) -> BreakerSnapshot {
        let inner = &*self.0;
        let (calls, failures, slow_calls) = inner.window.current().totals(inner);
        BreakerSnapshot {
            state: self.state(),
            calls,
            failures,
            slow_calls,
            reopens: inner.reopens.load(Ordering::Acquire),
        }
    }

    /// Runs `fut` under a permit; its outcome counts by
    /// [`CallOutcome::of`]: a transient error is a failure, a permanent one
    /// does not count unless the breaker [records all
    /// errors](BreakerBuilder::record_all_errors). For an error type without
    /// a pr-errors class, use [`call_with`](Self::call_with).
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] when the breaker refuses the call, or the
    /// operation's error as [`CallError::Inner`].
    pub async fn call<T, E: CodedError>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        self.call_with(fut, CallOutcome::of).await
    }

    /// Runs `fut` under a permit; `classify` says how its outcome counts
    /// (the record and ignore predicates).
    ///
    /// ```
    /// use pr_resilience::breaker::{CallOutcome, CircuitBreaker};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), pr_resilience::Error> {
    /// let breaker = CircuitBreaker::builder("legacy").build()?;
    /// // An error without a pr-errors class: every error a failure.
    /// let every_error_fails = |outcome: &Result<(), std::io::Error>| match outcome {
    ///     Ok(()) => CallOutcome::Success,
    ///     Err(_) => CallOutcome::Failure,
    /// };
    /// let failed = breaker
    ///     .call_with(async { Err(std::io::ErrorKind::TimedOut.into()) }, every_error_fails)
    ///     .await;
    /// assert!(failed.is_err());
    /// assert_eq!(breaker.snapshot().failures, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_with<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
        classify: impl FnOnce(&Result<T, E>) -> CallOutcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire()?;
        let outcome = fut.await;
        permit.record(classify(&outcome));
        outcome.map_err(CallError::Inner)
    }

    /// Runs a blocking `op` under a permit; its outcome counts as
    /// [`call`](Self::call)'s does.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub fn call_blocking<T, E: CodedError>(
        &self,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire()?;
        let outcome = op();
        permit.record(CallOutcome::of(&outcome));
        outcome.map_err(CallError::Inner)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Rates {
    failure_rate: f64,
    slow_rate: f64,
}

impl Rates {
    fn new(calls: u32, failures: u32, slow: u32) -> Self {
        if calls == 0 {
            return Self::default();
        }
        Self {
            failure_rate: f64::from(failures) * 100.0 / f64::from(calls),
            slow_rate: f64::from(slow) * 100.0 / f64::from(calls),
        }
    }
}

enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

/// A breaker's window and the ones that replaced it, each set once after
/// the one before: without a change (the common case) finding the current
/// window is one atomic load, where a swappable pointer (`ArcSwap`) cost
/// the closed-state call a quarter of its time. A replaced window stays
/// allocated until the breaker drops: a change of shape is an operator's
/// reload, and a window is a byte per call (count) or 16 bytes per bucket
/// (time).
struct Windows {
    window: Window,
    next: std::sync::OnceLock<Box<Windows>>,
}

impl Windows {
    fn new(shape: SlidingWindow) -> Self {
        Self {
            window: Window::new(shape),
            next: std::sync::OnceLock::new(),
        }
    }

    /// The last of the chain.
    #[inline]
    fn last(&self) -> &Self {
        let mut windows = self;
        while let Some(next) = windows.next.get() {
            windows = next;
        }
        windows
    }

    /// The window in use.
    #[inline]
    fn current(&self) -> &Window {
        &self.last().window
    }

    /// Chains a new, empty window of `shape` as the current one. Callers
    /// hold the breaker's `window_shape` lock, so the last link is free.
    fn replace(&self, shape: SlidingWindow) {
        let _ = self.last().next.set(Box::new(Self::new(shape)));
    }
}

struct CountWindow {
    slots: Box<[AtomicU8]>,
    len: u32,
    /// `u64::MAX / len + 1`, for a division-free `index % len`.
    magic: u64,
    head: AtomicU64,
    failures: AtomicU32,
    slow: AtomicU32,
}

struct TimeWindow {
    /// `epoch:16 | calls:16 | failures:16 | slow:16`.
    buckets: Box<[AtomicU64]>,
    /// Beside each bucket, one more than the whole epoch it last rolled
    /// over to (0: never): the 16-bit tag alone cannot tell a bucket of this
    /// epoch from one a multiple of 65,536 epochs older (a long idle).
    stamps: Box<[AtomicU64]>,
    bucket_nanos: u64,
    /// One more than the last bucket epoch holding a failure or a slow
    /// call; 0 when there is none.
    last_bad: AtomicU64,
    /// The latest epoch a bucket rolled over to.
    newest: AtomicU64,
}

impl Window {
    fn new(window: SlidingWindow) -> Self {
        match window {
            SlidingWindow::Count(len) => Self::Count(CountWindow {
                slots: (0..len).map(|_| AtomicU8::new(0)).collect(),
                len,
                // Wraps to 0 for a window of 1, which fastmod maps to index 0.
                magic: (u64::MAX / u64::from(len)).wrapping_add(1),
                head: AtomicU64::new(0),
                failures: AtomicU32::new(0),
                slow: AtomicU32::new(0),
            }),
            SlidingWindow::Time { size, buckets } => Self::Time(TimeWindow {
                buckets: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
                stamps: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
                bucket_nanos: (nanos(size) / u64::from(buckets)).max(1),
                last_bad: AtomicU64::new(0),
                newest: AtomicU64::new(0),
            }),
        }
    }

    /// Records one call; answers the window's rates when a threshold is
    /// reached.
    #[inline]
    fn record(&self, code: u8, inner: &Inner) -> Option<Rates> {
        match self {
            Self::Count(window) => window.record(code, inner),
            Self::Time(window) => window.record(code, inner),
        }
    }

    fn totals(&self, inner: &Inner) -> (u32, u32, u32) {
        match self {
            Self::Count(window) => (
                u32::try_from(window.head.load(Ordering::Acquire))
                    .unwrap_or(u32::MAX)
                    .min(window.len),
                window.clamp(window.failures.load(Ordering::Acquire)),
                window.clamp(window.slow.load(Ordering::Acquire)),
            ),
            Self::Time(window) => window.sum(window.epoch(inner.clock.now_nanos())),
        }
    }

    fn reset(&self) {
        match self {
            Self::Count(window) => window.reset(),
            Self::Time(window) => {
                for bucket in &window.buckets {
                    bucket.store(0, Ordering::Release);
                }
                window.last_bad.store(0, Ordering::Release);
            }
        }
    }
}

fn exceeded(inner: &Inner, calls: u32, failures: u32, slow: u32, window_len: u32) -> Option<Rates> {
    if calls < inner.tuning.minimum_calls().min(window_len) || calls == 0 {
        return None;
    }
    let rates = Rates::new(calls, failures, slow);
    let tuning = &inner.tuning;
    (rates.failure_rate >= tuning.failure_rate() || rates.slow_rate >= tuning.slow_rate())
        .then_some(rates)
}

impl CountWindow {
    /// Counts one slot's flag set (`up`) or cleared; wraps, never panics:
    /// a total can dip below zero for an instant when a reset's decrement
    /// lands before a racing record's increment.
    #[inline]
    fn adjust(total: &AtomicU32, up: bool) -> u32 {
        if up {
            total.fetch_add(1, Ordering::AcqRel).wrapping_add(1)
        } else {
            total.fetch_sub(1, Ordering::AcqRel).wrapping_sub(1)
        }
    }

    /// A running total as read: one caught mid-race below zero (wrapped
    /// past the window's length) reads as zero.
    #[inline]
    fn clamp(&self, total: u32) -> u32 {
        if total > self.len { 0 } else { total }
    }

    /// Empties the window. Each slot is cleared the way a record changes
    /// it (swap, then adjust the totals by what it held), so a record
    /// racing the reset leaves the totals equal to the slots' contents
    /// instead of off by one for good (or wrapped to `u32::MAX`).
    fn reset(&self) {
        for slot in &self.slots {
            let old = slot.swap(0, Ordering::AcqRel);
            if old & FAILURE != 0 {
                Self::adjust(&self.failures, false);
            }
            if old & SLOW != 0 {
                Self::adjust(&self.slow, false);
            }
        }
        self.head.store(0, Ordering::Release);
    }

    #[inline]
    fn index(&self, head: u64) -> usize {
        // Lemire's fastmod on the low 32 bits of the head.
        let low = u64::from(head as u32);
        let fraction = self.magic.wrapping_mul(low);
        let index = (u128::from(fraction) * u128::from(self.len)) >> 64;
        usize::try_from(index).unwrap_or(0)
    }

    #[inline]
    fn record(&self, code: u8, inner: &Inner) -> Option<Rates> {
        let head = self.head.fetch_add(1, Ordering::AcqRel);
        let slot = self.slots.get(self.index(head))?;
        let old = if slot.load(Ordering::Relaxed) == code {
            code
        } else {
            slot.swap(code, Ordering::AcqRel)
        };
        let (mut failures, mut slow) = (None, None);
        if (old ^ code) & FAILURE != 0 {
            failures = Some(Self::adjust(&self.failures, code & FAILURE != 0));
        }
        if (old ^ code) & SLOW != 0 {
            slow = Some(Self::adjust(&self.slow, code & SLOW != 0));
        }
        let failures =
            self.clamp(failures.unwrap_or_else(|| self.failures.load(Ordering::Relaxed)));
        let slow = self.clamp(slow.unwrap_or_else(|| self.slow.load(Ordering::Relaxed)));
        if failures == 0 && slow == 0 {
            return None;
        }
        let calls = u32::try_from(head.saturating_add(1))
            .unwrap_or(u32::MAX)
            .min(self.len);
        exceeded(inner, calls, failures, slow, self.len)
    }
}

const FIELD: u64 = 0xFFFF;

impl TimeWindow {
    fn epoch(&self, now: u64) -> u64 {
        now / self.bucket_nanos
    }

    fn len(&self) -> u64 {
        self.buckets.len() as u64
    }

    #[inline]
    fn record(&self, code: u8, inner: &Inner) -> Option<Rates> {
        self.record_at(self.epoch(inner.clock.now_nanos()), code, inner)
    }

    #[inline]
    fn record_at(&self, epoch: u64, code: u8, inner: &Inner) -> Option<Rates> {
        let index = usize::try_from(epoch % self.len()).unwrap_or(0);
        let (bucket, stamp) = (self.buckets.get(index)?, self.stamps.get(index)?);
        let tag = epoch & FIELD;
        let add_failure = u64::from(code & FAILURE != 0);
        let add_slow = u64::from(code & SLOW != 0);
        let mut current = bucket.load(Ordering::Acquire);
        loop {
            let fresh = current >> 48 == tag && stamp.load(Ordering::Acquire) == epoch + 1;
            if !fresh {
                // The bucket rolls over to this epoch, unless a later
                // epoch than this call's has already been recorded a whole
                // window on (this thread read the clock, then stalled): the
                // call is out of the window, and overwriting the bucket
                // would lose that later epoch's calls.
                let newest = self.newest.fetch_max(epoch, Ordering::AcqRel).max(epoch);
                if epoch.saturating_add(self.len()) <= newest {
                    return None;
                }
                stamp.fetch_max(epoch + 1, Ordering::AcqRel);
            }
            let (calls, failures, slow) = if fresh {
                (
                    current >> 32 & FIELD,
                    current >> 16 & FIELD,
                    current & FIELD,
                )
            } else {
                (0, 0, 0)
            };
            if calls == FIELD {
                break;
            }
            let next =
                tag << 48 | (calls + 1) << 32 | (failures + add_failure) << 16 | (slow + add_slow);
            match bucket.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        if add_failure + add_slow > 0 {
            self.last_bad.fetch_max(epoch + 1, Ordering::AcqRel);
        } else if let last_bad = self.last_bad.load(Ordering::Relaxed)
            && (last_bad == 0 || last_bad - 1 + self.len() <= epoch)
        {
            // No failure and no slow call in the window: a success cannot
            // reach a threshold.
            return None;
        }
        let (calls, failures, slow) = self.sum(epoch);
        exceeded(inner, calls, failures, slow, u32::MAX)
    }

    fn sum(&self, epoch: u64) -> (u32, u32, u32) {
        let (mut calls, mut failures, mut slow) = (0u64, 0u64, 0u64);
        for back in 0..self.len().min(epoch + 1) {
            let at = epoch - back;
            let index = usize::try_from(at % self.len()).unwrap_or(0);
            let (Some(bucket), Some(stamp)) = (self.buckets.get(index), self.stamps.get(index))
            else {
                continue;
            };
            let value = bucket.load(Ordering::Acquire);
            if value >> 48 != at & FIELD || stamp.load(Ordering::Acquire) != at + 1 {
                continue;
            }
            calls += value >> 32 & FIELD;
            failures += value >> 16 & FIELD;
            slow += value & FIELD;
        }
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        (clamp(calls), clamp(failures), clamp(slow))
    }
}

/// Builds a [`CircuitBreaker`]; see [`CircuitBreaker::builder`](crate::breaker::CircuitBreaker::builder).
#[must_use]
#[derive(Clone)]
pub struct BreakerBuilder {
    name: String,
    window: SlidingWindow,
    failure_rate: f64,
    slow_rate: f64,
    slow_duration: Option<Duration>,
    minimum_calls: u32,
    permitted: u32,
    wait_open: Duration,
    open_factor: f64,
    max_wait_open: Duration,
    lease: Duration,
    record_all_errors: bool,
    clock: Option<Clock>,
    listeners: Vec<Listener>,
}

impl fmt::Debug for BreakerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerBuilder")
            .field("name", &self.name)
            .field("window", &self.window)
            .field("failure_rate", &self.failure_rate)
            .finish_non_exhaustive()
    }
}

impl BreakerBuilder {
    fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            window: SlidingWindow::Count(100),
            failure_rate: 50.0,
            slow_rate: 100.0,
            slow_duration: Some(Duration::from_secs(60)),
            minimum_calls: 100,
            permitted: 10,
            wait_open: Duration::from_secs(60),
            open_factor: 1.0,
            max_wait_open: Duration::from_secs(600),
            lease: Duration::from_secs(60),
            record_all_errors: false,
            clock: None,
            listeners: Vec::new(),
        }
    }

    pub(crate) fn name_ref(&self) -> &str {
        &self.name
    }

    /// The name in errors, events and metrics.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The sliding window.
    pub fn sliding_window(mut self, window: SlidingWindow) -> Self {
        self.window = window;
        self
    }

    /// Opens when the failure rate (percent, 0 < rate ≤ 100) reaches this.
    pub fn failure_rate_threshold(mut self, percent: f64) -> Self {
        self.failure_rate = percent;
        self
    }

    /// Opens when the slow-call rate (percent) reaches this.
    pub fn slow_call_rate_threshold(mut self, percent: f64) -> Self {
        self.slow_rate = percent;
        self
    }

    /// A call taking this long or longer is slow; `None` turns slow-call
    /// timing off (no clock read per call).
    ///
    /// Calls are timed on the breaker's [`clock`](Self::clock), unless its
    /// [`resolution`](Clock::resolution) is coarser than a tenth of this
    /// duration (the default system clock ticks every 1 to 10 ms on Linux):
    /// then the breaker reads [`Clock::precise`] instead, so a duration of
    /// 1 ms is neither rounded down to nothing nor up to a whole tick.
    /// (A [`ManualClock`](pr_core::time::ManualClock) or [`Clock::tokio`] is always
    /// kept: their resolution is 1 ns.)
    pub fn slow_call_duration(mut self, duration: Option<Duration>) -> Self {
        self.slow_duration = duration;
        self
    }

    /// No verdict before the window holds this many calls.
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.minimum_calls = calls;
        self
    }

    /// Probe calls in half-open (each a lease).
    pub fn permitted_calls_in_half_open(mut self, calls: u32) -> Self {
        self.permitted = calls;
        self
    }

    /// How long it stays open before letting probes through.
    pub fn wait_in_open(mut self, wait: Duration) -> Self {
        self.wait_open = wait;
        self
    }

    /// Each re-open from half-open multiplies the wait by `factor` (≥ 1),
    /// up to `max`.
    pub fn open_backoff(mut self, factor: f64, max: Duration) -> Self {
        self.open_factor = factor;
        self.max_wait_open = max;
        self
    }

    /// How long a half-open probe may run before its permit goes to
    /// another probe.
    pub fn probe_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Counts every error as a failure, a permanent one
    /// ([`CallOutcome::PermanentError`]) too, as Resilience4j does by
    /// default. Without it a permanent error does not count: see the
    /// [module](self) for why.
    pub fn record_all_errors(mut self) -> Self {
        self.record_all_errors = true;
        self
    }

    /// The clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Called on every state change.
    pub fn on_transition(
        mut self,
        listener: impl Fn(&Transition<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// The breaker, closed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad setting: a threshold
    /// outside (0, 100], an empty window, more than 1,024 buckets, zero
    /// permitted calls, a zero lease, an open backoff factor below 1.
    pub fn build(self) -> Result<CircuitBreaker, Error> {
        self.check()?;
        Ok(self.build_valid())
    }

    /// The first bad setting, as [`build`](Self::build) names it.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let invalid = |field: &str, message: String| Err(Error::invalid(field, message));
        if !(self.failure_rate > 0.0 && self.failure_rate <= 100.0) {
            return invalid(
                "breaker.failure_rate_threshold",
                format!("must be in (0, 100], got {}", self.failure_rate),
            );
        }
        if !(self.slow_rate > 0.0 && self.slow_rate <= 100.0) {
            return invalid(
                "breaker.slow_call_rate_threshold",
                format!("must be in (0, 100], got {}", self.slow_rate),
            );
        }
        match self.window {
            SlidingWindow::Count(0) => {
                return invalid(
                    "breaker.sliding_window",
                    "a count window needs at least 1 call".into(),
                );
            }
            SlidingWindow::Time { size, buckets }
                if buckets == 0 || buckets > 1024 || size.is_zero() =>
            {
                return invalid(
                    "breaker.sliding_window",
                    format!(
                        "a time window needs a non-zero size and 1 to 1024 buckets, got {buckets}"
                    ),
                );
            }
            _ => {}
        }
        if self.permitted == 0 || self.permitted > 1024 {
            return invalid(
                "breaker.permitted_calls_in_half_open",
                format!("must be 1 to 1024, got {}", self.permitted),
            );
        }
        if self.lease.is_zero() {
            return invalid("breaker.probe_lease", "must be more than zero".into());
        }
        if !(self.open_factor.is_finite() && self.open_factor >= 1.0) {
            return invalid(
                "breaker.open_backoff",
                format!(
                    "the factor must be a finite number >= 1, got {}",
                    self.open_factor
                ),
            );
        }
        Ok(())
    }

    /// The breaker, for settings already validated by [`build`](Self::build).
    pub(crate) fn build_valid(mut self) -> CircuitBreaker {
        let tuning = Tuning::new(&self);
        let clock = self.clock.take().unwrap_or_default();
        let clock = match self.slow_duration {
            Some(slow) => crate::time::for_durations(&clock, slow),
            None => clock,
        };
        CircuitBreaker(Arc::new(Inner {
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::BreakerMetrics::new(
                &self.name,
                &State::ALL.map(State::as_str),
            ),
            window: Windows::new(self.window),
            window_shape: Mutex::new(self.window),
            tuning,
            slow_nanos: self
                .slow_duration
                .map_or(u64::MAX, |d| nanos(d).min(u64::MAX - 1)),
            permitted: self.permitted,
            lease_nanos: nanos(self.lease),
            clock,
            state: AtomicU64::new(State::Closed.code()),
            open_until: AtomicU64::new(0),
            reopens: AtomicU32::new(0),
            leases: (0..self.permitted)
                .map(|_| AtomicU64::new(LEASE_FREE))
                .collect(),
            probe_failures: AtomicU32::new(0),
            probe_slow: AtomicU32::new(0),
            probes_done: AtomicU32::new(0),
            would_open: AtomicBool::new(false),
            transition: Mutex::new(()),
            listeners: self.listeners,
            name: self.name,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastmod_index_matches_the_remainder() {
        for len in [1u32, 2, 3, 7, 10, 100, 1_000, 65_537] {
            let window = Window::new(SlidingWindow::Count(len));
            let Window::Count(window) = window else {
                panic!("a count window");
            };
            for head in (0..5_000u64).chain([u64::from(u32::MAX) - 3, 1 << 31]) {
                let expected = usize::try_from(u64::from(head as u32) % u64::from(len));
                assert_eq!(Ok(window.index(head)), expected, "len {len}, head {head}");
            }
        }
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use pr_core::time::ManualClock;

    fn breaker(window: SlidingWindow, clock: &ManualClock) -> CircuitBreaker {
        CircuitBreaker::builder("w")
            .sliding_window(window)
            .minimum_calls(1_000_000)
            .clock(clock.clock())
            .build_valid()
    }

    /// Resets racing records leave the count window's totals equal to what
    /// its slots hold (the totals used to be zeroed apart from the slots: a
    /// record between its slot swap and its total update then left them
    /// off by one for good, or wrapped to `u32::MAX` on a decrement).
    #[test]
    fn count_window_totals_match_its_slots_after_resets_racing_records() {
        let clock = ManualClock::new();
        let breaker = breaker(SlidingWindow::Count(8), &clock);
        let Window::Count(window) = breaker.0.window.current() else {
            panic!("a count window");
        };
        let writers = AtomicU32::new(2);
        std::thread::scope(|scope| {
            for thread in 0..2u8 {
                let (breaker, writers) = (&breaker, &writers);
                scope.spawn(move || {
                    for i in 0..1_000_000u32 {
                        let code = match (i + u32::from(thread)) % 3 {
                            0 => RECORDED,
                            1 => RECORDED | FAILURE,
                            _ => RECORDED | FAILURE | SLOW,
                        };
                        let _ = window.record(code, &breaker.0);
                    }
                    writers.fetch_sub(1, Ordering::AcqRel);
                });
            }
            scope.spawn(|| {
                while writers.load(Ordering::Acquire) > 0 {
                    window.reset();
                    let (_, failures, slow) = breaker.0.window.current().totals(&breaker.0);
                    assert!(failures <= 8 && slow <= 8, "{failures} {slow}");
                }
            });
        });
        let in_slots = |flag: u8| {
            let held = window
                .slots
                .iter()
                .filter(|slot| slot.load(Ordering::Acquire) & flag != 0)
                .count();
            u32::try_from(held).unwrap_or(u32::MAX)
        };
        assert_eq!(window.failures.load(Ordering::Acquire), in_slots(FAILURE));
        assert_eq!(window.slow.load(Ordering::Acquire), in_slots(SLOW));
    }

    /// A record whose clock reading is a whole window older than what its
    /// bucket already holds is dropped, not written over the later epoch's
    /// calls.
    #[test]
    fn a_stalled_record_does_not_overwrite_a_later_bucket() {
        let clock = ManualClock::new();
        let breaker = breaker(
            SlidingWindow::Time {
                size: Duration::from_secs(10),
                buckets: 10,
            },
            &clock,
        );
        let Window::Time(window) = breaker.0.window.current() else {
            panic!("a time window");
        };
        clock.advance(Duration::from_secs(10)); // epoch 10: bucket 0
        let _ = window.record(RECORDED, &breaker.0);
        let _ = window.record(RECORDED, &breaker.0);
        // A thread that read the clock at epoch 0 (bucket 0 too) and
        // stalled: its record must not reset the bucket.
        let _ = window.record_at(0, RECORDED | FAILURE, &breaker.0);
        assert_eq!(window.sum(10), (2, 0, 0));
        // An old bucket is still reused by a later epoch.
        clock.advance(Duration::from_secs(10)); // epoch 20: bucket 0
        let _ = window.record(RECORDED | FAILURE, &breaker.0);
        assert_eq!(window.sum(20), (1, 1, 0));
        // After a long idle, a bucket whose 16-bit epoch tag happens to
        // read as slightly later than now's is still rolled over.
        clock.advance(Duration::from_secs(65_530)); // epoch 65,550: bucket 0, tag 14
        let _ = window.record(RECORDED, &breaker.0);
        assert_eq!(window.sum(65_550), (1, 0, 0));
    }

    /// After an idle of a multiple of 65,536 epochs every bucket's 16-bit
    /// tag matches again; the old counts still do not come back.
    #[test]
    fn old_buckets_whose_tags_alias_after_a_long_idle_are_not_counted() {
        let clock = ManualClock::new();
        let breaker = breaker(
            SlidingWindow::Time {
                size: Duration::from_secs(10),
                buckets: 10,
            },
            &clock,
        );
        let Window::Time(window) = breaker.0.window.current() else {
            panic!("a time window");
        };
        for _ in 0..10 {
            let _ = window.record(RECORDED | FAILURE, &breaker.0);
            clock.advance(Duration::from_secs(1));
        }
        assert_eq!(window.sum(9), (10, 10, 0));
        // 327,680 s = lcm(10 buckets, 65,536): same slots, same tags.
        clock.advance(Duration::from_secs(327_680 - 1)); // epoch 327,689: bucket 9, tag 9
        let _ = window.record(RECORDED, &breaker.0);
        assert_eq!(window.sum(327_689), (1, 0, 0));
        let _ = window.record(RECORDED | FAILURE, &breaker.0);
        assert_eq!(window.sum(327_689), (2, 1, 0));
    }
}
