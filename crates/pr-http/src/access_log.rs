//! The access log: one structured event per request, `http.request_completed`
//! (its `event` field), when its response head is ready, with target
//! `pr_http::access` and the fields `method`,
//! `route` (the template, as in the metrics), `status`, `duration_seconds`,
//! `bytes` (the body's length when known), `request_id` (with
//! [`RequestIdLayer`](crate::request_id::RequestIdLayer) outside this
//! layer) and `client` (the peer address, from axum's `ConnectInfo` or a
//! `SocketAddr` in the request's extensions).
//!
//! No header is logged, so `Authorization` and `Cookie` never reach a log;
//! the path is not logged either (it may carry ids and tokens), only the
//! route template.
//!
//! Successful requests (below 400) are logged at `info` by default, and may
//! be sampled ([`AccessLogLayer::sample`]: one in N, counted per layer);
//! client errors (4xx) at `info`, server errors (5xx) at `warn`, never
//! sampled. The events run inside the request's spans, so a JSON log line
//! also carries the trace ids.
//!
//! ```
//! use axum::{Router, routing::get};
//! use pr_http::access_log::AccessLogLayer;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(AccessLogLayer::new().sample(10));
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http::{Request, Response};
use pr_core::time::Clock;
use tracing::Level;

/// Logs one event per request; see the [module](self).
#[derive(Clone, Debug)]
pub struct AccessLogLayer {
    success_level: Level,
    sample: u64,
    clock: Clock,
}

impl AccessLogLayer {
    /// Every request logged; successes at `info`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            success_level: Level::INFO,
            sample: 1,
            clock: Clock::precise(),
        }
    }

    /// The level of successful requests' events (`debug` keeps them out of
    /// an `info` log). Errors keep theirs.
    #[must_use]
    pub const fn success_level(mut self, level: Level) -> Self {
        self.success_level = level;
        self
    }

    /// Logs one successful request in `one_in` (1, the default, logs all;
    /// 0 counts as 1). Errors are always logged.
    #[must_use]
    pub const fn sample(mut self, one_in: u64) -> Self {
        self.sample = if one_in == 0 { 1 } else { one_in };
        self
    }

    /// Times requests on `clock` (a manual clock in tests).
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl Default for AccessLogLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower::Layer<S> for AccessLogLayer {
    type Service = AccessLogService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLogService {
            inner,
            settings: self.clone(),
            seen: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// The service of [`AccessLogLayer`].
#[derive(Clone, Debug)]
pub struct AccessLogService<S> {
    inner: S,
    settings: AccessLogLayer,
    /// Successful requests seen, for sampling.
    seen: Arc<AtomicU64>,
}

/// What the event says of the request, taken before the call.
struct Line {
    method: http::Method,
    route: crate::route::Template,
    request_id: Option<crate::request_id::RequestId>,
    client: Option<std::net::SocketAddr>,
}

/// Emits the access event, `http.request_completed`, at a level known only at run time.
macro_rules! access_event_at {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            Level::ERROR => tracing::error!(target: "pr_http::access", event = "http.request_completed", $($fields)*),
            Level::WARN => tracing::warn!(target: "pr_http::access", event = "http.request_completed", $($fields)*),
            Level::INFO => tracing::info!(target: "pr_http::access", event = "http.request_completed", $($fields)*),
            Level::DEBUG => tracing::debug!(target: "pr_http::access", event = "http.request_completed", $($fields)*),
            _ => tracing::trace!(target: "pr_http::access", event = "http.request_completed", $($fields)*),
        }
    };
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for AccessLogService<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    ResB: http_body::Body,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let line = Line {
            method: request.method().clone(),
            route: crate::route::template(&request),
            request_id: request
                .extensions()
                .get::<crate::request_id::RequestId>()
                .cloned(),
            client: crate::client::peer(&request),
        };
        let settings = self.settings.clone();
        let seen = Arc::clone(&self.seen);
        let start = settings.clock.now_nanos();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let Ok(response) = &result else {
                return result;
            };
            let status = response.status();
            let level = if status.is_server_error() {
                Level::WARN
            } else if status.is_client_error() {
                Level::INFO
            } else {
                // One in `sample`: the first of each run of `sample` successes.
                if !seen
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(settings.sample)
                {
                    return result;
                }
                settings.success_level
            };
            let duration = crate::nanos_to_secs(settings.clock.now_nanos().saturating_sub(start));
            let bytes = response.body().size_hint().exact();
            access_event_at!(
                level,
                method = %line.method,
                route = line.route.as_str(),
                status = status.as_u16(),
                duration_seconds = duration,
                bytes,
                request_id = line.request_id.as_ref().map(crate::request_id::RequestId::as_str),
                client = line.client.map(|peer| tracing::field::display(peer.ip())),
                "request"
            );
            result
        })
    }
}
