//! Retry, circuit breaker, timeout, bulkhead, fallback, hedging, failover and
//! pipelines; local and Redis rate limiters; a durable dead-letter queue;
//! tower layers and chaos injection.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use pr_errors::CodedError;
//! use pr_resilience::Error;
//!
//! let error = Error::CircuitOpen { name: "payments".into(), retry_after: Duration::from_secs(5) };
//! assert_eq!(error.info().code.as_str(), "resilience.circuit_open");
//! assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
//! ```
//!
//! # Rate limiting in a pipeline: [`Admission`]
//!
//! The first stage of a pipeline is an [`Admission`]: anything that admits
//! or refuses a call at once (`fn try_acquire(&self) -> Result<(), Error>`),
//! a refusal carrying its retry-after. The crate's rate limiters implement it.
//!
//! # Errors
//!
//! Policies answer [`Error`]; its codes are in [`CODES`]. Around an
//! operation's own error `E` they answer [`CallError<E>`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod admission;
mod breaker;
mod bulkhead;
#[cfg(feature = "chaos")]
mod chaos;
mod clock;
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
mod registry;
mod retry;
mod timeout;

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
pub use clock::{Clock, ManualClock};
pub use error::{
    BULKHEAD_FULL, CIRCUIT_OPEN, CODES, CallError, Error, INJECTED_FAULT, INVALID_CONFIG,
    NO_PROVIDER, REJECTED, TIMEOUT,
};
pub use failover::Failover;
pub use fallback::{Fallback, FromFn, Handle, Value};
#[cfg(feature = "health")]
pub use health::{BreakerCheck, RegistryCheck};
pub use hedge::{Hedge, HedgeMode};
#[cfg(feature = "tower")]
pub use layer::{
    BoxFuture, BreakerLayer, BreakerService, BulkheadLayer, BulkheadService, ErrorsFail,
    PipelineLayer, PipelineService, RecordResponse, RetryLayer, RetryService, TimeoutLayer,
    TimeoutService,
};
pub use pipeline::{Failures, NoRetry, Pipeline, PipelineBuilder, RecordOutcome};
pub use registry::BreakerRegistry;
pub use retry::{
    Backoff, BudgetSnapshot, Classify, Decision, ErrorIf, Jitter, ResultIf, Retry, RetryBudget,
    RetryBuilder, RetryEvent, Transient,
};
pub use timeout::Timeout;
