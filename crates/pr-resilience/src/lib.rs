//! Retry, circuit breaker, timeout, bulkhead, fallback, hedging, failover and
//! pipelines; local and Redis rate limiters; a durable dead-letter queue;
//! tower layers and chaos injection.
//!
//! The strategies of Resilience4j and Polly v8, fast enough to wrap every
//! call, usable from async and blocking code and as tower layers, and
//! testable on a virtual clock. Errors speak pr-errors' vocabulary: every
//! refusal is a coded [`Error`] with a retry-after where one is known, and
//! the default retry predicate is pr-errors' transient classification.
//!
//! | strategy | type | notes |
//! |---|---|---|
//! | retry | [`Retry`] | constant / linear / exponential / decorrelated-jitter [`Backoff`], full or equal [`Jitter`], max attempts / delay / elapsed, predicates on errors and results ([`Classify`]), server retry-after wins, `on_retry` hook, shared [`RetryBudget`]; async, `async` closures borrowing state ([`Retry::run_mut`]), blocking |
//! | circuit breaker | [`CircuitBreaker`] | Resilience4j semantics: count and time [`SlidingWindow`]s, failure-rate and slow-call-rate thresholds, minimum calls, half-open probes as expiring leases, growing open wait, manual [`State`]s, [`CircuitBreaker::peek`], transitions as `tracing` events and listeners; lock-free closed path |
//! | keyed breakers | [`BreakerRegistry`] | a breaker per key, bounded, idle ones evicted |
//! | timeout | [`Timeout`] | tokio time; no timer for futures ready at once |
//! | bulkhead | [`Bulkhead`] | concurrency limit, bounded wait queue, max wait |
//! | fallback | [`Fallback`] | a value or a function of the error |
//! | hedging | [`Hedge`] | Polly's latency / parallel / sequential [`HedgeMode`]s; first acceptable wins, losers cancelled, all failed → primary's error |
//! | failover | [`Failover`] | ordered providers, open breakers skipped, one budget |
//! | pipeline | [`Pipeline`] | admission → bulkhead → total timeout → retry → breaker → attempt timeout; [`Pipeline::standard`] is .NET's standard pipeline |
//! | rate limit | [`RateLimiter`]: [`Gcra`], [`TokenBucket`], [`LeakyBucket`], [`SlidingWindowLog`], [`SlidingWindowCounter`] | one trait: `check()`, `check_n(n)`, `peek()`, `until_ready().await`; a refusal ([`Denied`]) carries the wait (Retry-After); [`Quota::per_second(100)`](Quota::per_second) is 100 a second; GCRA is one atomic word; each is an [`Admission`] stage |
//! | keyed rate limit | [`KeyedLimiter`] | GCRA per key in shards, at most `max_keys` keys (replenished keys dropped first); [`KeyedRateLimiter`] is what the tower layer takes |
//! | distributed rate limit | `RedisLimiter` (feature `redis`) | GCRA or sliding window as one Lua script on the server's clock; a reconnecting connection (redis' `ConnectionManager`, bounded back-off); a local breaker; fail open or closed; a health check per limiter (with `health`) |
//! | dead-letter queue | [`Dlq`] | durable segment files (length + CRC32C per record), explicit [`Durability`], bounds that refuse with `resilience.dlq_full`, replay that removes only what succeeded, purges, torn-tail recovery; [`Dlq::retry_or_dead_letter`] routes what a [`Retry`] gives up on |
//!
//! Every policy value is a cheap handle: clones share its state (a breaker's
//! window, a bulkhead's places, a budget's tokens), so one value serves many
//! tasks, and the tower services axum clones per connection share it too.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use pr_resilience::{Bulkhead, CallError, CircuitBreaker, Error, Pipeline, SlidingWindow};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Error> {
//! // .NET's standard pipeline, with a bulkhead and a smaller breaker window.
//! let pipeline = Pipeline::standard("inventory")
//!     .bulkhead(Bulkhead::builder("inventory").limit(32).build()?)
//!     .breaker(
//!         CircuitBreaker::builder("inventory")
//!             .sliding_window(SlidingWindow::Count(20))
//!             .minimum_calls(10)
//!             .wait_in_open(Duration::from_secs(5)),
//!     )
//!     .build()?;
//!
//! let answer = pipeline.run(|| async { Ok::<_, Error>("in stock") }).await;
//! assert_eq!(answer.ok(), Some("in stock"));
//!
//! // Refusals are coded errors with a retry-after. (The retry stage waited
//! // out each refusal's retry-after, 5 s, three times: all on paused time.)
//! pipeline.breaker().expect("a breaker").force_open();
//! let refused = pipeline.run(|| async { Ok::<_, Error>("in stock") }).await;
//! let Err(CallError::Rejected(error)) = refused else { unreachable!() };
//! assert_eq!(pr_errors::CodedError::code(&error).as_str(), "resilience.circuit_open");
//! # Ok(())
//! # }
//! ```
//!
//! # Rate limiting in a pipeline: [`Admission`]
//!
//! The first stage of a pipeline is an [`Admission`]: anything that admits
//! or refuses a call at once, without waiting:
//!
//! ```text
//! pub trait Admission: Send + Sync {
//!     fn try_acquire(&self) -> Result<(), Error>;
//! }
//! ```
//!
//! A refusal is the crate's [`Error`], carrying its retry-after
//! ([`Error::retry_after`]); the pipeline answers it as
//! [`CallError::Rejected`] and runs nothing else. The crate's rate limiters
//! implement it; so can any load shedder ([`PipelineBuilder::admission`]).
//!
//! # Time
//!
//! Everything that waits or measures reads the toolkit's one [`Clock`]
//! (`pr_core::time::Clock`, re-exported): by default the kernel's coarse
//! monotonic clock (a few nanoseconds a read, but it moves in kernel ticks
//! of 1 to 10 ms, see [`Clock::resolution`]; waits sleep on tokio), or
//! [`Clock::tokio`] to follow tokio's paused time in tests, or a
//! [`ManualClock`](pr_core::time::ManualClock) advanced by hand (blocking
//! code, threads; the same manual clock drives pr-cache, pr-logging and
//! pr-metrics). A breaker whose slow-call duration is under ten ticks times
//! its calls on the precise clock ([`Clock::precise`]) instead, and the rate
//! limiters read the precise clock by default (a permit every few
//! microseconds needs more than a tick's resolution). Timeouts and hedging
//! delays use tokio's timers directly, never the coarse clock.
//!
//! # Feature flags
//!
//! - `tower`: a layer per strategy and for a whole pipeline
//!   ([`BreakerLayer`], [`BulkheadLayer`], [`TimeoutLayer`], [`RetryLayer`],
//!   [`PipelineLayer`]), and `RateLimitLayer` (per-key rate limit answering
//!   429 with `Retry-After`, or waiting).
//!
//!   ```toml
//!   pr-resilience = { version = "0.1", features = ["tower"] }
//!   ```
//! - `metrics`: breaker outcomes, rejections and states, retries, bulkhead
//!   occupancy and rejections, timeouts, rate-limit refusals and evicted
//!   keys, DLQ records, bytes, pushes, refusals, replays and push failures
//!   by reason (`pr_resilience_dlq_push_failures_total{reason}`: `io`,
//!   `full`, `too_large`, `codec`) as `pr_resilience_*` metrics through
//!   the `metrics` facade (handles registered once per policy).
//!
//!   ```toml
//!   pr-resilience = { version = "0.1", features = ["metrics"] }
//!   ```
//! - `health`: a breaker (or a registry of them) as a pr-health check,
//!   Degraded while it refuses calls ([`BreakerCheck`], [`RegistryCheck`]);
//!   a dead-letter queue, Down when full, Degraded after a failed write
//!   (until a write succeeds) or when its filesystem's free space is under
//!   `DlqConfig::min_free` / `min_free_percent` (`DlqCheck`).
//!
//!   ```toml
//!   pr-resilience = { version = "0.1", features = ["health"] }
//!   ```
//! - `chaos`: fault, latency and outcome injection at a rate, behind an
//!   on/off switch ([`Chaos`]).
//!
//!   ```toml
//!   pr-resilience = { version = "0.1", features = ["chaos"] }
//!   ```
//! - `redis`: distributed rate limiters on Redis (`RedisLimiter`), which
//!   reconnect after the server restarts; with `health` too, each one's
//!   store as a check (`RedisLimiter::health_check`, Degraded while Redis
//!   does not answer).
//!
//!   ```toml
//!   pr-resilience = { version = "0.1", features = ["redis"] }
//!   ```
//!
//! # Errors
//!
//! Policies answer [`Error`] (`resilience.circuit_open`,
//! `resilience.bulkhead_full`, `resilience.timeout`, ...); its codes are in
//! [`codes`]. Around an operation's own error `E` they answer
//! [`CallError<E>`]: the policy's refusal or the operation's error,
//! untouched. When a retry gives up it answers the last attempt's outcome as
//! it is.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod admission;
mod breaker;
mod bulkhead;
#[cfg(feature = "chaos")]
mod chaos;
mod dlq;
mod error;
mod failover;
mod fallback;
#[cfg(feature = "health")]
mod health;
mod hedge;
#[cfg(feature = "tower")]
mod layer;
#[cfg(feature = "metrics")]
mod metrics;
mod pipeline;
mod rate;
mod registry;
mod retry;
mod time;
mod timeout;

// Builders take the toolkit's one clock: re-exported so that their signatures read
// `pr_resilience::Clock`, as pr-config re-exports pr-core's units. Tests reach the
// manual clock at its one home, `pr_core::time::ManualClock`.
pub use pr_core::time::Clock;

pub use admission::{Admission, AdmitAll};
pub use breaker::{
    BreakerBuilder, BreakerSnapshot, CircuitBreaker, Outcome, Permit, RawPermit, SlidingWindow,
    State, Transition,
};
pub use bulkhead::{
    Bulkhead, BulkheadBuilder, BulkheadPermit, BulkheadSnapshot, OwnedBulkheadPermit,
};
#[cfg(feature = "chaos")]
pub use chaos::{Chaos, ChaosBuilder};
#[cfg(feature = "health")]
pub use dlq::DlqCheck;
pub use dlq::{
    Attempt, DeadLetter, DeadLettered, Dlq, DlqConfig, DlqRecord, DlqStats, Durability,
    Iter as DlqIter, ReplayReport,
};
pub use error::{CallError, Error};

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        BULKHEAD_FULL, CIRCUIT_OPEN, CODES, DLQ_CODEC, DLQ_CORRUPT, DLQ_FULL, DLQ_IO,
        INJECTED_FAULT, INVALID_CONFIG, LIMITER_UNAVAILABLE, NO_PROVIDER, RATE_EXCEEDS_BURST,
        RATE_LIMITED, REJECTED, RETRIES_EXHAUSTED, TIMEOUT,
    };
}
pub use failover::Failover;
pub use fallback::{Fallback, FromFn, Handle, Value};
#[cfg(feature = "health")]
pub use health::{BreakerCheck, RegistryCheck};
pub use hedge::{Hedge, HedgeMode};
#[cfg(feature = "tower")]
pub use layer::{
    BoxFuture, BreakerLayer, BreakerService, BulkheadLayer, BulkheadService, ErrorsFail,
    PipelineLayer, PipelineService, RecordResponse, RetryLayer, RetryService, TimeoutLayer,
    TimeoutService, refusal_response,
};
pub use pipeline::{Failures, NoRetry, Pipeline, PipelineBuilder, RecordOutcome};
#[cfg(all(feature = "redis", feature = "health"))]
pub use rate::RedisLimiterCheck;
pub use rate::{
    Denied, Gcra, KeyedLimiter, KeyedLimiterBuilder, KeyedRateLimiter, LeakyBucket, Quota,
    RateLimiter, SlidingWindowCounter, SlidingWindowLog, TokenBucket,
};
#[cfg(feature = "redis")]
pub use rate::{FailurePolicy, RedisAlgorithm, RedisLimiter, RedisLimiterBuilder};
#[cfg(feature = "tower")]
pub use rate::{KeyExtractor, OnLimit, RateLimit, RateLimitLayer};
pub use registry::BreakerRegistry;
pub use retry::{
    Backoff, BudgetSnapshot, Classify, Decision, ErrorIf, Jitter, ResultIf, Retry, RetryBudget,
    RetryBuilder, RetryEvent, Transient,
};
pub use timeout::Timeout;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
