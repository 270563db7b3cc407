//! `GET /` on the ops port: the ops console, one self-contained HTML page
//! (`console.html`: no external asset, no CDN) that reads `/status`,
//! `/loggers` and `/metrics` every two seconds and shows health and
//! lifecycle, breakers, limiters, caches, dead-letter queues, resources,
//! the configuration's generation and reload errors, log outputs, and
//! request rate and latency charts; its form changes the log filter with
//! the ops token (kept in the page's memory only).
//!
//! The page reads nothing the ops port does not already answer, and its
//! Content-Security-Policy allows only its own inline script and style (by
//! hash) and requests to the ops port itself: a value the service reports
//! is shown as text, never run.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The page.
pub(crate) const PAGE: &str = include_str!("console.html");

/// `sha256-` of the page's one inline `<script>` and `<style>`, base64, for
/// the policy (`tests::the_console_policy_hashes_its_script_and_style`
/// recomputes them and prints the new values after an edit).
pub(crate) const SCRIPT_SHA256: &str = "jBX7ybO9tAODs3tfCJIiWh/zP4R2zi2yljq76ar0O5Q=";
/// See [`SCRIPT_SHA256`].
pub(crate) const STYLE_SHA256: &str = "y8AoMn1F+Tun8HOWxO21b3Tmd5iX+7eOUW492U7w9P8=";

/// The console's route.
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(page))
}

/// The page's Content-Security-Policy.
pub(crate) fn policy() -> String {
    format!(
        "default-src 'none'; script-src 'sha256-{SCRIPT_SHA256}'; \
         style-src 'sha256-{STYLE_SHA256}'; connect-src 'self'; img-src data:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

async fn page() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
