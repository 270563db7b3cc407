//! Errors as RFC 9457 problem details: any [`CodedError`] becomes an
//! `application/problem+json` response with its code's status, its code,
//! and a detail only when the code is public, never the error's internal
//! message or causes. A transient error that knows its wait answers
//! `Retry-After` in whole seconds, rounded up (a client that waits what it
//! is told is never early). Each answer is counted in
//! `pr_errors_total{code}` (feature `metrics`; codes come from catalogues,
//! so the label is bounded) and logged with the whole error: at error level
//! for a 5xx, at debug level for a client's mistake.
//!
//! A handler returns `Result<T, ApiError>` and uses `?` on any coded
//! error (feature `axum`):
//!
//! ```
//! use axum::{Router, routing::get};
//! use pr_http::problem::ApiError;
//!
//! # #[derive(Debug, thiserror::Error)] #[error("no quote for {0}")] struct NoQuote(String);
//! # pr_errors::codes! {
//! #     static CODES;
//! #     /// No quote for the symbol.
//! #     NO_QUOTE = "quotes.not_found", NOT_FOUND, permanent, public;
//! # }
//! # impl pr_errors::CodedError for NoQuote { fn info(&self) -> &'static pr_errors::CodeInfo { &NO_QUOTE } }
//! async fn quote() -> Result<String, ApiError> {
//!     Err(NoQuote("ACME".into()))?
//! }
//!
//! let app: Router = Router::new().route("/quote", get(quote));
//! ```
//!
//! [`catch_panic`] turns a panic in a handler into a 500 problem and an
//! error-level event; the connection and the server go on.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use http::{HeaderValue, Response, header};
use pr_errors::{CodedError, Problem};

use crate::error::PANIC;

/// `application/problem+json`.
pub const CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/problem+json");

/// `Retry-After` for `wait`: whole seconds, rounded up, at least 1.
#[must_use]
pub fn retry_after(wait: Duration) -> HeaderValue {
    HeaderValue::from(pr_errors::retry_after_seconds(wait))
}

/// The problem+json response for `error`, counted and logged; see the
/// [module](self). `B` is any body made from a `String` (axum's `Body`,
/// `String`, `Full<Bytes>`).
pub fn response<B: From<String>>(error: &(dyn CodedError + '_)) -> Response<B> {
    let status = error.status();
    let code = error.code();
    if status.is_server_error() {
        tracing::error!(event = "http.request_failed", code = code.as_str(), status = status.as_u16(), error = %Chain(error), "request failed");
    } else {
        tracing::debug!(event = "http.request_refused", code = code.as_str(), status = status.as_u16(), error = %Chain(error), "request refused");
    }
    #[cfg(feature = "metrics")]
    {
        // Described with each answer (errors are not the hot path), so that whichever recorder
        // is installed when it is counted has the help text.
        metrics::describe_counter!("pr_errors_total", "Errors answered, by code.");
        metrics::counter!("pr_errors_total", "code" => code.as_str()).increment(1);
    }
    let mut response = Response::new(B::from(Problem::from_error(error).to_json()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, CONTENT_TYPE);
    // An error body is data, never a page: no script, no frame, no guessed type.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(wait) = error.retry().retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after(wait));
    }
    response
}

/// An error's message and its causes', for the log line.
struct Chain<'a>(&'a (dyn CodedError + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// What a handler answers on failure: any [`CodedError`], turned into a
/// problem response (feature `axum` for `IntoResponse`). `?` converts.
pub struct ApiError(Box<dyn CodedError + Send + Sync>);

impl<E: CodedError + Send + Sync + 'static> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(Box::new(error))
    }
}

impl ApiError {
    /// An error with the code `info` and this message, for a refusal that
    /// needs no type of its own (`a symbol has 40 bytes; the most is 32`).
    /// The client reads the message only when the code is public; it must
    /// not hold what the client should not see.
    ///
    /// ```
    /// # pr_errors::codes! {
    /// #     static CODES;
    /// #     /// The symbol is too long.
    /// #     SYMBOL_TOO_LONG = "quotes.symbol_too_long", URI_TOO_LONG, permanent, public;
    /// # }
    /// use pr_http::problem::ApiError;
    /// let error = ApiError::new(&SYMBOL_TOO_LONG, "the symbol is 40 bytes long; the most is 32");
    /// assert_eq!(error.get().code().as_str(), "quotes.symbol_too_long");
    /// assert_eq!(error.to_string(), "the symbol is 40 bytes long; the most is 32");
    /// ```
    pub fn new(info: &'static pr_errors::CodeInfo, message: impl Into<String>) -> Self {
        Self::from(Refusal {
            info,
            message: message.into(),
        })
    }

    /// `error`'s code, status and retry class (so its `Retry-After`),
    /// answered with `message` instead of its own: for a handler that knows
    /// more about a failure than the error says (`...; the failed order
    /// was NOT recorded`). As with [`new`](Self::new), the client reads the
    /// message only when the code is public.
    ///
    /// ```
    /// # pr_errors::codes! {
    /// #     static CODES;
    /// #     /// The upstream failed.
    /// #     UPSTREAM = "shop.upstream", BAD_GATEWAY, transient, public;
    /// # }
    /// use pr_http::problem::ApiError;
    /// let failed = ApiError::new(&UPSTREAM, "the upstream failed");
    /// let error = ApiError::rephrased(failed, "the upstream failed; your order was NOT recorded");
    /// assert_eq!(error.get().code().as_str(), "shop.upstream");
    /// assert!(error.to_string().ends_with("NOT recorded"));
    /// ```
    pub fn rephrased(error: impl Into<Self>, message: impl Into<String>) -> Self {
        Self::from(Rephrased {
            error: error.into().0,
            message: message.into(),
        })
    }

    /// The error.
    #[must_use]
    pub fn get(&self) -> &(dyn CodedError + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiError({}: {})", self.0.code().as_str(), self.0)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        response(&*self.0)
    }
}

/// [`ApiError::new`]'s error: a code and a message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Refusal {
    info: &'static pr_errors::CodeInfo,
    message: String,
}

impl CodedError for Refusal {
    fn info(&self) -> &'static pr_errors::CodeInfo {
        self.info
    }
}

/// [`ApiError::rephrased`]'s error: another's code and retry class, with
/// its own message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Rephrased {
    error: Box<dyn CodedError + Send + Sync>,
    message: String,
}

impl CodedError for Rephrased {
    fn info(&self) -> &'static pr_errors::CodeInfo {
        self.error.info()
    }
    fn retry(&self) -> pr_errors::RetryClass {
        self.error.retry()
    }
}

/// A handler's panic, as the error [`CatchPanicLayer`] answers.
#[derive(Debug, thiserror::Error)]
#[error("a handler panicked: {0}")]
struct Panicked(String);

impl CodedError for Panicked {
    fn info(&self) -> &'static pr_errors::CodeInfo {
        &PANIC
    }
}

/// Turns a panic in the inner service (while it is called, or while its
/// future runs) into the 500 problem `http.panic` and an error-level event
/// with the panic's message; the message never reaches the client. Unlike
/// tower-http's `CatchPanicLayer`, the response keeps the inner service's
/// body type, so the layers around it (timeouts, limits) can still answer
/// problems of their own.
#[derive(Clone, Copy, Debug, Default)]
pub struct CatchPanicLayer;

/// The layer that turns a handler's panic into a 500 problem.
#[must_use]
pub const fn catch_panic() -> CatchPanicLayer {
    CatchPanicLayer
}

impl<S> tower::Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// The service of [`CatchPanicLayer`].
#[derive(Clone, Debug)]
pub struct CatchPanic<S> {
    inner: S,
}

/// A panic's message, when it has one.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

impl<S, ReqB, ResB> tower::Service<http::Request<ReqB>> for CatchPanic<S>
where
    S: tower::Service<http::Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqB>) -> Self::Future {
        use futures_util::FutureExt as _;
        use std::panic::AssertUnwindSafe;
        // Unwind safety: the request's state dies with it, and what outlives it (shared state
        // behind locks) is the handler's to keep consistent, as on any panicking thread.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => Box::pin(AssertUnwindSafe(future).catch_unwind().map(|outcome| {
                outcome.unwrap_or_else(|panic| Ok(response(&Panicked(panic_message(&*panic)))))
            })),
            Err(panic) => {
                let answer = response(&Panicked(panic_message(&*panic)));
                Box::pin(std::future::ready(Ok(answer)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after(Duration::from_millis(1)), "1");
        assert_eq!(retry_after(Duration::ZERO), "1");
        assert_eq!(retry_after(Duration::from_millis(1_500)), "2");
        assert_eq!(retry_after(Duration::from_secs(3)), "3");
        assert_eq!(retry_after(Duration::from_nanos(3_000_000_001)), "4");
    }
}
