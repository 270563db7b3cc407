//! Request ids: each request gets one, taken from a trusted caller's
//! `x-request-id` or made here, echoed in the response, kept in the
//! request's extensions and recorded on the request's span, so every log
//! line of the request carries it.
//!
//! An incoming id is a client's input: it is taken only when the layer is
//! told to trust it ([`RequestIdLayer::trust_incoming`]: behind a gateway
//! that sets it), and only when it is 1 to [`MAX_LEN`] characters of
//! `A-Z a-z 0-9 - _ . :` (UUIDs, ULIDs, hex and the usual gateway formats),
//! so no client writes a megabyte or a forged log field into every line. An
//! id that breaks the rule is replaced, not refused. (tower-http's
//! `SetRequestId` keeps any incoming value as it is; this layer exists for
//! that check.)
//!
//! ```
//! use pr_http::request_id::RequestId;
//!
//! assert!(RequestId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_some());
//! assert!(RequestId::parse("a\"b").is_none());
//! assert_eq!(RequestId::generate().as_str().len(), 32);
//! ```

use std::fmt;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use tracing::Instrument as _;

/// `x-request-id`.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id taken.
pub const MAX_LEN: usize = 128;

/// A request's id, valid as a header value and safe in a log line.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

tokio::task_local! {
    /// The id of the request whose task this is, set by [`RequestIdLayer`].
    static CURRENT: RequestId;
}

impl RequestId {
    /// The id of the request whose task this is: set by [`RequestIdLayer`]
    /// around the inner service's future, so code deep in a handler (the
    /// outbound client) sends it on without being handed it. `None` outside
    /// such a request, and in a task the handler spawned (a task-local does
    /// not follow `tokio::spawn`; pass the id on by hand there).
    #[must_use]
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `future` with `self` as [`RequestId::current`], for work outside
    /// [`RequestIdLayer`] (a job, a queue consumer) whose calls should carry
    /// an id.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// A new id: 128 random bits in lowercase hex.
    #[must_use]
    pub fn generate() -> Self {
        let mut text = [0; 32];
        let hex = base16ct::lower::encode(&fastrand::u128(..).to_be_bytes(), &mut text)
            .unwrap_or_default();
        // Hex is always a valid header value.
        Self(HeaderValue::from_bytes(hex).unwrap_or_else(|_| HeaderValue::from_static("0")))
    }

    /// `text` as an id, when it is 1 to [`MAX_LEN`] characters of
    /// `A-Z a-z 0-9 - _ . :`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let safe = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':');
        if text.is_empty() || text.len() > MAX_LEN || !text.bytes().all(safe) {
            return None;
        }
        HeaderValue::from_str(text).ok().map(Self)
    }

    /// The id as a header value, as sent on (an outbound call's
    /// `x-request-id`).
    #[must_use]
    pub const fn as_header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        self.0.to_str().unwrap_or_default()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.as_str())
    }
}

/// Gives each request an id; see the [module](self).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer {
    trust_incoming: bool,
}

impl RequestIdLayer {
    /// A layer that makes a new id for every request.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            trust_incoming: false,
        }
    }

    /// Whether a valid incoming `x-request-id` is kept (a gateway in front
    /// sets it). Off by default: a client's id is replaced.
    #[must_use]
    pub const fn trust_incoming(mut self, trust: bool) -> Self {
        self.trust_incoming = trust;
        self
    }
}

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService {
            inner,
            trust_incoming: self.trust_incoming,
        }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
    trust_incoming: bool,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for RequestIdService<S>
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

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let incoming = self
            .trust_incoming
            .then(|| request.headers().get(&HEADER))
            .flatten()
            .and_then(|value| value.to_str().ok())
            .and_then(RequestId::parse);
        let id = incoming.unwrap_or_else(RequestId::generate);
        request.headers_mut().insert(HEADER, id.0.clone());
        request.extensions_mut().insert(id.clone());
        let span = tracing::info_span!("request", request_id = %id);
        // Called inside the span, so that the spans the inner layers open are its children.
        let future = span.in_scope(|| self.inner.call(request));
        // The id is also the task's current one, for the outbound client: the
        // clone shares the header value's bytes (an atomic increment).
        let future = CURRENT.scope(id.clone(), future);
        Box::pin(
            async move {
                let mut response = future.await?;
                response.headers_mut().insert(HEADER, id.0);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bounded_and_safe() {
        assert!(RequestId::parse("req-1_2.3:4").is_some());
        assert!(RequestId::parse(&"a".repeat(MAX_LEN)).is_some());
        for bad in ["", " ", "a b", "a\"b", "a\nb", "é", "a,b", "a=b", "{x}"] {
            assert!(RequestId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(RequestId::parse(&"a".repeat(MAX_LEN + 1)).is_none());
        let a = RequestId::generate();
        assert_ne!(a, RequestId::generate());
        assert_eq!(RequestId::parse(a.as_str()), Some(a));
    }
}
