//! [`HealthConfig`]: timeouts, caching, HTTP mapping and who sees details.

use std::time::Duration;

use pr_core::secret::SecretString;
use pr_errors::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::{Error, Status};

/// How checks run and how probes answer. `Default` is safe in production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthConfig {
    /// Timeout of one check run, in milliseconds, for checks that set none.
    pub check_timeout_ms: u64,
    /// How long a check's result is reused before a probe runs the check
    /// again, in milliseconds. Bounds how often a flood of probes can hit a
    /// dependency.
    pub cache_ttl_ms: u64,
    /// How often the background refresher runs every check, in milliseconds.
    pub refresh_interval_ms: u64,
    /// Age in milliseconds past which a served result is marked `stale`.
    pub stale_after_ms: u64,
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
            check_timeout_ms: 2_000,
            cache_ttl_ms: 1_000,
            refresh_interval_ms: 5_000,
            stale_after_ms: 30_000,
            degraded_http_status: 200,
            show_details: ShowDetails::Never,
            token: None,
        }
    }
}

impl HealthConfig {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each invalid field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        for (field, value) in [
            ("check_timeout_ms", self.check_timeout_ms),
            ("refresh_interval_ms", self.refresh_interval_ms),
            ("stale_after_ms", self.stale_after_ms),
        ] {
            if value == 0 {
                problems.push(format!("health.{field}: must be greater than 0, got 0"));
            }
        }
        if !(200..=599).contains(&self.degraded_http_status) {
            problems.push(format!(
                "health.degraded_http_status: must be an HTTP status from 200 to 599, got {}",
                self.degraded_http_status
            ));
        }
        if self.show_details == ShowDetails::Authorized && self.token.is_none() {
            problems.push("health.token: required when show_details is `authorized`".to_owned());
        }
        if let Some(token) = &self.token
            && token.len() < 16
        {
            problems.push(format!(
                "health.token: must be at least 16 characters, got {} (value not shown)",
                token.len()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }

    /// Timeout for checks that set none.
    #[must_use]
    pub fn check_timeout(&self) -> Duration {
        Duration::from_millis(self.check_timeout_ms)
    }

    /// How long results are reused.
    #[must_use]
    pub fn cache_ttl(&self) -> Duration {
        Duration::from_millis(self.cache_ttl_ms)
    }

    /// The refresher's period.
    #[must_use]
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_millis(self.refresh_interval_ms)
    }

    /// Age past which a served result is stale.
    #[must_use]
    pub fn stale_after(&self) -> Duration {
        Duration::from_millis(self.stale_after_ms)
    }

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
    use pr_errors::CodedError;

    #[test]
    fn default_is_valid() {
        HealthConfig::default().validate().unwrap();
    }

    #[test]
    fn every_problem_is_reported_and_no_secret_echoed() {
        let config = HealthConfig {
            check_timeout_ms: 0,
            refresh_interval_ms: 0,
            degraded_http_status: 99,
            show_details: ShowDetails::Authorized,
            token: Some(SecretString::new("hunter2")),
            ..HealthConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.code().as_str(), "health.invalid_config");
        let Error::InvalidConfig { problems } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
        let text = err.to_string();
        assert!(text.contains("health.check_timeout_ms") && text.contains("got 99"));
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
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("health.token: required")
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<HealthConfig>(r#"{"cache_ttl":5}"#).unwrap_err();
        assert!(err.to_string().contains("cache_ttl"));
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
