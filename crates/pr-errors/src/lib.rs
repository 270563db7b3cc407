//! Stable error codes, retry classification, HTTP status mapping, RFC 9457
//! problem details and error reports for Rust services.
//!
//! `pr-errors` is the vocabulary the other `pr-*` crates share. Every error
//! in the workspace implements [`CodedError`], so anything that handles
//! errors (a retry policy, an HTTP handler, a dead-letter queue, a log line)
//! can ask the same four questions of any of them:
//!
//! - **which error is it?** a stable [`Code`] such as `resilience.circuit_open`;
//! - **what HTTP status?** an [`http::StatusCode`];
//! - **will trying again help?** a [`RetryClass`], with a wait when known;
//! - **may a client see the message?** or only the code and status.
//!
//! Each crate writes its codes once, in a [`codes!`] block that also builds
//! its [`Catalogue`]; `docs/error-codes.md` is generated from all of them and
//! a test fails when a code is duplicated or the page is stale.
//!
//! A [`Report`] carries an error to where it is logged or answered: one line
//! with the whole cause chain for logs, one cause per line (and a backtrace
//! when `RUST_BACKTRACE` asks) for people, and a [`Problem`] for clients.
//!
//! # Examples
//!
//! ```
//! use pr_errors::{CodeInfo, CodedError, Report, ResultExt, RetryClass};
//!
//! pr_errors::codes! {
//!     /// Every code of the orders service.
//!     pub static CODES;
//!
//!     /// The payment provider did not answer in time.
//!     pub PAYMENT_TIMEOUT = "orders.payment_timeout", GATEWAY_TIMEOUT, transient;
//!     /// The order does not exist.
//!     pub ORDER_NOT_FOUND = "orders.not_found", NOT_FOUND, permanent, public;
//! }
//!
//! #[derive(Debug, thiserror::Error)]
//! #[non_exhaustive]
//! pub enum OrderError {
//!     #[error("payment provider timed out")]
//!     PaymentTimeout(#[source] std::io::Error),
//!     #[error("order {0} does not exist")]
//!     NotFound(u64),
//! }
//!
//! impl CodedError for OrderError {
//!     fn info(&self) -> &'static CodeInfo {
//!         match self {
//!             Self::PaymentTimeout(_) => &PAYMENT_TIMEOUT,
//!             Self::NotFound(_) => &ORDER_NOT_FOUND,
//!         }
//!     }
//! }
//!
//! fn charge() -> Result<(), OrderError> {
//!     let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer after 5s");
//!     Err(OrderError::PaymentTimeout(io))
//! }
//!
//! fn place_order() -> Result<(), Report> {
//!     charge().context("charging order 17")?;
//!     Ok(())
//! }
//!
//! let report = place_order().unwrap_err();
//! assert_eq!(report.code().as_str(), "orders.payment_timeout");
//! assert_eq!(report.status().as_u16(), 504);
//! assert_eq!(report.retry(), RetryClass::TRANSIENT);
//! assert_eq!(
//!     report.to_string(),
//!     "charging order 17: payment provider timed out: no answer after 5s"
//! );
//! assert_eq!(
//!     format!("{report:#}").lines().take(4).collect::<Vec<_>>(),
//!     [
//!         "error[orders.payment_timeout]: charging order 17",
//!         "",
//!         "Caused by:",
//!         "    0: payment provider timed out",
//!     ]
//! );
//! ```
//!
//! # Feature flags
//!
//! - `serde`: RFC 9457 problem details, [`Problem`], and [`Report::to_problem`].
//!
//!   ```toml
//!   pr-errors = { version = "0.1", features = ["serde"] }
//!   ```
//!
//! # Errors
//!
//! pr-errors' own failures are [`Error`]; its codes are in [`codes`](mod@codes).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod code;
mod coded;
mod error;
#[cfg(feature = "serde")]
mod problem;
mod report;
mod retry;

pub use code::{
    Catalogue, Code, CodeInfo, DuplicateCode, check_unique, is_valid_code, render_markdown,
};
pub use coded::{Classified, CodedError, ResultExt, WithContext};
pub use error::Error;

/// The stable codes of [`Error`], each with its HTTP status and retry
/// class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::{CODES, INVALID_EXTENSION, UNCLASSIFIED};
}
pub use http;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use problem::Problem;
pub use report::{Chain, Report, chain};
pub use retry::{RetryClass, retry_after_seconds};

#[doc(hidden)]
pub mod __private {
    //! Paths the [`codes!`](macro@crate::codes) macro expands to; not public API.
    pub use http::StatusCode;
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
