//! [`SecurityConfig`]: the crate's settings, with a `Default` that is safe
//! in production and rules ([`Validate`]) that report every problem at once.

use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use crate::Severity;
use crate::secrets::{OWASP_PBKDF2_SHA256_ITERATIONS, PasswordHasher};
use crate::validation::UrlPolicy;

/// Settings of the security helpers a service configures.
///
/// # Examples
///
/// ```
/// use pr_security::SecurityConfig;
///
/// use pr_core::validate::check;
///
/// let config: SecurityConfig = serde_json::from_str(r#"{"api_key_prefix": "acme"}"#).unwrap();
/// assert!(check(&config).is_ok());
/// assert_eq!(config.password_hasher().iterations(), 600_000);
///
/// let weak: SecurityConfig = serde_json::from_str(r#"{"password_iterations": 1000, "api_key_prefix": "X"}"#).unwrap();
/// let problems = check(&weak).unwrap_err();
/// assert_eq!(problems[0].key, "password_iterations");
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
    /// Environment findings at or above this severity stop start-up
    /// (`info`, `warning` or `critical`); unset (the default), none does and
    /// each is reported. Opt-in: refusing to run as root is right for
    /// production, not for every container; a service turns it on.
    pub fail_on: Option<Severity>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            url_policy: UrlPolicy::default(),
            password_iterations: OWASP_PBKDF2_SHA256_ITERATIONS,
            api_key_prefix: "pr".to_owned(),
            fail_on: None,
        }
    }
}

/// Every problem at once, each at its key (`url_policy.schemes`,
/// `password_iterations`).
impl Validate for SecurityConfig {
    fn validate(&self, v: &mut Validator) {
        v.nested("url_policy", &self.url_policy);
        v.check(
            self.password_iterations >= OWASP_PBKDF2_SHA256_ITERATIONS,
            "password_iterations",
            format!(
                "must be at least {OWASP_PBKDF2_SHA256_ITERATIONS} (OWASP), got {}",
                self.password_iterations
            ),
        );
        let prefix = &self.api_key_prefix;
        let valid = !prefix.is_empty()
            && prefix.len() <= 16
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        v.check(
            valid,
            "api_key_prefix",
            format!("must be 1 to 16 characters of [a-z0-9], got {prefix:?}"),
        );
    }
}

impl SecurityConfig {
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
        pr_core::validate::check(&SecurityConfig::default()).unwrap();
        let config = SecurityConfig {
            url_policy: UrlPolicy {
                schemes: Vec::new(),
                ..UrlPolicy::default()
            },
            password_iterations: 10,
            api_key_prefix: "Bad Prefix".to_owned(),
            fail_on: Some(Severity::Warning),
        };
        let problems = pr_core::validate::check(&config).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "url_policy.schemes",
                "password_iterations",
                "api_key_prefix"
            ],
            "{problems:?}"
        );
    }

    #[test]
    fn serde_round_trip_and_unknown_fields() {
        let json = serde_json::to_string(&SecurityConfig::default()).unwrap();
        let back: SecurityConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, SecurityConfig::default());
        assert!(serde_json::from_str::<SecurityConfig>(r#"{"iterations": 5}"#).is_err());
        let fail: SecurityConfig = serde_json::from_str(r#"{"fail_on": "warning"}"#).unwrap();
        assert_eq!(fail.fail_on, Some(Severity::Warning));
    }
}
