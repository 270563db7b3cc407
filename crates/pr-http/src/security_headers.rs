//! Security headers on every response, each only when the handler did not
//! set its own:
//!
//! - `X-Content-Type-Options: nosniff` (browsers do not guess a type);
//! - `Referrer-Policy` (`no-referrer` by default);
//! - `Strict-Transport-Security` when turned on (only behind TLS: a browser
//!   that saw it over HTTPS refuses plain HTTP to the host afterwards).
//!
//! Problem responses also carry `Content-Security-Policy: default-src
//! 'none'; frame-ancestors 'none'` (see [`problem`](crate::problem)): an
//! error body is data, never a page.

use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response, header};

/// Sets the security headers; see the [module](self).
#[derive(Clone, Debug)]
pub struct SecurityHeadersLayer {
    referrer_policy: HeaderValue,
    hsts: Option<HeaderValue>,
}

impl SecurityHeadersLayer {
    /// `nosniff` and `Referrer-Policy: no-referrer`, no HSTS.
    #[must_use]
    pub fn new() -> Self {
        Self {
            referrer_policy: HeaderValue::from_static("no-referrer"),
            hsts: None,
        }
    }

    /// Another `Referrer-Policy` (ignored when not a valid header value).
    #[must_use]
    pub fn referrer_policy(mut self, policy: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(policy) {
            self.referrer_policy = value;
        }
        self
    }

    /// `Strict-Transport-Security: max-age=<seconds>; includeSubDomains`.
    #[must_use]
    pub fn hsts(mut self, max_age: Duration) -> Self {
        let value = format!("max-age={}; includeSubDomains", max_age.as_secs());
        self.hsts = HeaderValue::from_str(&value).ok();
        self
    }
}

impl Default for SecurityHeadersLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower::Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`SecurityHeadersLayer`].
#[derive(Clone, Debug)]
pub struct SecurityHeaders<S> {
    inner: S,
    layer: SecurityHeadersLayer,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for SecurityHeaders<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let layer = self.layer.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            let headers = response.headers_mut();
            headers
                .entry(header::X_CONTENT_TYPE_OPTIONS)
                .or_insert(HeaderValue::from_static("nosniff"));
            headers
                .entry(header::REFERRER_POLICY)
                .or_insert(layer.referrer_policy);
            if let Some(hsts) = layer.hsts {
                headers
                    .entry(header::STRICT_TRANSPORT_SECURITY)
                    .or_insert(hsts);
            }
            Ok(response)
        })
    }
}
