//! [`layers`]: the whole inbound stack from one [`HttpConfig`].

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use http_body_util::Limited;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceBuilder};

use crate::access_log::AccessLogLayer;
use crate::config::{CorsConfig, HttpConfig};
use crate::limits::{BodyLimitLayer, LoadShedLayer, RequestTimeoutLayer};
use crate::request_id::RequestIdLayer;
use crate::security_headers::SecurityHeadersLayer;
use crate::trace_context::TraceContextLayer;

/// The inbound stack, built by [`layers`]: a [`Layer`] for an axum
/// `Router` (`Router::layer` runs it around each route, after routing, so
/// metrics and logs see the route's template).
#[derive(Clone)]
pub struct HttpLayers {
    request_id: RequestIdLayer,
    trace: TraceContextLayer,
    access_log: Option<AccessLogLayer>,
    #[cfg(feature = "metrics")]
    metrics: crate::request_metrics::RequestMetricsLayer,
    security_headers: SecurityHeadersLayer,
    cors: Option<tower_http::cors::CorsLayer>,
    #[cfg(feature = "compression")]
    compression: Option<Compression>,
    load_shed: LoadShedLayer,
    #[cfg(feature = "rate-limit")]
    rate_limit: Option<
        crate::rate_limit::ClientRateLimitLayer<
            pr_resilience::rate::KeyedLimiter<std::net::IpAddr>,
        >,
    >,
    timeout: RequestTimeoutLayer,
    body_limit: BodyLimitLayer,
}

impl std::fmt::Debug for HttpLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLayers")
            .field("access_log", &self.access_log.is_some())
            .field("cors", &self.cors.is_some())
            .field("compression", &cfg!(feature = "compression"))
            .field("timeout", &self.timeout)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl HttpLayers {
    /// The per-client limiter (`http.clients`), when the rate limit is
    /// enabled: for its figures (`snapshot`) on a status page.
    #[cfg(feature = "rate-limit")]
    #[must_use]
    pub fn rate_limiter(&self) -> Option<&pr_resilience::rate::KeyedLimiter<std::net::IpAddr>> {
        self.rate_limit
            .as_ref()
            .map(crate::rate_limit::ClientRateLimitLayer::limiter)
    }
}

/// The whole inbound stack from one [`HttpConfig`], for an axum router
/// (feature `axum`), in this order from the outside in:
///
/// 1. trace context (its span is the request's server span in
///    OpenTelemetry, feature `otel`), 2. request id (so everything below
///    logs with both),
/// 3. access log, 4. request metrics (feature `metrics`; both see every
///    answer below, refusals included), 5. security headers, 6. CORS (when
///    origins are configured; preflights are answered here), 7. response
///    compression (feature `compression`, when enabled), 8. load
///    shedding, 9. per-client rate limit (feature `rate-limit`, when
///    enabled), 10. request timeout, 11. body limit, 12. panics as 500
///    problems, then the router's own handlers.
///
/// Each layer is also public on its own, for other orders and other
/// routers.
///
/// ```
/// use axum::{Router, routing::get};
/// use pr_http::HttpConfig;
///
/// # fn main() -> Result<(), pr_http::Error> {
/// let app: Router = Router::new()
///     .route("/quote/{symbol}", get(|| async { "42" }))
///     .layer(pr_http::layers(&HttpConfig::default())?);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) with every problem
/// of `config`, each at its key.
pub fn layers(config: &HttpConfig) -> Result<HttpLayers, crate::Error> {
    pr_core::validate::check(config)
        .map_err(|problems| crate::Error::InvalidConfig { problems })?;
    let access_log = config.access_log.enabled.then(|| {
        AccessLogLayer::new()
            .success_level(
                config
                    .access_log
                    .tracing_level()
                    .unwrap_or(tracing::Level::INFO),
            )
            .sample(config.access_log.sample)
    });
    let headers = &config.security_headers;
    let mut security_headers =
        SecurityHeadersLayer::new().referrer_policy(&headers.referrer_policy);
    if headers.hsts {
        security_headers = security_headers.hsts(headers.hsts_max_age.as_std());
    }
    let limits = &config.limits;
    Ok(HttpLayers {
        request_id: RequestIdLayer::new().trust_incoming(config.request_id.trust_incoming),
        trace: TraceContextLayer::new(),
        access_log,
        #[cfg(feature = "metrics")]
        metrics: crate::request_metrics::RequestMetricsLayer::new(),
        security_headers,
        cors: cors(&config.cors),
        #[cfg(feature = "compression")]
        compression: compression(&config.compression),
        load_shed: LoadShedLayer::new(limits.max_in_flight),
        #[cfg(feature = "rate-limit")]
        rate_limit: rate_limit(&config.rate_limit)?,
        timeout: RequestTimeoutLayer::new(limits.request_timeout.as_std()),
        body_limit: BodyLimitLayer::new(
            usize::try_from(limits.max_body_size.as_u64()).unwrap_or(usize::MAX),
        ),
    })
}

/// tower-http's CORS layer for `config`; none without origins.
fn cors(config: &CorsConfig) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if config.allowed_origins.is_empty() {
        return None;
    }
    // `validate` has refused what does not parse; anything left out here was invalid.
    let origin = if config.allowed_origins == ["*"] {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(config.allowed_origins.iter().filter_map(|o| o.parse().ok()))
    };
    let methods: Vec<http::Method> = config
        .allowed_methods
        .iter()
        .filter_map(|m| http::Method::from_bytes(m.as_bytes()).ok())
        .collect();
    let headers: Vec<http::HeaderName> = config
        .allowed_headers
        .iter()
        .filter_map(|h| http::HeaderName::from_bytes(h.as_bytes()).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods(methods)
            .allow_headers(headers)
            .allow_credentials(config.allow_credentials)
            .max_age(config.max_age.as_std()),
    )
}

/// tower-http's compression layer with the default predicate's exclusions
/// (gRPC, images, server-sent events) and the configured size floor.
#[cfg(feature = "compression")]
type Compression = tower_http::compression::CompressionLayer<
    tower_http::compression::predicate::And<
        tower_http::compression::predicate::And<
            tower_http::compression::predicate::And<
                tower_http::compression::predicate::SizeAbove,
                tower_http::compression::predicate::NotForContentType,
            >,
            tower_http::compression::predicate::NotForContentType,
        >,
        tower_http::compression::predicate::NotForContentType,
    >,
>;

/// The compression layer for `config`, when enabled: gzip and brotli.
#[cfg(feature = "compression")]
fn compression(config: &crate::config::CompressionConfig) -> Option<Compression> {
    use tower_http::compression::predicate::{NotForContentType, Predicate as _, SizeAbove};
    config.enabled.then(|| {
        // `validate` has refused a size over u16::MAX.
        let min = u16::try_from(config.min_size.as_u64()).unwrap_or(u16::MAX);
        tower_http::compression::CompressionLayer::new()
            .gzip(true)
            .br(true)
            .compress_when(
                SizeAbove::new(min)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            )
    })
}

#[cfg(feature = "rate-limit")]
type ClientLimit =
    crate::rate_limit::ClientRateLimitLayer<pr_resilience::rate::KeyedLimiter<std::net::IpAddr>>;

/// The per-client limiter for `config`, when enabled: GCRA per address, at
/// most `max_clients` addresses.
#[cfg(feature = "rate-limit")]
fn rate_limit(
    config: &crate::config::ClientRateLimitConfig,
) -> Result<Option<ClientLimit>, crate::Error> {
    use pr_resilience::rate::{KeyedLimiter, Quota};
    if !config.enabled {
        return Ok(None);
    }
    let quota = Quota::new(config.permits, config.period.as_std()).with_burst(config.burst);
    let limiter = KeyedLimiter::builder(quota)
        .name("http.clients")
        .max_keys(config.max_clients)
        .build()
        .map_err(|e| crate::Error::InvalidConfig {
            problems: vec![pr_core::validate::Violation::new(
                "rate_limit",
                e.to_string(),
            )],
        })?;
    Ok(Some(
        crate::rate_limit::ClientRateLimitLayer::new(limiter, config.proxies()).policy(quota),
    ))
}

/// The router's services take axum's body; the body limit hands them the
/// limited one, wrapped back.
fn unlimit(request: Request<Limited<Body>>) -> Request<Body> {
    request.map(Body::new)
}

impl<S> Layer<S> for HttpLayers
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Service = BoxCloneSyncService<Request<Body>, Response, Infallible>;

    fn layer(&self, inner: S) -> Self::Service {
        // The trace's span outermost: in OpenTelemetry it is the request's
        // server span, so every other span of the request is its child.
        let builder = ServiceBuilder::new()
            .layer(self.trace)
            .layer(self.request_id)
            .layer(Maybe(self.access_log.clone()));
        #[cfg(feature = "metrics")]
        let builder = builder.layer(self.metrics.clone());
        let builder = builder
            .layer(self.security_headers.clone())
            .layer(Maybe(self.cors.clone()));
        #[cfg(feature = "compression")]
        let builder = builder.layer(Maybe(self.compression.clone().map(|layer| {
            // The compressed body, as axum's again.
            ServiceBuilder::new()
                .map_response(|response: http::Response<_>| response.map(Body::new))
                .layer(layer)
        })));
        let builder = builder.layer(self.load_shed.clone());
        #[cfg(feature = "rate-limit")]
        let builder = builder.layer(Maybe(self.rate_limit.clone()));
        let service = builder
            .layer(self.timeout)
            .layer(self.body_limit)
            .map_request(unlimit)
            .layer(crate::problem::catch_panic())
            .service(inner);
        BoxCloneSyncService::new(service)
    }
}

/// A layer that may be off. tower's `Option<Layer>` answers `BoxError`;
/// this one keeps the inner service's error (axum's `Infallible`).
#[derive(Clone, Debug)]
struct Maybe<L>(Option<L>);

impl<L: Layer<S>, S> Layer<S> for Maybe<L> {
    type Service = MaybeService<L::Service, S>;

    fn layer(&self, inner: S) -> Self::Service {
        match &self.0 {
            Some(layer) => MaybeService::On(layer.layer(inner)),
            None => MaybeService::Off(inner),
        }
    }
}

/// The service of [`Maybe`]: the layer's, or the inner one.
#[derive(Clone, Debug)]
enum MaybeService<A, B> {
    On(A),
    Off(B),
}

impl<A, B, R> Service<R> for MaybeService<A, B>
where
    A: Service<R>,
    B: Service<R, Response = A::Response, Error = A::Error>,
{
    type Response = A::Response;
    type Error = A::Error;
    type Future = futures_util::future::Either<A::Future, B::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), A::Error>> {
        match self {
            Self::On(a) => a.poll_ready(cx),
            Self::Off(b) => b.poll_ready(cx),
        }
    }

    fn call(&mut self, request: R) -> Self::Future {
        match self {
            Self::On(a) => futures_util::future::Either::Left(a.call(request)),
            Self::Off(b) => futures_util::future::Either::Right(b.call(request)),
        }
    }
}
