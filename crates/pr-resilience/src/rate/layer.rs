//! A tower layer that rate-limits HTTP requests per key, answering `429 Too
//! Many Requests` with `Retry-After`, or waiting for a permit.

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, header};

use super::{Denied, KeyedLimiter, LimiterClock, MonotonicClock};

/// Picks the key a request is limited under (client address, API key,
/// route). Any `Fn(&Request<B>) -> K` is one.
pub trait KeyExtractor<B>: Clone + Send + Sync + 'static {
    /// The key type.
    type Key: Hash + Eq + Clone + Send + Sync + 'static;

    /// The key of this request.
    fn extract(&self, request: &Request<B>) -> Self::Key;
}

impl<B, K, F> KeyExtractor<B> for F
where
    F: Fn(&Request<B>) -> K + Clone + Send + Sync + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    type Key = K;

    fn extract(&self, request: &Request<B>) -> K {
        self(request)
    }
}

/// What the layer does with a request over its key's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnLimit {
    /// Answer `429 Too Many Requests` with `Retry-After` (whole seconds,
    /// rounded up) at once.
    Reject,
    /// Wait for a permit when it comes within `max_wait`; answer 429 when
    /// it would take longer.
    Wait {
        /// The longest a request waits.
        max_wait: Duration,
    },
}

/// Rate-limits requests per key with a [`KeyedLimiter`].
///
/// # Examples
///
/// ```
/// use pr_resilience::{KeyedLimiter, OnLimit, Quota, RateLimitLayer};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let limiter: KeyedLimiter<String> = KeyedLimiter::builder(Quota::per_second(50)).build()?;
/// let layer = RateLimitLayer::new(limiter, |request: &http::Request<()>| {
///     request
///         .headers()
///         .get("x-api-key")
///         .and_then(|v| v.to_str().ok())
///         .unwrap_or("anonymous")
///         .to_owned()
/// })
/// .on_limit(OnLimit::Reject);
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RateLimitLayer<K, E, C = MonotonicClock> {
    limiter: KeyedLimiter<K, C>,
    extractor: E,
    on_limit: OnLimit,
}

impl<K, E, C> RateLimitLayer<K, E, C> {
    /// A layer limiting each key of `extractor` with `limiter`, rejecting
    /// by default.
    pub fn new(limiter: KeyedLimiter<K, C>, extractor: E) -> Self {
        Self {
            limiter,
            extractor,
            on_limit: OnLimit::Reject,
        }
    }

    /// What to do with a request over the quota.
    #[must_use]
    pub fn on_limit(mut self, on_limit: OnLimit) -> Self {
        self.on_limit = on_limit;
        self
    }
}

impl<S, K: Clone, E: Clone, C> tower::Layer<S> for RateLimitLayer<K, E, C> {
    type Service = RateLimit<S, K, E, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: self.limiter.clone(),
            extractor: self.extractor.clone(),
            on_limit: self.on_limit,
        }
    }
}

/// The service of a [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S, K, E, C = MonotonicClock> {
    inner: S,
    limiter: KeyedLimiter<K, C>,
    extractor: E,
    on_limit: OnLimit,
}

/// A `429 Too Many Requests` with `Retry-After` in whole seconds, rounded up.
fn too_many<B: Default>(wait: Option<Duration>) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Some(wait) = wait {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqB, ResB, E, C> tower::Service<Request<ReqB>> for RateLimit<S, E::Key, E, C>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: Default + Send + 'static,
    E: KeyExtractor<ReqB>,
    C: LimiterClock,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let key = self.extractor.extract(&request);
        match self.limiter.check_key(&key) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(Denied::RetryAfter(wait)) if matches!(self.on_limit, OnLimit::Wait { max_wait } if wait <= max_wait) =>
            {
                // The ready inner service goes with this call; a clone
                // takes its place (tower's usual swap).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let limiter = self.limiter.clone();
                let max_wait = match self.on_limit {
                    OnLimit::Wait { max_wait } => max_wait,
                    OnLimit::Reject => Duration::ZERO,
                };
                Box::pin(async move {
                    let mut wait = wait;
                    loop {
                        tokio::time::sleep(wait).await;
                        match limiter.check_key(&key) {
                            Ok(()) => return inner.call(request).await,
                            Err(Denied::RetryAfter(next)) if next <= max_wait => wait = next,
                            Err(denied) => return Ok(too_many(denied.retry_after())),
                        }
                    }
                })
            }
            Err(denied) => {
                tracing::debug!(
                    name: "pr_resilience.ratelimit.rejected",
                    retry_after = ?denied.retry_after(),
                    "request over its key's rate limit"
                );
                Box::pin(std::future::ready(Ok(too_many(denied.retry_after()))))
            }
        }
    }
}
