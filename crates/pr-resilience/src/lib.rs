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
//! | retry | [`Retry`](crate::retry::Retry) | constant / linear / exponential / decorrelated-jitter [`Backoff`](crate::retry::Backoff), full or equal [`Jitter`](crate::retry::Jitter), max attempts / delay / elapsed, predicates on errors and results ([`Classify`](crate::retry::Classify)), server retry-after wins, `on_retry` hook, shared [`RetryBudget`](crate::retry::RetryBudget); async, `async` closures borrowing state ([`Retry::run_mut`](crate::retry::Retry::run_mut)), blocking |
//! | circuit breaker | [`CircuitBreaker`](crate::breaker::CircuitBreaker) | Resilience4j semantics: count and time [`SlidingWindow`](crate::breaker::SlidingWindow)s, failure-rate and slow-call-rate thresholds, minimum calls, half-open probes as expiring leases, growing open wait, manual [`State`](crate::breaker::State)s, [`CircuitBreaker::peek`](crate::breaker::CircuitBreaker::peek), transitions as `tracing` events and listeners; lock-free closed path |
//! | keyed breakers | [`BreakerRegistry`](crate::breaker::BreakerRegistry) | a breaker per key, bounded, idle ones evicted |
//! | timeout | [`Timeout`](crate::timeout::Timeout) | tokio time; no timer for futures ready at once |
//! | bulkhead | [`Bulkhead`](crate::bulkhead::Bulkhead) | concurrency limit, bounded wait queue, max wait |
//! | fallback | [`Fallback`](crate::fallback::Fallback) | a value or a function of the error |
//! | hedging | [`Hedge`](crate::hedge::Hedge) | Polly's latency / parallel / sequential [`HedgeMode`](crate::hedge::HedgeMode)s; first acceptable wins, losers cancelled, all failed → primary's error |
//! | failover | [`Failover`](crate::failover::Failover) | ordered providers, open breakers skipped, one budget |
//! | pipeline | [`Pipeline`](crate::pipeline::Pipeline) | admission → bulkhead → total timeout → retry → breaker → attempt timeout; [`Pipeline::standard`](crate::pipeline::Pipeline::standard) is .NET's standard pipeline |
//! | named policies | [`Policies`](crate::policies::Policies) from a [`ResilienceConfig`](crate::policies::ResilienceConfig) | a service's `[resilience]` section: `retries`, `breakers`, `bulkheads` and `pipelines` by name, `defaults` per kind; each instance built once, a breaker named by two pipelines shared; every problem at its key |
//! | rate limit | [`RateLimiter`](crate::rate::RateLimiter): [`Gcra`](crate::rate::Gcra), [`TokenBucket`](crate::rate::TokenBucket), [`LeakyBucket`](crate::rate::LeakyBucket), [`SlidingWindowLog`](crate::rate::SlidingWindowLog), [`SlidingWindowCounter`](crate::rate::SlidingWindowCounter) | one trait: `check()`, `check_n(n)`, `peek()`, `until_ready().await`; a refusal ([`Denied`](crate::rate::Denied)) carries the wait (Retry-After); [`Quota::per_second(100)`](crate::rate::Quota::per_second) is 100 a second; GCRA is one atomic word; each is an [`Admission`](crate::admission::Admission) stage |
//! | keyed rate limit | [`KeyedLimiter`](crate::rate::KeyedLimiter) | GCRA per key in shards, at most `max_keys` keys (replenished keys dropped first); [`KeyedRateLimiter`](crate::rate::KeyedRateLimiter) is what the tower layer takes |
//! | distributed rate limit | `RedisLimiter` (feature `redis`) | GCRA or sliding window as one Lua script on the server's clock; a reconnecting connection (redis' `ConnectionManager`, bounded back-off); a local breaker; fail open or closed; a health check per limiter (with `health`) |
//! | dead-letter queue | [`Dlq`](crate::dlq::Dlq) | durable segment files (length + CRC32C per record), explicit [`Durability`](crate::dlq::Durability), bounds that refuse with `resilience.dlq_full`, replay that removes only what succeeded, purges, torn-tail recovery; [`Dlq::retry_or_dead_letter`](crate::dlq::Dlq::retry_or_dead_letter) routes what a [`Retry`](crate::retry::Retry) gives up on |
//!
//! Every policy value is a cheap handle: clones share its state (a breaker's
//! window, a bulkhead's places, a budget's tokens), so one value serves many
//! tasks, and the tower services axum clones per connection share it too.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use pr_resilience::{CallError, Error};
//! use pr_resilience::breaker::{CircuitBreaker, SlidingWindow};
//! use pr_resilience::bulkhead::Bulkhead;
//! use pr_resilience::pipeline::Pipeline;
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
//! # Rate limiting in a pipeline: [`Admission`](crate::admission::Admission)
//!
//! The first stage of a pipeline is an [`Admission`](crate::admission::Admission): anything that admits
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
//! implement it; so can any load shedder ([`PipelineBuilder::admission`](crate::pipeline::PipelineBuilder::admission)).
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
//! Each area is a feature, all on by default: `retry`, `breaker`,
//! `bulkhead`, `timeout`, `hedge` (with `retry`), `failover` (with `breaker`
//! and `retry`), `fallback`, `pipeline` (with `retry`, `breaker`, `bulkhead`
//! and `timeout`), `rate` and `dlq` (the queue's `retry_or_dead_letter` also
//! needs `retry`). A service that only limits rates compiles no breaker and
//! no queue:
//!
//! ```toml
//! pr-resilience = { version = "0.1", default-features = false, features = ["rate", "tower"] }
//! ```
//!
//! [`admission`], [`Error`] and [`CallError`] are always there. The
//! integrations below apply to the areas that are on:
//!
//! - `tower`: a layer per strategy and for a whole pipeline
//!   ([`BreakerLayer`](crate::breaker::BreakerLayer), [`BulkheadLayer`](crate::bulkhead::BulkheadLayer), [`TimeoutLayer`](crate::timeout::TimeoutLayer), [`RetryLayer`](crate::retry::RetryLayer),
//!   [`PipelineLayer`](crate::pipeline::PipelineLayer)), and `RateLimitLayer` (per-key rate limit answering
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
//!   Degraded while it refuses calls ([`BreakerCheck`](crate::breaker::BreakerCheck), [`RegistryCheck`](crate::breaker::RegistryCheck));
//!   a dead-letter queue, Down when full, Degraded after a failed write
//!   (until a write succeeds) or when its filesystem's free space is under
//!   `DlqConfig::min_free` / `min_free_percent` (`DlqCheck`).
//!
//!   ```toml
//!   pr-resilience = { version = "0.1", features = ["health"] }
//!   ```
//! - `chaos`: fault, latency and outcome injection at a rate, behind an
//!   on/off switch ([`Chaos`](crate::chaos::Chaos)).
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

pub mod admission;
#[cfg(feature = "breaker")]
#[cfg_attr(docsrs, doc(cfg(feature = "breaker")))]
pub mod breaker;
#[cfg(feature = "bulkhead")]
#[cfg_attr(docsrs, doc(cfg(feature = "bulkhead")))]
pub mod bulkhead;
#[cfg(feature = "chaos")]
#[cfg_attr(docsrs, doc(cfg(feature = "chaos")))]
pub mod chaos;
#[cfg(feature = "dlq")]
#[cfg_attr(docsrs, doc(cfg(feature = "dlq")))]
pub mod dlq;
mod error;
#[cfg(feature = "failover")]
#[cfg_attr(docsrs, doc(cfg(feature = "failover")))]
pub mod failover;
#[cfg(feature = "fallback")]
#[cfg_attr(docsrs, doc(cfg(feature = "fallback")))]
pub mod fallback;
#[cfg(feature = "hedge")]
#[cfg_attr(docsrs, doc(cfg(feature = "hedge")))]
pub mod hedge;
#[cfg(feature = "tower")]
mod layer;
#[cfg(all(
    feature = "metrics",
    any(
        feature = "breaker",
        feature = "bulkhead",
        feature = "retry",
        feature = "timeout"
    )
))]
mod metrics;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod pipeline;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod policies;
#[cfg(feature = "rate")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate")))]
pub mod rate;
#[cfg(feature = "retry")]
#[cfg_attr(docsrs, doc(cfg(feature = "retry")))]
pub mod retry;
#[cfg(any(feature = "breaker", feature = "retry"))]
mod time;
#[cfg(feature = "timeout")]
#[cfg_attr(docsrs, doc(cfg(feature = "timeout")))]
pub mod timeout;

pub use error::{CallError, Error};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::BoxFuture;
// Builders take the toolkit's one clock: re-exported so that their signatures read
// `pr_resilience::Clock`, as pr-config re-exports pr-core's units. Tests reach the
// manual clock at its one home, `pr_core::time::ManualClock`.
pub use pr_core::time::Clock;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{
        BULKHEAD_FULL, CIRCUIT_OPEN, CODES, DLQ_CODEC, DLQ_CORRUPT, DLQ_FULL, DLQ_IO,
        INJECTED_FAULT, INVALID_CONFIG, LIMITER_UNAVAILABLE, NO_PROVIDER, RATE_EXCEEDS_BURST,
        RATE_LIMITED, REJECTED, RETRIES_EXHAUSTED, TIMEOUT,
    };
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
