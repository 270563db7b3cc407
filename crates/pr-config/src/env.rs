//! Environment variable names for key paths, and back.

/// The environment variable for `key` under `prefix`: segments upper-cased
/// and joined with `__` (`env_name("APP", "database.url")` is
/// `APP__DATABASE__URL`).
///
/// # Examples
///
/// ```
/// assert_eq!(pr_config::env_name("APP", "database.max_connections"), "APP__DATABASE__MAX_CONNECTIONS");
/// assert_eq!(pr_config::key_for_env("APP", "APP__DATABASE__MAX_CONNECTIONS").as_deref(), Some("database.max_connections"));
/// ```
#[must_use]
pub fn env_name(prefix: &str, key: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + key.len() + 4);
    out.push_str(prefix);
    for segment in key.split('.').filter(|s| !s.is_empty()) {
        out.push_str("__");
        out.push_str(&segment.to_ascii_uppercase());
    }
    out
}

/// The key path of an environment variable under `prefix`, or `None` when
/// the name does not start with `<prefix>__` or has an empty segment.
#[must_use]
pub fn key_for_env(prefix: &str, name: &str) -> Option<String> {
    let rest = name.strip_prefix(prefix)?.strip_prefix("__")?;
    let mut key = String::with_capacity(rest.len());
    for (i, segment) in rest.split("__").enumerate() {
        if segment.is_empty() {
            return None;
        }
        if i > 0 {
            key.push('.');
        }
        key.push_str(&segment.to_ascii_lowercase());
    }
    Some(key)
}
