//! [`OutboundError`]: why one attempt of an outbound call failed, each
//! variant one of pr-http's codes (`http.client_*`), with the retry class a
//! pipeline's retry reads.
//!
//! Its own type rather than variants of [`crate::Error`], as
//! `auth::AuthFailure` is: that one is a configuration error,
//! `Clone` and `Eq`, and a transport failure carries hyper's error, which is
//! neither. The codes are pr-http's, in its one catalogue.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use pr_errors::{CodeInfo, CodedError, RetryClass};

use crate::error::{
    CLIENT_ADDRESS_REFUSED, CLIENT_BODY_TOO_LARGE, CLIENT_CONNECT, CLIENT_INVALID_URL,
    CLIENT_STATUS, CLIENT_TIMEOUT, CLIENT_TRANSPORT, CLIENT_UNAVAILABLE,
};

/// The source of a transport failure.
type Source = Box<dyn std::error::Error + Send + Sync>;

/// Why an attempt of an outbound call failed.
///
/// Messages name the client and the server's address, never the path, a
/// query, a header or a body: any of them may hold a secret.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum OutboundError {
    /// The path is not one the client can send.
    #[error("{client}: invalid path: {reason}")]
    InvalidUrl {
        /// The client's name.
        client: Arc<str>,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// No connection could be made (refused, unreachable, name not
    /// resolved, TLS handshake failed).
    #[error("{client}: cannot connect to {server}")]
    Connect {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// Why.
        #[source]
        source: Source,
    },
    /// The server's name resolved to an address the client's address
    /// check refuses ([`HttpClientBuilder::address_check`](super::HttpClientBuilder::address_check)):
    /// no connection was made.
    #[error("{client}: {server} resolves to an address the address check refuses: {reason}")]
    AddressRefused {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// What the check said.
        reason: String,
    },
    /// The attempt took longer than the client's timeout.
    #[error("{client}: {server} did not answer within {after:?}")]
    Timeout {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// The timeout.
        after: Duration,
    },
    /// The connection failed once made (reset, closed before the whole
    /// response, a protocol error).
    #[error("{client}: the connection to {server} failed")]
    Transport {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// Why.
        #[source]
        source: Source,
    },
    /// The server answered 5xx, 408 or 429: it may answer later.
    #[error("{client}: {server} answered {status}")]
    Unavailable {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// The server's status.
        status: StatusCode,
        /// The server's `Retry-After`, cut to the client's maximum.
        retry_after: Option<Duration>,
        /// The response body (bounded like any), for a problem document.
        body: Bytes,
    },
    /// The server refused the request: a 4xx other than 408 and 429.
    #[error("{client}: {server} answered {status}")]
    Status {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// The server's status.
        status: StatusCode,
        /// The response body (bounded like any), for a problem document.
        body: Bytes,
    },
    /// The response body is larger than the client takes.
    #[error("{client}: the response of {server} is larger than {limit} bytes")]
    BodyTooLarge {
        /// The client's name.
        client: Arc<str>,
        /// The server's `host:port`.
        server: Arc<str>,
        /// The limit in bytes.
        limit: u64,
    },
}

impl OutboundError {
    /// The status the server answered, when it answered one this error is
    /// about.
    #[must_use]
    pub fn upstream_status(&self) -> Option<StatusCode> {
        match self {
            Self::Unavailable { status, .. } | Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The body of the server's error response, when it answered one.
    #[must_use]
    pub fn body(&self) -> Option<&Bytes> {
        match self {
            Self::Unavailable { body, .. } | Self::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The metric's `error_type` of a failure without a status.
    #[cfg(feature = "metrics")]
    pub(crate) fn error_type(&self) -> Option<&'static str> {
        match self {
            Self::Connect { .. } | Self::AddressRefused { .. } => Some("connect"),
            Self::Timeout { .. } => Some("timeout"),
            Self::Transport { .. } => Some("transport"),
            Self::BodyTooLarge { .. } => Some("body_too_large"),
            Self::InvalidUrl { .. } | Self::Unavailable { .. } | Self::Status { .. } => None,
        }
    }
}

/// Leaves the bodies out: a server's error document may echo the request.
impl fmt::Debug for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("OutboundError");
        out.field("code", &self.info().code);
        out.field("message", &format_args!("{self}"));
        if let Some(body) = self.body() {
            out.field("body_len", &body.len());
        }
        out.finish()
    }
}

impl CodedError for OutboundError {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidUrl { .. } => &CLIENT_INVALID_URL,
            Self::Connect { .. } => &CLIENT_CONNECT,
            Self::AddressRefused { .. } => &CLIENT_ADDRESS_REFUSED,
            Self::Timeout { .. } => &CLIENT_TIMEOUT,
            Self::Transport { .. } => &CLIENT_TRANSPORT,
            Self::Unavailable { .. } => &CLIENT_UNAVAILABLE,
            Self::Status { .. } => &CLIENT_STATUS,
            Self::BodyTooLarge { .. } => &CLIENT_BODY_TOO_LARGE,
        }
    }

    /// The code's class, with the server's `Retry-After` when it sent one:
    /// a pipeline's retry waits that long instead of its backoff.
    fn retry(&self) -> RetryClass {
        match self {
            Self::Unavailable {
                retry_after: Some(after),
                ..
            } => RetryClass::after(*after),
            _ => self.info().retry,
        }
    }
}

/// The class of a status the client does not hand back as a response:
/// `Some(true)` for one worth trying again (5xx, 408, 429), `Some(false)`
/// for a refusal (any other 4xx), `None` for a response (1xx to 3xx).
pub(crate) fn status_class(status: StatusCode) -> Option<bool> {
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Some(true)
    } else if status.is_client_error() {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for (status, class) in [
            (200, None),
            (204, None),
            (304, None),
            (400, Some(false)),
            (404, Some(false)),
            (408, Some(true)),
            (429, Some(true)),
            (500, Some(true)),
            (503, Some(true)),
        ] {
            assert_eq!(
                status_class(StatusCode::from_u16(status).unwrap()),
                class,
                "{status}"
            );
        }
    }

    #[test]
    fn a_retry_after_reaches_the_retry_class() {
        let busy = OutboundError::Unavailable {
            client: "quotes".into(),
            server: "q:80".into(),
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(3)),
            body: Bytes::from_static(b"secret-echo"),
        };
        assert_eq!(busy.code().as_str(), "http.client_unavailable");
        assert_eq!(busy.retry(), RetryClass::after(Duration::from_secs(3)));
        assert!(!format!("{busy:?}").contains("secret-echo"));
        let refused = OutboundError::Status {
            client: "quotes".into(),
            server: "q:80".into(),
            status: StatusCode::NOT_FOUND,
            body: Bytes::new(),
        };
        assert_eq!(refused.retry(), RetryClass::Permanent);
        assert_eq!(refused.to_string(), "quotes: q:80 answered 404 Not Found");
    }
}
