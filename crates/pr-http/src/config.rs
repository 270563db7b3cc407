//! [`HttpConfig`]: the `http` section, everything the inbound stack of
//! [`layers`](crate::layers) takes, with defaults safe in production and
//! [`Validate`] reporting every problem at its key.
//!
//! ```toml
//! [http.request_id]
//! trust_incoming = false      # keep a gateway's x-request-id
//!
//! [http.access_log]
//! level = "info"              # successful requests' level
//! sample = 1                  # log one success in N
//!
//! [http.limits]
//! request_timeout = "30s"
//! max_body_size = "2MiB"
//! max_in_flight = 1024        # then 503 http.overloaded at once
//!
//! [http.rate_limit]
//! enabled = false
//! permits = 50                # each client, per period, sustained
//! period = "1s"
//! burst = 100
//! max_clients = 100000
//! trusted_proxies = ["10.0.0.0/8"]
//!
//! [http.cors]
//! allowed_origins = []        # nothing allowed by default
//!
//! [http.security_headers]
//! hsts = false                # on behind TLS
//!
//! [http.compression]
//! enabled = false             # gzip / br as the client asks (feature `compression`)
//! min_size = "1KiB"
//! ```

use std::net::IpAddr;

use ipnet::IpNet;
use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

/// The `http` section. `Default` is safe in production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Whether a service that applies the stack from this section
    /// (pr-facade's `App::serve`) puts it around its API (default true).
    /// Off, the router is served bare: no request ids, access log,
    /// metrics, limits or rate limit; for measuring what the stack costs,
    /// or for a service that assembles its own layers. [`layers`](crate::layers)
    /// itself does not read it.
    pub enabled: bool,
    /// Request ids.
    pub request_id: RequestIdConfig,
    /// The access log.
    pub access_log: AccessLogConfig,
    /// Bounds on one request, and on how many run at once.
    pub limits: LimitsConfig,
    /// Per-client rate limiting (feature `rate-limit`).
    pub rate_limit: ClientRateLimitConfig,
    /// Cross-origin requests.
    pub cors: CorsConfig,
    /// Security headers on every response.
    pub security_headers: SecurityHeadersConfig,
    /// Response compression (feature `compression`).
    pub compression: CompressionConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            request_id: RequestIdConfig::default(),
            access_log: AccessLogConfig::default(),
            limits: LimitsConfig::default(),
            rate_limit: ClientRateLimitConfig::default(),
            cors: CorsConfig::default(),
            security_headers: SecurityHeadersConfig::default(),
            compression: CompressionConfig::default(),
        }
    }
}

/// The `http.request_id` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestIdConfig {
    /// Keep a valid incoming `x-request-id` (a gateway in front sets it).
    /// Off: every request gets a fresh id.
    pub trust_incoming: bool,
}

/// The `http.access_log` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AccessLogConfig {
    /// Whether requests are logged at all.
    pub enabled: bool,
    /// The level of successful requests' events: `trace`, `debug`, `info`,
    /// `warn` or `error`. Errors keep theirs (4xx `info`, 5xx `warn`).
    pub level: String,
    /// Log one successful request in this many (1 logs all).
    pub sample: u64,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            level: "info".to_owned(),
            sample: 1,
        }
    }
}

impl AccessLogConfig {
    /// `level` as a tracing level, when it names one.
    pub(crate) fn tracing_level(&self) -> Option<tracing::Level> {
        self.level.parse().ok()
    }
}

/// The `http.limits` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// Time until a response head, then 503 `http.timeout` (`"30s"`; a
    /// plain number is seconds).
    pub request_timeout: Duration,
    /// Largest request body, then 413 `http.body_too_large` (`"2MiB"`; a
    /// plain number is bytes).
    pub max_body_size: ByteSize,
    /// Requests in flight at once, then 503 `http.overloaded` at once.
    pub max_in_flight: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_body_size: ByteSize::mib(2),
            max_in_flight: 1_024,
        }
    }
}

/// The `http.rate_limit` table: a GCRA quota per client address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ClientRateLimitConfig {
    /// Whether clients are limited.
    pub enabled: bool,
    /// Requests each client may make per `period`, sustained.
    pub permits: u32,
    /// The period `permits` are counted over (`"1s"`, `"1m"`).
    pub period: Duration,
    /// Requests a client may make at once after a pause.
    pub burst: u32,
    /// Most clients remembered (the least active are forgotten first).
    pub max_clients: usize,
    /// Networks (`"10.0.0.0/8"`) or addresses of the reverse proxies whose
    /// `Forwarded` / `X-Forwarded-For` names the client. Empty: the client
    /// is the peer, and those headers are ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for ClientRateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            permits: 50,
            period: Duration::from_secs(1),
            burst: 100,
            max_clients: 100_000,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A trusted proxy entry: a network, or one address.
pub(crate) fn parse_proxy(entry: &str) -> Option<IpNet> {
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

impl ClientRateLimitConfig {
    /// The trusted proxies, the unparsable left out (`validate` names them).
    #[cfg(all(feature = "axum", feature = "rate-limit"))]
    pub(crate) fn proxies(&self) -> crate::client::TrustedProxies {
        self.trusted_proxies
            .iter()
            .filter_map(|entry| parse_proxy(entry))
            .collect()
    }
}

/// The `http.cors` table: which other origins' pages may call the API.
/// Nothing by default: without origins no CORS header is ever sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CorsConfig {
    /// Origins allowed (`"https://app.example.com"`), or `["*"]` for any
    /// (not with credentials).
    pub allowed_origins: Vec<String>,
    /// Methods allowed.
    pub allowed_methods: Vec<String>,
    /// Request headers allowed.
    pub allowed_headers: Vec<String>,
    /// Whether cookies and credentials may be sent.
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight's answer (`"10m"`).
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_methods: ["GET", "HEAD", "POST"].map(str::to_owned).to_vec(),
            allowed_headers: ["content-type", "authorization"]
                .map(str::to_owned)
                .to_vec(),
            allow_credentials: false,
            max_age: Duration::from_secs(600),
        }
    }
}

/// The `http.security_headers` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SecurityHeadersConfig {
    /// `Strict-Transport-Security` (turn on when clients reach the service
    /// over TLS, directly or through a proxy).
    pub hsts: bool,
    /// HSTS's `max-age` (`"365d"`).
    pub hsts_max_age: Duration,
    /// `Referrer-Policy` (`no-referrer`, `same-origin`, `strict-origin`,
    /// `strict-origin-when-cross-origin`, ...).
    pub referrer_policy: String,
}

impl Default for SecurityHeadersConfig {
    fn default() -> Self {
        Self {
            hsts: false,
            hsts_max_age: Duration::from_secs(365 * 24 * 3_600),
            referrer_policy: "no-referrer".to_owned(),
        }
    }
}

/// The `http.compression` table: responses compressed with gzip or brotli,
/// as the client's `Accept-Encoding` prefers (feature `compression`, on
/// tower-http). Images, gRPC and server-sent events are never compressed,
/// nor bodies of known length under `min_size`.
///
/// Off by default, as in ASP.NET Core: a compressed response over TLS that
/// reflects a client's input next to a secret (a CSRF token in a page)
/// leaks the secret by its length (BREACH). Turn it on for APIs whose
/// responses hold no secret beside reflected input, or compress at the
/// proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CompressionConfig {
    /// Compress responses.
    pub enabled: bool,
    /// Bodies of known length below this are sent as they are (compressing
    /// them costs more than it saves). At most 64 KiB less one byte.
    pub min_size: ByteSize,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            min_size: ByteSize::kib(1),
        }
    }
}

/// The referrer policies of the W3C Referrer Policy spec.
const REFERRER_POLICIES: [&str; 8] = [
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

/// Every problem at once, each at its key (`limits.max_in_flight`,
/// `rate_limit.trusted_proxies.1`).
impl Validate for HttpConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(
            self.access_log.tracing_level().is_some(),
            "access_log.level",
            format!(
                "`{}` is not a level: use trace, debug, info, warn or error",
                self.access_log.level
            ),
        );
        v.check(
            self.access_log.sample >= 1,
            "access_log.sample",
            "must be at least 1",
        );
        v.check(
            !self.limits.request_timeout.as_std().is_zero(),
            "limits.request_timeout",
            "must be greater than 0",
        );
        v.check(
            self.limits.max_body_size.as_u64() > 0,
            "limits.max_body_size",
            "must be greater than 0",
        );
        v.check(
            self.limits.max_in_flight >= 1,
            "limits.max_in_flight",
            "must be at least 1",
        );
        let rate = &self.rate_limit;
        // Asked for but not built in: say so rather than serve without it.
        v.check(
            cfg!(feature = "rate-limit") || !rate.enabled,
            "rate_limit.enabled",
            "needs pr-http's `rate-limit` feature, which this build lacks",
        );
        v.check(
            cfg!(feature = "compression") || !self.compression.enabled,
            "compression.enabled",
            "needs pr-http's `compression` feature, which this build lacks",
        );
        v.check(
            self.compression.min_size.as_u64() <= u64::from(u16::MAX),
            "compression.min_size",
            "must be at most 65535 bytes (64KiB less one byte)",
        );
        v.check(
            rate.permits >= 1,
            "rate_limit.permits",
            "must be at least 1",
        );
        v.check(
            !rate.period.as_std().is_zero(),
            "rate_limit.period",
            "must be greater than 0",
        );
        v.check(rate.burst >= 1, "rate_limit.burst", "must be at least 1");
        v.check(
            rate.max_clients >= 1,
            "rate_limit.max_clients",
            "must be at least 1",
        );
        for (i, entry) in rate.trusted_proxies.iter().enumerate() {
            v.check(
                parse_proxy(entry).is_some(),
                &format!("rate_limit.trusted_proxies.{i}"),
                format!("`{entry}` is neither a network (`10.0.0.0/8`) nor an address"),
            );
        }
        let cors = &self.cors;
        for (i, origin) in cors.allowed_origins.iter().enumerate() {
            let key = format!("cors.allowed_origins.{i}");
            if origin == "*" {
                v.check(
                    !cors.allow_credentials,
                    &key,
                    "`*` cannot be combined with allow_credentials (browsers refuse it)",
                );
                v.check(
                    cors.allowed_origins.len() == 1,
                    &key,
                    "`*` must be the only origin",
                );
            } else {
                v.check(
                    valid_origin(origin),
                    &key,
                    format!("`{origin}` is not an origin (`https://host[:port]`, no path)"),
                );
            }
        }
        for (i, method) in cors.allowed_methods.iter().enumerate() {
            v.check(
                http::Method::from_bytes(method.as_bytes()).is_ok(),
                &format!("cors.allowed_methods.{i}"),
                format!("`{method}` is not a method"),
            );
        }
        for (i, header) in cors.allowed_headers.iter().enumerate() {
            v.check(
                http::HeaderName::from_bytes(header.as_bytes()).is_ok(),
                &format!("cors.allowed_headers.{i}"),
                format!("`{header}` is not a header name"),
            );
        }
        v.check(
            REFERRER_POLICIES.contains(&self.security_headers.referrer_policy.as_str()),
            "security_headers.referrer_policy",
            format!(
                "`{}` is not a policy: use one of {}",
                self.security_headers.referrer_policy,
                REFERRER_POLICIES.join(", ")
            ),
        );
    }
}

/// `scheme://host[:port]`, nothing after, as browsers send `Origin`.
fn valid_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && http::HeaderValue::from_str(origin).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert!(pr_core::validate::check(&HttpConfig::default()).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_its_key() {
        let config: HttpConfig = serde_json::from_value(serde_json::json!({
            "access_log": { "level": "loud", "sample": 0 },
            "limits": { "request_timeout": "0s", "max_in_flight": 0 },
            "rate_limit": { "permits": 0, "trusted_proxies": ["10.0.0.0/8", "nope"] },
            "cors": {
                "allowed_origins": ["*", "https://a.example/path"],
                "allow_credentials": true,
                "allowed_methods": ["GET", "BAD METHOD"],
            },
            "security_headers": { "referrer_policy": "whatever" },
        }))
        .unwrap();
        let problems = pr_core::validate::check(&config).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "access_log.level",
            "access_log.sample",
            "limits.request_timeout",
            "limits.max_in_flight",
            "rate_limit.permits",
            "rate_limit.trusted_proxies.1",
            "cors.allowed_origins.0",
            "cors.allowed_origins.1",
            "cors.allowed_methods.1",
            "security_headers.referrer_policy",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert!(!keys.contains(&"rate_limit.trusted_proxies.0"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let bad = serde_json::from_value::<HttpConfig>(
            serde_json::json!({ "limits": { "timeout": "1s" } }),
        );
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("unknown field `timeout`")
        );
    }

    #[test]
    fn a_proxy_is_a_network_or_an_address() {
        assert!(parse_proxy("10.0.0.0/8").is_some());
        assert!(parse_proxy("192.168.1.1").is_some());
        assert!(parse_proxy("2001:db8::/32").is_some());
        assert!(parse_proxy("10.0.0.0/33").is_none());
        assert!(parse_proxy("proxy.local").is_none());
    }
}
