//! The HTTP edge of a Rust service, on tower: what a service's own API needs
//! around its handlers, as layers that work with axum, tonic or any tower
//! stack.
//!
//! [`layers`] builds the whole inbound stack from one [`HttpConfig`] (the
//! `http` section) for an axum router; each layer is also public on its own.
//!
//! - [`request_id`]: an id for every request, from a trusted gateway's
//!   `x-request-id` (bounded, safe characters) or made here, echoed in the
//!   response and recorded on the request's span.
//! - [`trace_context`]: W3C `traceparent` and `tracestate` parsed by every
//!   rule of the spec, so a request continues its caller's trace;
//!   [`TraceContextLayer`](trace_context::TraceContextLayer) runs each request
//!   in a span with `trace_id`, `span_id` and `parent_id`, which pr-logging
//!   puts on every JSON line of the request.
//! - [`access_log`]: one structured event per request (method, route
//!   template, status, duration, bytes, request id, client), sampled or at a
//!   chosen level; no header and no raw path is logged.
//! - [`client`]: the client's address, from forwarding headers only behind
//!   trusted proxies; [`rate_limit`] (feature `rate-limit`) limits each
//!   client with pr-resilience's keyed limiters, answering 429 problems with
//!   `Retry-After` and the IETF `RateLimit` fields.
//! - [`auth`] (feature `auth`): bearer JWTs (pinned algorithms, issuer,
//!   audience, expiry on an injectable clock, JWKS) or API keys, 401 as a
//!   problem, failures counted by reason, the token never logged; with
//!   feature `jwks`, keys from a JWKS URL or file refreshed in the background.
//! - [`problem`]: any `CodedError` as an RFC 9457 problem+json response
//!   ([`ApiError`](problem::ApiError) for handlers), `Retry-After` rounded
//!   up, counted by code; a handler's panic as a 500 problem.
//! - [`tls`] (feature `tls`): TLS 1.2+ on rustls for a listener, the
//!   certificate and key files reloaded when they change, client
//!   certificates required when a CA is given.
//! - [`limits`]: a request timeout, a body size limit and load shedding,
//!   each answered with a problem.
//! - [`request_metrics`] (feature `metrics`): `http_server_request_duration_seconds`
//!   and `http_server_active_requests` by OpenTelemetry's HTTP conventions,
//!   labelled by the route's template, never the raw path.
//! - [`outbound`] (feature `client`): an HTTP client of one upstream service
//!   on hyper-util and rustls, each call through a pr-resilience pipeline,
//!   carrying the current request's id and trace, 5xx and 429 transient
//!   with their `Retry-After`, bodies bounded, timed as
//!   `http_client_request_duration_seconds`.
//!
//! ```
//! use axum::{Router, routing::get};
//! use pr_http::request_id::{RequestId, RequestIdLayer};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/", get(|id: axum::Extension<RequestId>| async move { id.to_string() }))
//!     .layer(RequestIdLayer::new());
//! let response = app
//!     .oneshot(http::Request::new(axum::body::Body::empty()))
//!     .await
//!     .unwrap();
//! assert_eq!(response.headers()["x-request-id"].len(), 32);
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

pub mod access_log;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub mod auth;
pub mod client;
pub mod config;
pub mod limits;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod outbound;
pub mod problem;
#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub mod rate_limit;
pub mod request_id;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod request_metrics;
pub mod route;
pub mod security_headers;
#[cfg(feature = "axum")]
mod stack;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
pub mod trace_context;

pub use config::HttpConfig;
pub use error::Error;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use stack::{HttpLayers, layers};

mod error;

/// The stable codes of pr-http's own answers, each with its HTTP status and
/// retry class; [`CODES`](codes::CODES) lists them all.
pub mod codes {
    pub use crate::error::JWKS_UNAVAILABLE;
    pub use crate::error::{
        BODY_TOO_LARGE, CODES, FORBIDDEN, INVALID_CONFIG, OVERLOADED, PANIC, TIMEOUT, TLS_FILES,
        UNAUTHENTICATED,
    };
    pub use crate::error::{
        CLIENT_ADDRESS_REFUSED, CLIENT_BODY_TOO_LARGE, CLIENT_CONNECT, CLIENT_INVALID_URL,
        CLIENT_STATUS, CLIENT_TIMEOUT, CLIENT_TRANSPORT, CLIENT_UNAVAILABLE,
    };
}

/// Nanoseconds as seconds (exact below 2^53 ns, 104 days).
#[expect(
    clippy::cast_precision_loss,
    reason = "a duration's seconds, as metrics and logs take them"
)]
pub(crate) fn nanos_to_secs(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// The boxed future of this crate's services.
pub(crate) type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
