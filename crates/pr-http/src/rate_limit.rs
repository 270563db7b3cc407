//! Per-client rate limiting (feature `rate-limit`): each client, by IP
//! address as [`TrustedProxies`] resolves it, gets a quota from one of
//! pr-resilience's keyed limiters (in memory, bounded in keys and bytes, or
//! on Redis). A request over its client's quota is answered at once with
//! 429 `resilience.rate_limited` as problem+json, `Retry-After` in whole
//! seconds rounded up, and the IETF draft's `RateLimit-Policy` and
//! `RateLimit` fields (`"client";q=<permits>;w=<seconds>` and
//! `"client";r=0;t=<seconds>`). Admitted requests carry no fields: the
//! limiters admit or refuse without counting what remains.
//!
//! The peer address comes from axum's `ConnectInfo` (serve with
//! `into_make_service_with_connect_info::<SocketAddr>()`) or a `SocketAddr`
//! in the request's extensions; without either, every request shares one
//! quota (`0.0.0.0`), which throttles everyone together rather than no one.
//!
//! ```
//! use std::net::IpAddr;
//! use pr_http::client::TrustedProxies;
//! use pr_http::rate_limit::ClientRateLimitLayer;
//! use pr_resilience::rate::{KeyedLimiter, Quota};
//!
//! # fn main() -> Result<(), pr_resilience::Error> {
//! let quota = Quota::per_second(20).with_burst(40);
//! let limiter: KeyedLimiter<IpAddr> = KeyedLimiter::builder(quota).max_keys(100_000).build()?;
//! let layer = ClientRateLimitLayer::new(limiter, TrustedProxies::default()).policy(quota);
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use pr_errors::CodedError as _;
use pr_resilience::rate::{KeyedRateLimiter, Quota};

use crate::client::TrustedProxies;

/// Rate-limits each client; see the [module](self).
#[derive(Clone, Debug)]
pub struct ClientRateLimitLayer<L> {
    limiter: L,
    proxies: Arc<TrustedProxies>,
    policy: Option<HeaderValue>,
}

impl<L> ClientRateLimitLayer<L> {
    /// A layer taking each client's permit from `limiter`, the client
    /// resolved behind `proxies`.
    pub fn new(limiter: L, proxies: TrustedProxies) -> Self {
        Self {
            limiter,
            proxies: Arc::new(proxies),
            policy: None,
        }
    }

    /// The limiter each client's permit comes from.
    pub fn limiter(&self) -> &L {
        &self.limiter
    }

    /// The limiter's quota, announced in `RateLimit-Policy` on refusals.
    #[must_use]
    pub fn policy(mut self, quota: Quota) -> Self {
        let window = quota.period();
        // The window in whole seconds, by the rule of `Retry-After`.
        let seconds = pr_errors::retry_after_seconds(window);
        let text = format!("\"client\";q={};w={seconds}", quota.permits());
        self.policy = HeaderValue::from_str(&text).ok();
        self
    }
}

impl<S, L: Clone> tower::Layer<S> for ClientRateLimitLayer<L> {
    type Service = ClientRateLimit<S, L>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientRateLimit {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`ClientRateLimitLayer`].
#[derive(Clone, Debug)]
pub struct ClientRateLimit<S, L> {
    inner: S,
    layer: ClientRateLimitLayer<L>,
}

impl<S, L, ReqB, ResB> tower::Service<Request<ReqB>> for ClientRateLimit<S, L>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    L: KeyedRateLimiter<IpAddr>,
    ReqB: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let client = crate::client::peer(&request)
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| {
                self.layer.proxies.client(request.headers(), peer)
            });
        // The service that was made ready answers this request; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiter = self.layer.limiter.clone();
        let policy = self.layer.policy.clone();
        Box::pin(async move {
            match limiter.acquire(&client, 1).await {
                Ok(()) => inner.call(request).await,
                Err(refused) => {
                    let mut response: Response<ResB> = crate::problem::response(&refused);
                    if refused.status() == http::StatusCode::TOO_MANY_REQUESTS {
                        let reset = response.headers().get(http::header::RETRY_AFTER).cloned();
                        let headers = response.headers_mut();
                        if let Some(policy) = policy {
                            headers.insert("ratelimit-policy", policy);
                        }
                        if let Some(reset) = reset.as_ref().and_then(|v| v.to_str().ok())
                            && let Ok(value) =
                                HeaderValue::from_str(&format!("\"client\";r=0;t={reset}"))
                        {
                            headers.insert("ratelimit", value);
                        }
                    }
                    Ok(response)
                }
            }
        })
    }
}
