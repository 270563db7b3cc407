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
//! ```
//!
//! # Errors
//!
//! Policies answer [`Error`]; its codes are in [`CODES`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod error;

pub use error::{CIRCUIT_OPEN, CODES, Error};
