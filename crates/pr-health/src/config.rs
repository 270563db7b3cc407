//! [`HealthConfig`]: timeouts, caching, HTTP mapping and who sees details.

use pr_core::secret::SecretString;
use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use pr_errors::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::Status;

/// How checks run and how probes answer. `Default` is safe in production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthConfig {
    /// Timeout of one check run, for checks that set none (`"2s"`; a plain
    /// number is seconds).
    pub check_timeout: Duration,
    /// How long a check's result is reused before a probe runs the check
    /// again (`"1s"`; `"0s"` runs it on every probe). Bounds how often a
    /// flood of probes can hit a dependency.
    pub cache_ttl: Duration,
    /// How often the background refresher runs every check (`"5s"`).
    pub refresh_interval: Duration,
    /// Age past which a served result is marked `stale` (`"30s"`).
    pub stale_after: Duration,
    /// HTTP status for `Degraded` (200 keeps a degraded instance in
    /// rotation; 503 takes it out).
    pub degraded_http_status: u16,
    /// Who sees per-check details on the HTTP endpoints.
    pub show_details: ShowDetails,
    /// The bearer token that unlocks details when `show_details` is
    /// `authorized`. Never serialised or printed.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub token: Option<SecretString>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_timeout: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(1),
            refresh_interval: Duration::from_secs(5),
            stale_after: Duration::from_secs(30),
            degraded_http_status: 200,
            show_details: ShowDetails::Never,
            token: None,
        }
    }
}

/// Every problem at once, each at its key (`check_timeout`, `token`).
impl Validate for HealthConfig {
    fn validate(&self, v: &mut Validator) {
        for (key, value) in [
            ("check_timeout", self.check_timeout),
            ("refresh_interval", self.refresh_interval),
            ("stale_after", self.stale_after),
        ] {
            v.check(!value.as_std().is_zero(), key, "must be greater than 0");
        }
        v.range(
            "degraded_http_status",
            &self.degraded_http_status,
            &(200..=599),
        );
        v.check(
            self.show_details != ShowDetails::Authorized || self.token.is_some(),
            "token",
            "required when show_details is `authorized`",
        );
        if let Some(token) = &self.token {
            v.check(
                token.len() >= 16,
                "token",
                format!(
                    "must be at least 16 characters, got {} (value not shown)",
                    token.len()
                ),
            );
        }
    }
}

impl HealthConfig {
    /// The HTTP status a probe answers with for `status`: 200 for `Up`,
    /// `degraded_http_status` for `Degraded`, 503 otherwise.
    #[must_use]
    pub fn http_status(&self, status: Status) -> StatusCode {
        match status {
            Status::Up => StatusCode::OK,
            Status::Degraded => {
                StatusCode::from_u16(self.degraded_http_status).unwrap_or(StatusCode::OK)
            }
            Status::Unknown | Status::Down => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Who sees per-check details (names, messages, durations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShowDetails {
    /// Nobody: probes answer with the overall status only.
    #[default]
    Never,
    /// Requests with `Authorization: Bearer <token>`.
    Authorized,
    /// Everybody (for an ops port that only operators can reach).
    Always,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use pr_core::validate::check;
    use pr_errors::CodedError;

    #[test]
    fn default_is_valid() {
        check(&HealthConfig::default()).unwrap();
    }

    #[test]
    fn every_problem_is_reported_and_no_secret_echoed() {
        let config = HealthConfig {
            check_timeout: Duration::from_secs(0),
            refresh_interval: Duration::from_secs(0),
            degraded_http_status: 99,
            show_details: ShowDetails::Authorized,
            token: Some(SecretString::new("hunter2")),
            ..HealthConfig::default()
        };
        let err = Error::InvalidConfig {
            problems: check(&config).unwrap_err(),
        };
        assert_eq!(err.code().as_str(), "health.invalid_config");
        let Error::InvalidConfig { problems } = &err else {
            panic!("{err}")
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "check_timeout",
                "refresh_interval",
                "degraded_http_status",
                "token"
            ],
            "{problems:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("check_timeout: must be greater than 0"),
            "{text}"
        );
        assert!(text.contains("degraded_http_status: must be between 200 and 599"));
        assert!(!text.contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&config).unwrap().contains("hunter2"));
    }

    #[test]
    fn missing_token_for_authorized() {
        let config = HealthConfig {
            show_details: ShowDetails::Authorized,
            ..HealthConfig::default()
        };
        let problems = check(&config).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "token: required when show_details is `authorized`"
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        // The millisecond keys went before 0.1: they are unknown now.
        let err = serde_json::from_str::<HealthConfig>(r#"{"cache_ttl_ms":5}"#).unwrap_err();
        assert!(err.to_string().contains("cache_ttl_ms"));
        let units: HealthConfig = serde_json::from_str(r#"{"cache_ttl":"250ms"}"#).unwrap();
        assert_eq!(units.cache_ttl, Duration::from_millis(250));
    }

    #[test]
    fn http_mapping() {
        let mut config = HealthConfig::default();
        assert_eq!(config.http_status(Status::Degraded), StatusCode::OK);
        config.degraded_http_status = 503;
        assert_eq!(
            config.http_status(Status::Degraded),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            config.http_status(Status::Unknown),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
