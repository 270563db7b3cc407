//! [`HttpClientConfig`]: one outbound client's section (a service names it,
//! `[clients.quotes]`), with [`Validate`] reporting every problem at its key.

use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

/// One outbound client's settings.
///
/// ```toml
/// [clients.quotes]
/// base_url = "https://quotes.internal:8443/v1"
/// timeout = "10s"               # one attempt: connect, send, whole response
/// connect_timeout = "2s"
/// max_response_body = "4MiB"    # a larger body is http.client_body_too_large
/// max_retry_after = "60s"       # a longer Retry-After is cut to this
/// pool_max_idle_per_host = 32
/// pool_idle_timeout = "90s"
/// ```
///
/// The pipeline the calls go through is the service's, given to the
/// builder; naming one here comes with pr-resilience's configuration of
/// named pipelines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpClientConfig {
    /// Where every call goes: `http` or `https`, a host, an optional port
    /// and an optional path prefix (`"https://quotes.internal:8443/v1"`); no
    /// credentials, query or fragment. Required.
    pub base_url: String,
    /// The longest one attempt may take, from connecting to the response's
    /// last byte, then `http.client_timeout` (`"10s"`; a plain number is
    /// seconds).
    pub timeout: Duration,
    /// The longest a new connection may take to open (TCP and TLS).
    pub connect_timeout: Duration,
    /// The largest response body read (`"4MiB"`; a plain number is bytes);
    /// a larger one is `http.client_body_too_large`, so a hostile or broken
    /// server cannot fill the memory.
    pub max_response_body: ByteSize,
    /// The longest `Retry-After` a 429 or 5xx may ask for; a longer one is
    /// cut to this, so one server cannot park a call for hours.
    pub max_retry_after: Duration,
    /// Idle connections kept per host for reuse.
    pub pool_max_idle_per_host: usize,
    /// How long an idle connection is kept.
    pub pool_idle_timeout: Duration,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            max_response_body: ByteSize::mib(4),
            max_retry_after: Duration::from_secs(60),
            pool_max_idle_per_host: 32,
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

/// Every problem at once, each at its key (`base_url`, `timeout`).
impl Validate for HttpClientConfig {
    fn validate(&self, v: &mut Validator) {
        if self.base_url.is_empty() {
            v.error("base_url", "must be set");
        } else if let Err(reason) = super::Base::parse(&self.base_url) {
            // The reason only: a base URL with credentials in it is a secret.
            v.error("base_url", reason);
        }
        for (key, value) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("pool_idle_timeout", self.pool_idle_timeout),
        ] {
            v.check(!value.as_std().is_zero(), key, "must be greater than 0");
        }
        v.check(
            self.max_response_body.as_u64() > 0,
            "max_response_body",
            "must be greater than 0",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_its_key() {
        let config: HttpClientConfig = serde_json::from_value(serde_json::json!({
            "base_url": "ftp://user:hunter2@example.com/",
            "timeout": "0s",
            "connect_timeout": 0,
            "max_response_body": 0,
        }))
        .unwrap();
        let problems = pr_core::validate::check(&config).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "timeout",
                "connect_timeout",
                "max_response_body"
            ]
        );
        let text = pr_core::validate::join(&problems);
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_base_url_is_required_and_then_the_defaults_are_valid() {
        let problems = pr_core::validate::check(&HttpClientConfig::default()).unwrap_err();
        assert_eq!(problems[0].key, "base_url");
        let config = HttpClientConfig {
            base_url: "https://quotes.internal:8443/v1".to_owned(),
            ..HttpClientConfig::default()
        };
        assert!(pr_core::validate::check(&config).is_ok());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let bad = serde_json::from_value::<HttpClientConfig>(
            serde_json::json!({ "base_url": "http://a", "retries": 3 }),
        );
        assert!(bad.unwrap_err().to_string().contains("unknown field"));
    }
}
