//! Secrets: values that never print, compare in constant time, and are
//! wiped when dropped. One type for every secret of the toolkit (passwords,
//! tokens, keys), so a token read from a secret file reaches the ops
//! router, the log-level endpoint and the health details as the same value,
//! never exposed and re-wrapped on the way.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// What a secret prints and serializes as.
pub const REDACTED: &str = "[redacted]";

/// A secret string (a password, token, API key). Its `Debug`, `Display` and
/// `Serialize` output is `[redacted]`; the value is read with
/// [`expose`](Self::expose), compared in constant time, and overwritten with
/// zeros when dropped (with `zeroize`; copies the allocator made while the
/// string grew are out of reach).
///
/// # Examples
///
/// ```
/// use pr_core::secret::SecretString;
///
/// let token = SecretString::new("a-long-random-ops-token");
/// assert_eq!(format!("{token} {token:?}"), "[redacted] SecretString([redacted])");
/// assert!(token.ct_eq("a-long-random-ops-token"));
/// assert!(token.matches_bearer(Some("Bearer a-long-random-ops-token")));
/// assert!(!token.matches_bearer(Some("Basic a-long-random-ops-token")));
/// ```
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Every call site is a place where it can leak: keep
    /// them few.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes (not secret for the purposes of this type).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in constant time (for equal lengths; the length
    /// itself may leak through timing).
    #[must_use]
    pub fn ct_eq(&self, other: impl AsRef<[u8]>) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_ref())
    }

    /// Whether an `Authorization` header value presents this secret as a
    /// bearer token (`Bearer <token>`, RFC 6750; the scheme is matched
    /// without regard to case, RFC 9110), compared in constant time. An
    /// empty secret matches nothing: an unset token refuses every request.
    #[must_use]
    pub fn matches_bearer(&self, authorization: Option<&str>) -> bool {
        !self.is_empty()
            && authorization
                .and_then(bearer_token)
                .is_some_and(|presented| self.ct_eq(presented))
    }
}

/// The token of an `Authorization: Bearer <token>` header value, if it is
/// one.
#[must_use]
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other.0.as_bytes())
    }
}

impl Eq for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({REDACTED})")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
impl schemars::JsonSchema for SecretString {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretString".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

/// Secret bytes (key material, decrypted secrets). Prints and serializes as
/// `[redacted]`; overwritten with zeros when dropped.
#[derive(Clone, Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    #[must_use]
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    /// The bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, to fill in place (key derivation, decryption), so that no
    /// copy is left outside the secret.
    #[must_use]
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Their length.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares in constant time (for equal lengths).
    #[must_use]
    pub fn ct_eq(&self, other: impl AsRef<[u8]>) -> bool {
        constant_time_eq(&self.0, other.as_ref())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(&other.0)
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({REDACTED})")
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(secret: Vec<u8>) -> Self {
        Self(secret)
    }
}

/// Compares two byte strings in constant time with respect to their
/// contents (the lengths are compared first and may leak through timing).
///
/// ```
/// assert!(pr_core::secret::constant_time_eq(b"token", b"token"));
/// assert!(!pr_core::secret::constant_time_eq(b"token", b"tokem"));
/// ```
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_or_serializes_the_value() {
        let secret = SecretString::new("hunter2-hunter2");
        let printed = format!(
            "{secret} {secret:?} {}",
            serde_json::to_string(&secret).unwrap()
        );
        assert!(!printed.contains("hunter"), "{printed}");
        let bytes = SecretBytes::new(b"hunter2".to_vec());
        let printed = format!("{bytes:?} {}", serde_json::to_string(&bytes).unwrap());
        assert!(!printed.contains("hunter"), "{printed}");
        let read: SecretString = serde_json::from_str("\"from-a-file\"").unwrap();
        assert_eq!(read.expose(), "from-a-file");
    }

    #[test]
    fn bearer_checks_scheme_token_and_emptiness() {
        let token = SecretString::new("a-long-random-ops-token");
        assert!(token.matches_bearer(Some("Bearer a-long-random-ops-token")));
        assert!(token.matches_bearer(Some("bearer a-long-random-ops-token")));
        assert!(!token.matches_bearer(Some("Bearer a-long-random-ops-tokeN")));
        assert!(!token.matches_bearer(Some("Bearer ")));
        assert!(!token.matches_bearer(Some("a-long-random-ops-token")));
        assert!(!token.matches_bearer(None));
        let unset = SecretString::default();
        assert!(!unset.matches_bearer(Some("Bearer ")));
        assert!(!unset.matches_bearer(Some("Bearer")));
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(SecretString::new("a"), SecretString::from("a"));
        assert_ne!(SecretString::new("a"), SecretString::from("b"));
        assert_eq!(SecretBytes::new(vec![1, 2]), SecretBytes::from(vec![1, 2]));
    }
}
