//! The outbound HTTP client (feature `client`): calls to one upstream
//! service, each through a pr-resilience [`Pipeline`], carrying the current
//! request's id and trace, timed by OpenTelemetry's HTTP client convention,
//! bounded, and classified for retries.
//!
//! ```no_run
//! use std::time::Duration;
//! use pr_http::outbound::HttpClient;
//! use pr_resilience::pipeline::Pipeline;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let quotes = HttpClient::builder("quotes")
//!     .base_url("https://quotes.internal:8443/v1")
//!     .timeout(Duration::from_secs(2))
//!     .pipeline(Pipeline::standard("quotes").build()?)
//!     .build()?;
//! // Inside a handler behind `RequestIdLayer` and `TraceContextLayer`, the
//! // call carries the request's `x-request-id` and continues its trace.
//! let response = quotes.get("/quote/ACME").send().await?;
//! println!("{}", String::from_utf8_lossy(response.body()));
//! # Ok(())
//! # }
//! ```
//!
//! # Choices
//!
//! - **hyper-util's pooled client, not reqwest.** The toolkit already runs
//!   on hyper 1 and hyper-util (pr-facade's listeners); their legacy
//!   `Client` is the pool reqwest itself is built on. reqwest would add its
//!   own request types, redirects, cookies, proxies from the environment and
//!   decompression, none of which a call between services wants by default,
//!   and hide the body stream this module bounds. HTTP/1.1, and HTTP/2 when
//!   TLS's ALPN offers it.
//! - **rustls with ring**, as jsonwebtoken and pr-security already use it;
//!   not aws-lc-rs, which needs cmake and a C toolchain to build. TLS 1.2
//!   and 1.3 with rustls' safe defaults.
//! - **Mozilla's roots compiled in** (webpki-roots), not the system's: the
//!   same roots on every machine, including the distroless and scratch
//!   images that have no CA bundle, and nothing read from disk at start.
//!   The cost is that a root change needs a new build, and that a private
//!   CA must be given: [`HttpClientBuilder::add_root_certificates_pem`].
//! - **One base URL per client.** A client calls one service; a call names
//!   only a path and query (`/quote/ACME?at=now`). So its metric labels are
//!   the base URL's host and port, fixed when it is built, and no caller
//!   can point it at another host.
//! - **Statuses as errors.** 1xx to 3xx come back as the response
//!   (redirects are not followed: between services one is a misconfiguration
//!   to see, not to hide). 5xx, 408 and 429 are `http.client_unavailable`,
//!   transient, with the server's `Retry-After` (delta-seconds or an
//!   HTTP-date, cut to [`max_retry_after`](HttpClientConfig::max_retry_after),
//!   ignored when it does not parse) as the retry class's wait, which a
//!   pipeline's retry waits instead of its backoff. Other 4xx are
//!   `http.client_status`, permanent: neither retried nor counted as a
//!   failure by the pipeline's breaker. Connection failures are
//!   `http.client_connect` and `http.client_transport`, and an attempt past
//!   the client's timeout `http.client_timeout`, all transient. A retried
//!   `POST` is the caller's choice: give the pipeline a retry predicate that
//!   leaves it out.
//! - **Bounded bodies.** A response body is read whole, up to
//!   [`max_response_body`](HttpClientConfig::max_response_body): a larger
//!   announced `Content-Length` is refused before reading, and a streamed
//!   body is cut at the limit (`http.client_body_too_large`). Requests send
//!   [`Bytes`], which every retry resends without copying.
//! - **Propagation without plumbing.** Each attempt carries `x-request-id`
//!   and a `traceparent` in the current request's trace with a new span id
//!   (a child; each attempt is a span of its own), and its `tracestate`.
//!   They come from [`RequestId::current`] and [`RequestTrace::current`],
//!   which [`RequestIdLayer`](crate::request_id::RequestIdLayer) and
//!   [`TraceContextLayer`](crate::trace_context::TraceContextLayer) set for
//!   the request's task, or from [`OutboundRequest::context`] (a request's
//!   extensions) in a task the handler spawned, where a task-local does not
//!   follow. Without either, the call sends neither header.
//! - **No secret in a log.** A failed attempt is a `debug` event
//!   `http.client_attempt_failed` (target `pr_http::outbound`) with the
//!   client's name, the server's address and port, the method and the code;
//!   errors name the client and the server. No path, query, header or body
//!   is logged or put in a message: any of them may hold a token.
//!   [`OutboundRequest::bearer`] marks its header sensitive, so HTTP/2 never
//!   indexes it.
//! - **The pipeline is given to the builder.** A service builds one in
//!   code (`Pipeline::standard`) or takes one named in its configuration
//!   (pr-resilience's `policies::Policies`, which pr-facade's
//!   `App::pipeline` hands out), and passes it to
//!   [`HttpClientBuilder::pipeline`]. Without one, each call is one attempt.
//!
//! Metrics (feature `metrics`): [`DURATION`], one observation per attempt;
//! see its labels there.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use pr_core::time::Clock;
use pr_core::units::ByteSize;
use pr_errors::CodedError as _;
use pr_resilience::CallError;
use pr_resilience::pipeline::{Failures, NoRetry, Pipeline, RecordOutcome};
use pr_resilience::retry::Classify;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::request_id::{self, RequestId};
use crate::trace_context::RequestTrace;

mod config;
mod error;
#[cfg(feature = "metrics")]
mod metrics;
mod retry_after;

pub use config::HttpClientConfig;
pub use error::OutboundError;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::DURATION;

/// `traceparent`.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// `tracestate`.
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// What every call of a client answers: the response with its whole body,
/// or why not (a pipeline's refusal, or the last attempt's error).
pub type OutboundResult = Result<Response<Bytes>, CallError<OutboundError>>;

type Connector = hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>;

/// What [`HttpClientBuilder::address_check`] is given: the server's name
/// and the addresses it resolved to; `Err(reason)` refuses them all.
type AddressCheck = Arc<dyn Fn(&str, &[SocketAddr]) -> Result<(), String> + Send + Sync>;

/// The system's resolver (hyper-util's, off the runtime's threads), its
/// answer given to the address check, when there is one, before the
/// connector sees it: the connector connects to those addresses and no
/// others, so a name cannot resolve to one address for the check and to
/// another for the connection (DNS rebinding).
#[derive(Clone)]
struct CheckedResolver {
    system: GaiResolver,
    check: Option<AddressCheck>,
}

/// The check's refusal, carried through hyper-util's connect error to
/// [`OutboundError::AddressRefused`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

impl tower::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = crate::BoxFuture<Result<Self::Response, std::io::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.system.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        let resolving = self.system.call(name);
        let check = self.check.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = resolving.await?.collect();
            if let Some(check) = check {
                check(&host, &addrs).map_err(|reason| std::io::Error::other(Refused(reason)))?;
            }
            Ok(addrs.into_iter())
        })
    }
}

/// The address check's reason, when it is what stopped the connection.
fn refused_by_check(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        // An `io::Error`'s `source` skips the error it wraps: look inside.
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<Refused>());
        if let Some(refused) = inner.or_else(|| e.downcast_ref::<Refused>()) {
            return Some(refused.0.clone());
        }
        cause = e.source();
    }
    None
}

/// A base URL, taken apart once.
#[derive(Clone, Debug)]
pub(crate) struct Base {
    scheme: Scheme,
    authority: Authority,
    /// The path prefix, without a trailing `/` (empty for none).
    prefix: String,
    host: String,
    port: u16,
}

impl Base {
    /// The base URL's parts, or the rule it breaks (never its text: it may
    /// hold credentials).
    pub(crate) fn parse(text: &str) -> Result<Self, &'static str> {
        const NOT_A_URL: &str = "is not a URL (`https://host[:port][/prefix]`)";
        if text.contains('#') {
            return Err("must not have a fragment");
        }
        let uri: Uri = text.parse().map_err(|_| NOT_A_URL)?;
        let scheme = uri.scheme().ok_or(NOT_A_URL)?.clone();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err("must be an http:// or https:// URL"),
        };
        let authority = uri.authority().ok_or(NOT_A_URL)?.clone();
        if authority.as_str().contains('@') {
            return Err("must not carry credentials: send them as a header");
        }
        if uri.query().is_some() {
            return Err("must not have a query");
        }
        let host = authority.host();
        if host.is_empty() {
            return Err("has no host");
        }
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: authority.port_u16().unwrap_or(default_port),
            prefix: uri.path().trim_end_matches('/').to_owned(),
            scheme,
            authority,
        })
    }

    /// The URI of `path` (a path and query starting with `/`) under this base.
    fn join(&self, path: &str) -> Result<Uri, &'static str> {
        if !path.starts_with('/') {
            return Err("must start with `/`");
        }
        if path.contains('#') {
            return Err("must not have a fragment");
        }
        let path_and_query = if self.prefix.is_empty() {
            PathAndQuery::try_from(path)
        } else {
            PathAndQuery::try_from(format!("{}{path}", self.prefix))
        }
        .map_err(|_| "has a character a URL cannot carry")?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| "has a character a URL cannot carry")
    }
}

/// What every clone of a client shares: the pool, the settings, the
/// metric handles.
struct Shared {
    name: Arc<str>,
    /// `host:port`, for errors.
    server: Arc<str>,
    base: Base,
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
    max_body: u64,
    max_retry_after: Duration,
    clock: Clock,
    #[cfg(feature = "metrics")]
    handles: metrics::Handles,
}

/// A client of one upstream service; see the [module](self). Clones share
/// the connection pool and the pipeline's state.
pub struct HttpClient<R = NoRetry, B = Failures> {
    shared: Arc<Shared>,
    pipeline: Option<Pipeline<R, B>>,
}

impl<R: Clone, B: Clone> Clone for HttpClient<R, B> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            pipeline: self.pipeline.clone(),
        }
    }
}

impl<R, B> fmt::Debug for HttpClient<R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("name", &self.shared.name)
            .field("server", &self.shared.server)
            .field("pipeline", &self.pipeline)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A builder of the client named `name` (in errors and events).
    pub fn builder(name: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder {
            name: name.into(),
            config: HttpClientConfig::default(),
            pipeline: None,
            roots_pem: Vec::new(),
            clock: None,
            address_check: None,
        }
    }
}

impl<R, B> HttpClient<R, B> {
    /// The client's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The pipeline its calls go through, if it has one.
    #[must_use]
    pub fn pipeline(&self) -> Option<&Pipeline<R, B>> {
        self.pipeline.as_ref()
    }

    /// A `method` call of `path`: a path and query starting with `/`,
    /// joined to the base URL's prefix. A path that cannot be sent fails the
    /// call with `http.client_invalid_url`.
    pub fn request(&self, method: Method, path: &str) -> OutboundRequest<'_, R, B> {
        OutboundRequest {
            client: self,
            method,
            uri: self.shared.base.join(path),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            request_id: None,
            trace: None,
        }
    }

    /// A `GET` of `path`.
    pub fn get(&self, path: &str) -> OutboundRequest<'_, R, B> {
        self.request(Method::GET, path)
    }

    /// A `POST` to `path`.
    pub fn post(&self, path: &str) -> OutboundRequest<'_, R, B> {
        self.request(Method::POST, path)
    }

    /// A `PUT` to `path`.
    pub fn put(&self, path: &str) -> OutboundRequest<'_, R, B> {
        self.request(Method::PUT, path)
    }

    /// A `DELETE` of `path`.
    pub fn delete(&self, path: &str) -> OutboundRequest<'_, R, B> {
        self.request(Method::DELETE, path)
    }
}

/// One call, being set up; [`send`](Self::send) makes it.
#[must_use = "a request does nothing until sent"]
pub struct OutboundRequest<'a, R, B> {
    client: &'a HttpClient<R, B>,
    method: Method,
    uri: Result<Uri, &'static str>,
    headers: HeaderMap,
    body: Bytes,
    request_id: Option<RequestId>,
    trace: Option<RequestTrace>,
}

impl<R, B> fmt::Debug for OutboundRequest<'_, R, B> {
    /// The method and the client only: the path and headers may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundRequest")
            .field("client", &self.client.shared.name)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl<R, B> OutboundRequest<'_, R, B> {
    /// Adds a header (several with one name are all sent).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// `Authorization: Bearer <token>`, marked sensitive (HTTP/2 never
    /// indexes it). A token that is not a valid header value (a line
    /// break) is not sent.
    pub fn bearer(mut self, token: &pr_core::secret::SecretString) -> Self {
        let mut value = String::with_capacity(7 + token.len());
        value.push_str("Bearer ");
        value.push_str(token.expose());
        if let Ok(mut value) = HeaderValue::try_from(value) {
            value.set_sensitive(true);
            self.headers.insert(AUTHORIZATION, value);
        }
        self
    }

    /// The body, resent as it is by every retry.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The request id and trace to send on, from a request's extensions
    /// (`request.extensions()`, `parts.extensions`): for a task the
    /// handler spawned, where [`RequestId::current`] is not set. What the
    /// extensions lack is still taken from the current request.
    pub fn context(mut self, extensions: &http::Extensions) -> Self {
        if let Some(id) = extensions.get::<RequestId>() {
            self.request_id = Some(id.clone());
        }
        if let Some(trace) = extensions.get::<RequestTrace>() {
            self.trace = Some(trace.clone());
        }
        self
    }

    /// The request id to send, instead of the current request's.
    pub fn request_id(mut self, id: RequestId) -> Self {
        self.request_id = Some(id);
        self
    }

    /// The trace to continue, instead of the current request's.
    pub fn trace(mut self, trace: RequestTrace) -> Self {
        self.trace = Some(trace);
        self
    }

    /// Makes the call through the client's pipeline.
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] when the pipeline refused or cut short the
    /// call (an open breaker, its total timeout); otherwise the last
    /// attempt's [`OutboundError`] as [`CallError::Inner`]: a path that
    /// cannot be sent, a connection or timeout failure, a 4xx or 5xx, or a
    /// body over the limit.
    pub async fn send(self) -> OutboundResult
    where
        R: Classify<Response<Bytes>, CallError<OutboundError>>,
        B: RecordOutcome<Response<Bytes>, OutboundError>,
    {
        let shared = &*self.client.shared;
        let uri = self.uri.map_err(|reason| {
            CallError::Inner(OutboundError::InvalidUrl {
                client: Arc::clone(&shared.name),
                reason,
            })
        })?;
        let mut headers = self.headers;
        if let Some(id) = self.request_id.or_else(RequestId::current) {
            headers.insert(request_id::HEADER, id.as_header_value().clone());
        }
        let trace = self.trace.or_else(RequestTrace::current);
        if let Some(trace) = &trace
            && !trace.state.is_empty()
            && let Ok(state) = HeaderValue::try_from(trace.state.to_string())
        {
            headers.insert(TRACESTATE, state);
        }
        let (method, body) = (self.method, self.body);
        let attempt = || {
            let mut headers = headers.clone();
            // Each attempt is a client span in OpenTelemetry, named for
            // the callee as its parent; without a layer recording it, a
            // new span id in the request's trace stands in.
            #[cfg(feature = "otel")]
            let span = tracing::info_span!(
                "http.client.request",
                otel.name = %method,
                otel.kind = "client",
                http.request.method = %method,
                server.address = uri.host().unwrap_or_default(),
            );
            #[cfg(feature = "otel")]
            let traced = crate::trace_context::inject_outbound(&span, &mut headers);
            #[cfg(not(feature = "otel"))]
            let traced = false;
            if !traced
                && let Some(trace) = &trace
                && let Ok(parent) = HeaderValue::try_from(trace.current.child().to_string())
            {
                headers.insert(TRACEPARENT, parent);
            }
            let sent = shared.attempt(method.clone(), uri.clone(), headers, body.clone());
            #[cfg(feature = "otel")]
            let sent = tracing::Instrument::instrument(sent, span);
            sent
        };
        match &self.client.pipeline {
            Some(pipeline) => pipeline.run(attempt).await,
            None => attempt().await.map_err(CallError::Inner),
        }
    }
}

impl Shared {
    /// One attempt, timed and bounded.
    async fn attempt(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response<Bytes>, OutboundError> {
        let start = self.clock.now_nanos();
        #[cfg(feature = "metrics")]
        let method_index = crate::request_metrics::method_index(&method);
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let outcome = tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .unwrap_or_else(|_| {
                Err(OutboundError::Timeout {
                    client: Arc::clone(&self.name),
                    server: Arc::clone(&self.server),
                    after: self.timeout,
                })
            });
        #[cfg(feature = "metrics")]
        {
            let (status, error_type) = match &outcome {
                Ok(response) => (response.status().as_u16(), None),
                Err(error) => (
                    error.upstream_status().map_or(0, |s| s.as_u16()),
                    error.error_type(),
                ),
            };
            self.handles
                .duration(method_index, status, error_type)
                .record(crate::nanos_to_secs(
                    self.clock.now_nanos().saturating_sub(start),
                ));
        }
        #[cfg(not(feature = "metrics"))]
        let _ = start;
        if let Err(error) = &outcome {
            tracing::debug!(
                target: "pr_http::outbound",
                event = "http.client_attempt_failed",
                client = %self.name,
                server_address = %self.base.host,
                server_port = self.base.port,
                code = %error.code(),
                status = error.upstream_status().map(|s| s.as_u16()),
                "outbound attempt failed"
            );
        }
        outcome
    }

    /// Sends `request` and reads the response's whole body, bounded.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Bytes>, OutboundError> {
        let response = self.client.request(request).await.map_err(|error| {
            let (client, server) = (Arc::clone(&self.name), Arc::clone(&self.server));
            if let Some(reason) = refused_by_check(&error) {
                OutboundError::AddressRefused {
                    client,
                    server,
                    reason,
                }
            } else if error.is_connect() {
                OutboundError::Connect {
                    client,
                    server,
                    source: Box::new(error),
                }
            } else {
                OutboundError::Transport {
                    client,
                    server,
                    source: Box::new(error),
                }
            }
        })?;
        let (parts, body) = response.into_parts();
        let too_large = || OutboundError::BodyTooLarge {
            client: Arc::clone(&self.name),
            server: Arc::clone(&self.server),
            limit: self.max_body,
        };
        let announced = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|length| length > self.max_body) {
            return Err(too_large());
        }
        let limit = usize::try_from(self.max_body).unwrap_or(usize::MAX);
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => return Err(too_large()),
            Err(source) => {
                return Err(OutboundError::Transport {
                    client: Arc::clone(&self.name),
                    server: Arc::clone(&self.server),
                    source,
                });
            }
        };
        match error::status_class(parts.status) {
            None => Ok(Response::from_parts(parts, body)),
            Some(true) => Err(OutboundError::Unavailable {
                client: Arc::clone(&self.name),
                server: Arc::clone(&self.server),
                status: parts.status,
                retry_after: parts.headers.get(RETRY_AFTER).and_then(|value| {
                    retry_after::parse(value.as_bytes(), self.clock.wall(), self.max_retry_after)
                }),
                body,
            }),
            Some(false) => Err(OutboundError::Status {
                client: Arc::clone(&self.name),
                server: Arc::clone(&self.server),
                status: parts.status,
                body,
            }),
        }
    }
}

/// Builds an [`HttpClient`]: [`HttpClient::builder`].
#[must_use]
pub struct HttpClientBuilder<R = NoRetry, B = Failures> {
    name: String,
    config: HttpClientConfig,
    pipeline: Option<Pipeline<R, B>>,
    roots_pem: Vec<Vec<u8>>,
    clock: Option<Clock>,
    address_check: Option<AddressCheck>,
}

impl<R, B> fmt::Debug for HttpClientBuilder<R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<R, B> HttpClientBuilder<R, B> {
    /// Every setting from a config section (replacing those set before).
    pub fn config(mut self, config: HttpClientConfig) -> Self {
        self.config = config;
        self
    }

    /// The base URL ([`HttpClientConfig::base_url`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self
    }

    /// The longest one attempt may take ([`HttpClientConfig::timeout`]).
    pub fn timeout(mut self, after: Duration) -> Self {
        self.config.timeout = after.into();
        self
    }

    /// The largest response body read ([`HttpClientConfig::max_response_body`]).
    pub fn max_response_body(mut self, size: ByteSize) -> Self {
        self.config.max_response_body = size;
        self
    }

    /// The pipeline every call goes through (its retry, breaker, timeouts,
    /// bulkhead and admission). Without one a call is one attempt.
    pub fn pipeline<R2, B2>(self, pipeline: Pipeline<R2, B2>) -> HttpClientBuilder<R2, B2> {
        HttpClientBuilder {
            name: self.name,
            config: self.config,
            pipeline: Some(pipeline),
            roots_pem: self.roots_pem,
            clock: self.clock,
            address_check: self.address_check,
        }
    }

    /// Checks the addresses the server's name resolves to before any
    /// connection, and connects only to those checked (no second lookup):
    /// the defence against a name that resolves to an internal address, by
    /// design or by DNS rebinding. `check` gets the name and every address;
    /// `Err(reason)` fails the attempt with `http.client_address_refused`
    /// (permanent: not retried). pr-security's SSRF guard fits:
    /// `move |host, addrs| policy.check_resolved(host, addrs).map_err(|e| e.to_string())`.
    /// A base URL with an IP address is not resolved, so not checked here:
    /// check the URL itself (pr-security's `UrlPolicy::check`).
    pub fn address_check(
        mut self,
        check: impl Fn(&str, &[SocketAddr]) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.address_check = Some(Arc::new(check));
        self
    }

    /// Trusts the CA certificates in `pem` too (a private CA), besides
    /// Mozilla's roots. Checked by [`build`](Self::build).
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Self {
        self.roots_pem.push(pem.to_vec());
        self
    }

    /// The clock attempts are timed on (pr-core's precise clock by default)
    /// and an HTTP-date `Retry-After` is counted from.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The client. Needs no runtime; its calls need tokio's.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) with every
    /// problem of the settings ([`HttpClientConfig`]'s rules), and a root
    /// certificate PEM without a certificate or with one rustls refuses
    /// (`tls_roots.<n>`).
    pub fn build(self) -> Result<HttpClient<R, B>, crate::Error> {
        let mut v = pr_core::validate::Validator::new();
        pr_core::validate::Validate::validate(&self.config, &mut v);
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for (i, pem) in self.roots_pem.iter().enumerate() {
            let key = format!("tls_roots.{i}");
            let certs: Result<Vec<CertificateDer<'_>>, _> =
                CertificateDer::pem_slice_iter(pem).collect();
            match certs {
                Ok(certs) if !certs.is_empty() => {
                    for cert in certs {
                        if roots.add(cert).is_err() {
                            v.error(&key, "holds a certificate that is not a valid CA root");
                        }
                    }
                }
                Ok(_) => v.error(&key, "holds no PEM certificate"),
                Err(_) => v.error(&key, "is not valid PEM"),
            }
        }
        let base = Base::parse(&self.config.base_url);
        let problems = v.into_problems();
        let base = match base {
            Ok(base) if problems.is_empty() => base,
            _ => return Err(crate::Error::InvalidConfig { problems }),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| crate::Error::InvalidConfig {
            problems: vec![pr_core::validate::Violation::new(
                "tls",
                format!("rustls refused its own defaults: {error}"),
            )],
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let config = &self.config;
        let mut http = HttpConnector::new_with_resolver(CheckedResolver {
            system: GaiResolver::new(),
            check: self.address_check,
        });
        // The scheme is checked by the TLS connector around it.
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout.into()));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from(config.pool_idle_timeout))
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(connector);
        let server: Arc<str> = if base.host.contains(':') {
            format!("[{}]:{}", base.host, base.port).into()
        } else {
            format!("{}:{}", base.host, base.port).into()
        };
        Ok(HttpClient {
            shared: Arc::new(Shared {
                name: self.name.into(),
                server,
                #[cfg(feature = "metrics")]
                handles: metrics::Handles::new(&base.host, base.port),
                base,
                client,
                timeout: config.timeout.into(),
                max_body: config.max_response_body.as_u64(),
                max_retry_after: config.max_retry_after.into(),
                clock: self.clock.unwrap_or_else(Clock::precise),
            }),
            pipeline: self.pipeline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_taken_apart_and_bounded() {
        let base = Base::parse("https://quotes.internal:8443/v1/").unwrap();
        assert_eq!((base.host.as_str(), base.port), ("quotes.internal", 8443));
        assert_eq!(
            base.join("/quote/ACME?at=now").unwrap().to_string(),
            "https://quotes.internal:8443/v1/quote/ACME?at=now"
        );
        let plain = Base::parse("http://[::1]").unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("::1", 80));
        assert_eq!(plain.join("/").unwrap().to_string(), "http://[::1]/");
        for bad in [
            "quotes.internal",
            "ftp://quotes.internal",
            "https://user:pw@quotes.internal",
            "https://quotes.internal/?token=x",
            "https://quotes.internal/#x",
            "https:///v1",
        ] {
            assert!(Base::parse(bad).is_err(), "{bad}");
        }
        for bad in ["quote", "/a b", "/a#b", "/\n"] {
            assert!(base.join(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_builder_reports_every_problem() {
        let Err(crate::Error::InvalidConfig { problems }) = HttpClient::builder("quotes")
            .base_url("https://a:b@quotes.internal")
            .timeout(Duration::ZERO)
            .add_root_certificates_pem(b"not pem")
            .build()
        else {
            panic!("built");
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["base_url", "timeout", "tls_roots.0"]);
    }
}
