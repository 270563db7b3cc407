//! [`SecurityConfig`]: the crate's settings, with a `Default` that is safe
//! in production and a `validate()` that reports every problem at once.

use serde::{Deserialize, Serialize};

use crate::{Error, OWASP_PBKDF2_SHA256_ITERATIONS, PasswordHasher, Severity, UrlPolicy};

/// Settings of the security helpers a service configures.
///
/// # Examples
///
/// ```
/// use pr_security::SecurityConfig;
///
/// # fn main() -> Result<(), pr_security::Error> {
/// let config: SecurityConfig = serde_json::from_str(r#"{"api_key_prefix": "acme"}"#).unwrap();
/// config.validate()?;
/// assert_eq!(config.password_hasher().iterations(), 600_000);
///
/// let weak: SecurityConfig = serde_json::from_str(r#"{"password_iterations": 1000, "api_key_prefix": "X"}"#).unwrap();
/// assert!(weak.validate().unwrap_err().to_string().contains("security.password_iterations"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SecurityConfig {
    /// URLs the service fetches on a user's behalf (webhooks, link previews,
    /// avatars): allowed schemes, credentials, the SSRF guard, a host
    /// allow-list.
    pub url_policy: UrlPolicy,
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes; at least
    /// OWASP's 600,000. Stored hashes with fewer are re-hashed at login.
    pub password_iterations: u32,
    /// Prefix of the API keys the service issues: 1 to 16 characters of
    /// `[a-z0-9]`.
    pub api_key_prefix: String,
    /// Environment findings at or above this severity should stop start-up
    /// (`info`, `warning` or `critical`).
    pub fail_on: Severity,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            url_policy: UrlPolicy::default(),
            password_iterations: OWASP_PBKDF2_SHA256_ITERATIONS,
            api_key_prefix: "pr".to_owned(),
            fail_on: Severity::Critical,
        }
    }
}

impl SecurityConfig {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing each problem, each naming its field.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if let Err(Error::InvalidConfig { problems: url }) = self.url_policy.validate() {
            problems.extend(url.into_iter().map(|p| format!("security.{p}")));
        }
        if self.password_iterations < OWASP_PBKDF2_SHA256_ITERATIONS {
            problems.push(format!(
                "security.password_iterations: must be at least {OWASP_PBKDF2_SHA256_ITERATIONS} (OWASP), got {}",
                self.password_iterations
            ));
        }
        let prefix = &self.api_key_prefix;
        if prefix.is_empty()
            || prefix.len() > 16
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            problems.push(format!(
                "security.api_key_prefix: must be 1 to 16 characters of [a-z0-9], got {prefix:?}"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig { problems })
        }
    }

    /// A password hasher with the configured iteration count.
    #[must_use]
    pub fn password_hasher(&self) -> PasswordHasher {
        PasswordHasher::danger_with_iterations(self.password_iterations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_every_problem_is_reported() {
        SecurityConfig::default().validate().unwrap();
        let config = SecurityConfig {
            url_policy: UrlPolicy {
                schemes: Vec::new(),
                ..UrlPolicy::default()
            },
            password_iterations: 10,
            api_key_prefix: "Bad Prefix".to_owned(),
            fail_on: Severity::Warning,
        };
        let Err(Error::InvalidConfig { problems }) = config.validate() else {
            panic!("expected problems")
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("security.url_policy.schemes"));
    }

    #[test]
    fn serde_round_trip_and_unknown_fields() {
        let json = serde_json::to_string(&SecurityConfig::default()).unwrap();
        let back: SecurityConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, SecurityConfig::default());
        assert!(serde_json::from_str::<SecurityConfig>(r#"{"iterations": 5}"#).is_err());
        let fail: SecurityConfig = serde_json::from_str(r#"{"fail_on": "warning"}"#).unwrap();
        assert_eq!(fail.fail_on, Severity::Warning);
    }
}
