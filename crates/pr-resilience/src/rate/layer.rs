//! A tower layer that rate-limits HTTP requests per key, answering `429 Too
//! Many Requests` with `Retry-After`, or waiting for a permit.

use std::hash::Hash;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};

use pr_errors::CodedError as _;

use super::KeyedRateLimiter;
use crate::Error;
use crate::layer::BoxFuture;

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

/// Rate-limits requests per key with a [`KeyedRateLimiter`](crate::rate::KeyedRateLimiter): an in-memory
/// [`KeyedLimiter`](crate::rate::KeyedLimiter) or a distributed `RedisLimiter`.
///
/// A refused request gets the refusal's HTTP status (429 for a rate limit,
/// 503 for a distributed limiter failing closed) with `Retry-After` in
/// whole seconds, rounded up, when the limiter knows the wait.
///
/// # Examples
///
/// ```
/// use pr_resilience::rate::{KeyedLimiter, OnLimit, Quota, RateLimitLayer};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// // The key is a header any client sets: bound the limiter in bytes.
/// let limiter: KeyedLimiter<String> = KeyedLimiter::builder(Quota::per_second(50))
///     .max_bytes(8 << 20)
///     .weigher(|key: &String| key.len())
///     .build()?;
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
pub struct RateLimitLayer<L, E> {
    limiter: L,
    extractor: E,
    on_limit: OnLimit,
}

impl<L, E> RateLimitLayer<L, E> {
    /// A layer limiting each key of `extractor` with `limiter`, rejecting
    /// by default.
    pub fn new(limiter: L, extractor: E) -> Self {
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

impl<S, L: Clone, E: Clone> tower::Layer<S> for RateLimitLayer<L, E> {
    type Service = RateLimit<S, L, E>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: self.limiter.clone(),
            extractor: self.extractor.clone(),
            on_limit: self.on_limit,
        }
    }
}

/// The service of a [`RateLimitLayer`](crate::rate::RateLimitLayer).
#[derive(Clone, Debug)]
pub struct RateLimit<S, L, E> {
    inner: S,
    limiter: L,
    extractor: E,
    on_limit: OnLimit,
}

impl<S, ReqB, ResB, L, E> tower::Service<Request<ReqB>> for RateLimit<S, L, E>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: Default + Send + 'static,
    E: KeyExtractor<ReqB>,
    L: KeyedRateLimiter<E::Key>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let key = self.extractor.extract(&request);
        // The ready inner service goes with this call; a clone takes its
        // place (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiter = self.limiter.clone();
        let max_wait = match self.on_limit {
            OnLimit::Wait { max_wait } => max_wait,
            OnLimit::Reject => Duration::ZERO,
        };
        Box::pin(async move {
            // `max_wait` bounds the whole wait: a request beaten to its
            // permit by another waiter has only what is left of it.
            let started = tokio::time::Instant::now();
            loop {
                match limiter.acquire(&key, 1).await {
                    Ok(()) => return inner.call(request).await,
                    Err(Error::RateLimited { retry_after })
                        if retry_after <= max_wait.saturating_sub(started.elapsed()) =>
                    {
                        tokio::time::sleep(retry_after).await;
                    }
                    Err(error) => {
                        tracing::debug!(
                            name: "pr_resilience.ratelimit.rejected",
                            event = "pr_resilience.ratelimit.rejected",
                            code = error.info().code.as_str(),
                            retry_after = ?error.retry_after(),
                            "request refused by its key's rate limiter"
                        );
                        return Ok(crate::admission::refusal_response(&error));
                    }
                }
            }
        })
    }
}
