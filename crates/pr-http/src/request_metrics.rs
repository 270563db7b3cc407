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

use std::task::{Context, Poll};

use http::{Method, Request, Response};
use pr_core::time::Clock;

/// The histogram of request durations.
pub const DURATION: &str = "http_server_request_duration_seconds";
/// The gauge of requests in flight.
pub const ACTIVE: &str = "http_server_active_requests";

/// The method's label: one of HTTP's nine methods, or `_OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
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
        Self { clock }
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
        }
    }
}

/// The service of [`RequestMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RequestMetricsService<S> {
    inner: S,
    clock: Clock,
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
        let method = method_label(request.method());
        let route = crate::route::template(&request);
        let active = metrics::gauge!(ACTIVE, "http_request_method" => method);
        active.increment(1.0);
        let active = Active(active);
        let clock = self.clock.clone();
        let start = clock.now_nanos();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let status = match &result {
                Ok(response) => response.status().as_str().to_owned(),
                Err(_) => "_OTHER".to_owned(),
            };
            metrics::histogram!(
                DURATION,
                "http_request_method" => method,
                "http_route" => route,
                "http_response_status_code" => status,
            )
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
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "_OTHER"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "_OTHER");
    }
}
