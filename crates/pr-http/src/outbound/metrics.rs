//! The outbound client's metric (feature `metrics`), OpenTelemetry's HTTP
//! client convention under its Prometheus name:
//!
//! | name | type | labels |
//! |---|---|---|
//! | `http_client_request_duration_seconds` | histogram | `server_address`, `server_port`, `http_request_method`, `http_response_status_code`, `error_type` |
//!
//! One observation per attempt (a retried call is several, as the
//! convention counts each physical request). The address and port are the
//! client's base URL's, fixed when it is built; the method is one of HTTP's
//! nine or `_OTHER`; the status is the server's, absent when none came; and
//! `error_type` is `connect`, `timeout`, `transport` or `body_too_large`
//! when the attempt failed without a whole response, absent otherwise.
//! Every label is bounded, whatever the server answers.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::request_metrics::METHODS;

/// The histogram of outbound attempts' durations.
pub const DURATION: &str = "http_client_request_duration_seconds";

/// A handle's labels besides the client's own: method index, status (0 for
/// none) and error type.
type Key = (usize, u16, Option<&'static str>);

/// One client's handles, registered once per label set (as the server's
/// request metrics do): an attempt finds its histogram in a read-locked map
/// instead of building label strings and the recorder's key. The sets are
/// bounded: ten methods, the statuses one server answers, four error types.
pub(crate) struct Handles {
    address: String,
    port: String,
    durations: RwLock<HashMap<Key, metrics::Histogram>>,
}

impl Handles {
    pub(crate) fn new(address: &str, port: u16) -> Self {
        metrics::describe_histogram!(
            DURATION,
            metrics::Unit::Seconds,
            "Duration of outbound HTTP requests, each attempt, until the whole response."
        );
        Self {
            address: address.to_owned(),
            port: port.to_string(),
            durations: RwLock::default(),
        }
    }

    /// The histogram of one label set.
    pub(crate) fn duration(
        &self,
        method: usize,
        status: u16,
        error_type: Option<&'static str>,
    ) -> metrics::Histogram {
        let key = (method, status, error_type);
        if let Some(histogram) = pr_core::sync::read(&self.durations).get(&key) {
            return histogram.clone();
        }
        let mut labels = vec![
            metrics::Label::new("server_address", self.address.clone()),
            metrics::Label::new("server_port", self.port.clone()),
            metrics::Label::new("http_request_method", METHODS[method]),
        ];
        if status != 0 {
            labels.push(metrics::Label::new(
                "http_response_status_code",
                status.to_string(),
            ));
        }
        if let Some(error_type) = error_type {
            labels.push(metrics::Label::new("error_type", error_type));
        }
        let histogram = metrics::histogram!(DURATION, labels);
        pr_core::sync::write(&self.durations).insert(key, histogram.clone());
        histogram
    }
}
