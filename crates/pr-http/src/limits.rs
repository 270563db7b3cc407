//! Bounds on what one request may take, each answered with a problem
//! response (see [`problem`](crate::problem)):
//!
//! | layer | bound | answer |
//! |---|---|---|
//! | [`RequestTimeoutLayer`] | time until the response head | 503 `http.timeout`, transient |
//! | [`BodyLimitLayer`] | request body bytes | 413 `http.body_too_large` |
//! | [`LoadShedLayer`] | requests in flight | 503 `http.overloaded` with `Retry-After`, at once |
//!
//! A body announced larger than the limit (`Content-Length`) is refused
//! before the handler runs. A body streamed without a length is cut at the
//! limit: reading it fails with [`http_body_util::LengthLimitError`], which
//! axum's extractors answer with 413 themselves.
//!
//! Load shedding refuses at once rather than queueing: a queue in front of
//! a saturated service only adds latency, and the client (or its retry
//! policy) is better told to come back. Its `Retry-After` is one second.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::post};
//! use pr_http::limits::{BodyLimitLayer, LoadShedLayer, RequestTimeoutLayer};
//!
//! let app: Router = Router::new()
//!     .route("/orders", post(|body: String| async move { body }))
//!     .layer(BodyLimitLayer::new(64 * 1024))
//!     .layer(RequestTimeoutLayer::new(Duration::from_secs(10)))
//!     .layer(LoadShedLayer::new(1_024));
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, header};
use http_body_util::Limited;
use pr_errors::CodedError;
use tokio::sync::Semaphore;

use crate::error::{BODY_TOO_LARGE, OVERLOADED, TIMEOUT};

/// Why a limit refused a request.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the response took longer than {0:?}")]
    Timeout(Duration),
    #[error("the request body is over the limit of {0} bytes")]
    BodyTooLarge(u64),
    #[error("{0} requests are in flight, the most this server takes")]
    Overloaded(usize),
}

impl CodedError for Refused {
    fn info(&self) -> &'static pr_errors::CodeInfo {
        match self {
            Self::Timeout(_) => &TIMEOUT,
            Self::BodyTooLarge(_) => &BODY_TOO_LARGE,
            Self::Overloaded(_) => &OVERLOADED,
        }
    }

    fn retry(&self) -> pr_errors::RetryClass {
        match self {
            Self::Timeout(_) => pr_errors::RetryClass::TRANSIENT,
            Self::BodyTooLarge(_) => pr_errors::RetryClass::Permanent,
            Self::Overloaded(_) => pr_errors::RetryClass::after(Duration::from_secs(1)),
        }
    }
}

/// Answers 503 `http.timeout` when the inner service has not produced a
/// response head within the limit (the handler's future is dropped).
#[derive(Clone, Copy, Debug)]
pub struct RequestTimeoutLayer {
    limit: Duration,
}

impl RequestTimeoutLayer {
    /// A layer with `limit`.
    #[must_use]
    pub const fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl<S> tower::Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTimeout {
            inner,
            limit: self.limit,
        }
    }
}

/// The service of [`RequestTimeoutLayer`].
#[derive(Clone, Debug)]
pub struct RequestTimeout<S> {
    inner: S,
    limit: Duration,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for RequestTimeout<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    ResB: From<String>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let limit = self.limit;
        let future = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, future).await {
                Ok(result) => result,
                Err(_) => Ok(crate::problem::response(&Refused::Timeout(limit))),
            }
        })
    }
}

/// Refuses a request whose body is announced over the limit with 413
/// `http.body_too_large`, and cuts one streamed past it.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimitLayer {
    limit: usize,
}

impl BodyLimitLayer {
    /// A layer with a limit of `bytes`.
    #[must_use]
    pub const fn new(bytes: usize) -> Self {
        Self { limit: bytes }
    }
}

impl<S> tower::Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner,
            limit: self.limit,
        }
    }
}

/// The service of [`BodyLimitLayer`]: the inner service gets the body as
/// [`Limited`] (axum's `Router` takes any body).
#[derive(Clone, Debug)]
pub struct BodyLimit<S> {
    inner: S,
    limit: usize,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for BodyLimit<S>
where
    S: tower::Service<Request<Limited<ReqB>>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let limit = u64::try_from(self.limit).unwrap_or(u64::MAX);
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|length| length > limit) {
            let response = crate::problem::response(&Refused::BodyTooLarge(limit));
            return Box::pin(std::future::ready(Ok(response)));
        }
        let request = request.map(|body| Limited::new(body, self.limit));
        Box::pin(self.inner.call(request))
    }
}

/// Refuses a request at once with 503 `http.overloaded` (`Retry-After: 1`)
/// while `max` requests are in flight.
#[derive(Clone, Debug)]
pub struct LoadShedLayer {
    places: Arc<Semaphore>,
    max: usize,
}

impl LoadShedLayer {
    /// A layer letting `max` requests in at once (at least 1).
    #[must_use]
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            places: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

impl<S> tower::Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoadShed {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`LoadShedLayer`]; its clones share the places.
#[derive(Clone)]
pub struct LoadShed<S> {
    inner: S,
    layer: LoadShedLayer,
}

impl<S: fmt::Debug> fmt::Debug for LoadShed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadShed")
            .field("inner", &self.inner)
            .field("max", &self.layer.max)
            .field("free", &self.layer.places.available_permits())
            .finish()
    }
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for LoadShed<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let Ok(place) = Arc::clone(&self.layer.places).try_acquire_owned() else {
            let response = crate::problem::response(&Refused::Overloaded(self.layer.max));
            return Box::pin(std::future::ready(Ok(response)));
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            drop(place);
            result
        })
    }
}
