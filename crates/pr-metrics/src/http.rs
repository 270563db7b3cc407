//! The axum route `/metrics`: the exposition format from the `Accept`
//! header, gzip when the scraper accepts it.
//!
//! ```
//! # fn main() -> Result<(), pr_metrics::Error> {
//! let registry = pr_metrics::Registry::default();
//! let app: axum::Router = pr_metrics::http::router(registry);
//! # Ok(())
//! # }
//! ```

use std::io::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{ExpositionFormat, Registry};

/// Bodies smaller than this are sent uncompressed: gzip would not pay.
const GZIP_MIN_BYTES: usize = 512;

/// A router serving `GET /metrics` from `registry`; merge it into the
/// service's ops router.
pub fn router<S: Clone + Send + Sync + 'static>(registry: Registry) -> Router<S> {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry)
}

/// The `/metrics` handler, for mounting at another path.
pub async fn metrics(State(registry): State<Registry>, headers: HeaderMap) -> Response {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let format = ExpositionFormat::from_accept(accept);
    let body = registry.render(format);
    let gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let content_type = HeaderValue::from_static(format.content_type());
    let vary = HeaderValue::from_static("Accept, Accept-Encoding");
    if gzip && body.len() >= GZIP_MIN_BYTES {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::fast(),
        );
        let compressed = encoder
            .write_all(body.as_bytes())
            .and_then(|()| encoder.finish());
        match compressed {
            Ok(bytes) => {
                return (
                    StatusCode::OK,
                    [
                        (CONTENT_TYPE, content_type),
                        (CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                        (VARY, vary),
                    ],
                    bytes,
                )
                    .into_response();
            }
            Err(error) => {
                tracing::warn!(event = "metrics.gzip_failed", %error, "sending the page uncompressed");
            }
        }
    }
    (
        StatusCode::OK,
        [(CONTENT_TYPE, content_type), (VARY, vary)],
        body,
    )
        .into_response()
}

/// Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*` with a
/// non-zero quality, and gzip not refused).
pub(crate) fn accepts_gzip(header: &str) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in header.split(',') {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(quality),
            "*" => any = Some(quality),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip;q=0, *"));
        assert!(!accepts_gzip("br"));
    }
}
