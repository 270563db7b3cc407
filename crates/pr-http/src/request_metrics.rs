//! Request metrics by OpenTelemetry's HTTP semantic conventions, under
//! their Prometheus names, through the `metrics` facade (feature `metrics`):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `http_server_request_duration_seconds` | histogram | `http_request_method`, `http_route`, `http_response_status_code` |
//! | `http_server_active_requests` | gauge | `http_request_method` |
//!
//! Every label is bounded, whatever clients send:
//!
//! - the method is one of HTTP's nine (`GET`, `HEAD`, `POST`, `PUT`,
//!   `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`, `PATCH`) or `_OTHER`;
//! - the route is the matched route's template (`/quote/{symbol}`), never
//!   the raw path: axum's `MatchedPath` (feature `axum`; add the layer with
//!   `Router::layer`, which runs it after routing) or a
//!   [`Route`](crate::route::Route) a router put in the request's
//!   extensions; a request no route matched (a 404 from the fallback) has an
//!   empty `http_route`;
//! - the status is the response's, a three-digit number.
//!
//! The duration runs from the call until the response's head is ready (a
//! streamed body's transfer is not in it), on pr-core's precise clock. A
//! request whose service fails before answering (not axum's, whose errors
//! are responses) is counted with status `_OTHER`.
//!
//! ```
//! use axum::{Router, routing::get};
//! use pr_http::request_metrics::RequestMetricsLayer;
//!
//! let app: Router = Router::new()
//!     .route("/quote/{symbol}", get(|| async { "42" }))
//!     .layer(RequestMetricsLayer::new());
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use pr_core::time::Clock;

/// The histogram of request durations.
pub const DURATION: &str = "http_server_request_duration_seconds";
/// The gauge of requests in flight.
pub const ACTIVE: &str = "http_server_active_requests";

/// The method labels, by [`method_index`].
pub(crate) const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER",
];

/// The method's index in [`METHODS`]: one of HTTP's nine methods, or `_OTHER`.
pub(crate) fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

/// A route's duration histograms, by (method index, status).
type ByStatus = HashMap<(usize, u16), metrics::Histogram>;

/// The recorder's handles, registered once per label set and shared by the
/// layer's services: a request finds its handles in a read-locked map
/// instead of building a key for the recorder (label strings, a hash of
/// them all, the recorder's own map) twice. The sets are bounded: ten
/// methods, the router's templates, the statuses a service answers.
#[derive(Default)]
struct Handles {
    active: [std::sync::OnceLock<metrics::Gauge>; 10],
    /// By route template, then by (method index, status; 0 for a failed
    /// service).
    durations: std::sync::RwLock<HashMap<String, ByStatus>>,
}

impl Handles {
    fn active(&self, method: usize) -> &metrics::Gauge {
        self.active[method]
            .get_or_init(|| metrics::gauge!(ACTIVE, "http_request_method" => METHODS[method]))
    }

    fn duration(&self, method: usize, route: &str, status: u16) -> metrics::Histogram {
        let known = pr_core::sync::read(&self.durations)
            .get(route)
            .and_then(|by_status| by_status.get(&(method, status)).cloned());
        if let Some(histogram) = known {
            return histogram;
        }
        let status_label = if status == 0 {
            "_OTHER".to_owned()
        } else {
            status.to_string()
        };
        let histogram = metrics::histogram!(
            DURATION,
            "http_request_method" => METHODS[method],
            "http_route" => route.to_owned(),
            "http_response_status_code" => status_label,
        );
        pr_core::sync::write(&self.durations)
            .entry(route.to_owned())
            .or_default()
            .insert((method, status), histogram.clone());
        histogram
    }
}

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handles").finish_non_exhaustive()
    }
}

fn describe() {
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "Duration of HTTP server requests, until the response head."
    );
    metrics::describe_gauge!(ACTIVE, "HTTP server requests in flight.");
}

/// Records [`DURATION`] and [`ACTIVE`] for every request; see the
/// [module](self).
#[derive(Clone, Debug)]
pub struct RequestMetricsLayer {
    clock: Clock,
    handles: Arc<Handles>,
}

impl RequestMetricsLayer {
    /// A layer timing on pr-core's precise clock.
    #[must_use]
    pub fn new() -> Self {
        Self::with_clock(Clock::precise())
    }

    /// A layer timing on `clock` (a manual clock in tests).
    #[must_use]
    pub fn with_clock(clock: Clock) -> Self {
        describe();
        Self {
            clock,
            handles: Arc::default(),
        }
    }
}

impl Default for RequestMetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetricsService {
            inner,
            clock: self.clock.clone(),
            handles: Arc::clone(&self.handles),
        }
    }
}

/// The service of [`RequestMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RequestMetricsService<S> {
    inner: S,
    clock: Clock,
    handles: Arc<Handles>,
}

/// Takes one off the active gauge when the request ends, however it ends
/// (answered, failed, or its future dropped by a client that went away).
struct Active(metrics::Gauge);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for RequestMetricsService<S>
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
        let method = method_index(request.method());
        let route = crate::route::template(&request);
        let active = self.handles.active(method).clone();
        active.increment(1.0);
        let active = Active(active);
        let (clock, handles) = (self.clock.clone(), Arc::clone(&self.handles));
        let start = clock.now_nanos();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let status = result
                .as_ref()
                .map_or(0, |response| response.status().as_u16());
            handles
                .duration(method, route.as_str(), status)
                .record(crate::nanos_to_secs(
                    clock.now_nanos().saturating_sub(start),
                ));
            drop(active);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_fold_to_other() {
        let method_label = |method: &Method| METHODS[method_index(method)];
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "_OTHER"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "_OTHER");
    }
}
