//! Secret values that never print (pr-core's, re-exported here), random
//! tokens, API keys with a checksum, and constant-time comparison.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use pr_core::validate::Violation;

use crate::Error;

pub use pr_core::secret::{SecretBytes, SecretString, constant_time_eq};
use zeroize::Zeroize as _;

/// How a random token is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenEncoding {
    /// Lowercase hexadecimal, two characters per byte.
    Hex,
    /// Base64url without padding (RFC 4648 §5), four characters per three
    /// bytes; safe in URLs, headers and file names.
    Base64Url,
}

/// Fills `out` from the operating system's generator (`getrandom`).
///
/// # Errors
///
/// [`Error::RandomUnavailable`] when the generator fails.
pub fn fill_random(out: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| Error::RandomUnavailable)
}

/// A random token of `bytes` random bytes from the operating system, encoded
/// with `encoding`. 32 bytes (256 bits) is a good default for session ids,
/// CSRF tokens and bearer tokens.
///
/// # Examples
///
/// ```
/// use pr_security::secrets::{TokenEncoding, random_token};
///
/// # fn main() -> Result<(), pr_security::Error> {
/// let token = random_token(32, TokenEncoding::Base64Url)?;
/// assert_eq!(token.len(), 43);
/// assert_eq!(random_token(16, TokenEncoding::Hex)?.len(), 32);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::RandomUnavailable`] when the generator fails;
/// [`Error::InvalidConfig`] for 0 or more than 1024 bytes.
pub fn random_token(bytes: usize, encoding: TokenEncoding) -> Result<SecretString, Error> {
    if bytes == 0 || bytes > 1024 {
        return Err(Error::InvalidConfig {
            problems: vec![Violation::new(
                "token_bytes",
                format!("must be from 1 to 1024, got {bytes}"),
            )],
        });
    }
    let mut raw = [0_u8; 1024];
    let raw = &mut raw[..bytes];
    fill_random(raw)?;
    let text = match encoding {
        TokenEncoding::Hex => to_hex(raw),
        TokenEncoding::Base64Url => URL_SAFE_NO_PAD.encode(&*raw),
    };
    raw.zeroize();
    Ok(SecretString::new(text))
}

/// Lowercase hex, in constant time (the bytes are secret).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters in an API key's body (about 238 bits).
const API_KEY_BODY: usize = 40;
/// Characters of the checksum (62^6 > 2^32).
const API_KEY_CHECKSUM: usize = 6;

/// API keys that can be recognised when they leak: `<prefix>_<40 random
/// base62 characters><6-character checksum>`, like GitHub's `ghp_` tokens.
///
/// The checksum is the first 32 bits of SHA-256 over `<prefix>_<body>`, in
/// base62. It is not a secret and proves nothing about authenticity; it lets
/// a secret scanner (or your own log filter) tell a real key from random
/// text without a database look-up, and lets an API reject a mistyped key
/// before touching storage. Store only a hash of the key (e.g.
/// [`HmacKey::sign`](crate::secrets::HmacKey::sign) of it) on the server.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ApiKey;

impl ApiKey {
    /// A new key with `prefix` (1 to 16 characters of `[a-z0-9]`, e.g.
    /// `"pr"` or `"acme"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use pr_security::secrets::ApiKey;
    ///
    /// # fn main() -> Result<(), pr_security::Error> {
    /// let key = ApiKey::generate("acme")?;
    /// assert!(key.expose().starts_with("acme_"));
    /// assert_eq!(key.len(), 5 + 46);
    /// ApiKey::check(key.expose(), "acme")?;
    /// assert!(ApiKey::check("acme_0000000000000000000000000000000000000000000000", "acme").is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad prefix, [`Error::RandomUnavailable`].
    pub fn generate(prefix: &str) -> Result<SecretString, Error> {
        check_prefix(prefix)?;
        let mut key = String::with_capacity(prefix.len() + 1 + API_KEY_BODY + API_KEY_CHECKSUM);
        key.push_str(prefix);
        key.push('_');
        let mut raw = [0_u8; 64];
        let mut produced = 0;
        while produced < API_KEY_BODY {
            fill_random(&mut raw)?;
            for &b in &raw {
                // Rejection sampling: 248 = 4 * 62 keeps the digits uniform.
                if b < 248 && produced < API_KEY_BODY {
                    key.push(char::from(BASE62[usize::from(b % 62)]));
                    produced += 1;
                }
            }
        }
        raw.zeroize();
        let checksum = checksum(&key);
        key.push_str(&checksum);
        Ok(SecretString::new(key))
    }

    /// Checks that `candidate` has the format of a key with `prefix` and a
    /// correct checksum.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] saying what is wrong (never echoing the key).
    pub fn check(candidate: &str, prefix: &str) -> Result<(), Error> {
        const WHAT: &str = "api key";
        let rest = candidate
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('_'))
            .ok_or(Error::malformed(WHAT, "wrong prefix"))?;
        if rest.len() != API_KEY_BODY + API_KEY_CHECKSUM {
            return Err(Error::malformed(WHAT, "wrong length"));
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::malformed(WHAT, "character outside base62"));
        }
        let split = candidate.len() - API_KEY_CHECKSUM;
        let expected = checksum(&candidate[..split]);
        if constant_time_eq(expected.as_bytes(), &candidate.as_bytes()[split..]) {
            Ok(())
        } else {
            Err(Error::malformed(WHAT, "checksum mismatch"))
        }
    }

    /// Whether `candidate` is a well-formed key with `prefix`.
    #[must_use]
    pub fn is_valid(candidate: &str, prefix: &str) -> bool {
        Self::check(candidate, prefix).is_ok()
    }
}

fn check_prefix(prefix: &str) -> Result<(), Error> {
    if prefix.is_empty()
        || prefix.len() > 16
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(Error::InvalidConfig {
            problems: vec![Violation::new(
                "api_key_prefix",
                format!("must be 1 to 16 characters of [a-z0-9], got {prefix:?}"),
            )],
        });
    }
    Ok(())
}

fn checksum(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let bytes = digest.as_ref();
    let mut value = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let mut out = [b'0'; API_KEY_CHECKSUM];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_everywhere() {
        let s = SecretString::new("hunter2");
        assert!(!format!("{s:?}{s}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"[redacted]\"");
        let b = SecretBytes::new(b"hunter2".to_vec());
        assert!(!format!("{b:?}").contains("hunter2"));
        let back: SecretString = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(back.expose(), "x");
    }

    #[test]
    fn tokens() {
        let a = random_token(32, TokenEncoding::Hex).unwrap();
        let b = random_token(32, TokenEncoding::Hex).unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        let c = random_token(33, TokenEncoding::Base64Url).unwrap();
        assert_eq!(c.len(), 44);
        assert!(
            c.expose()
                .bytes()
                .all(|x| x.is_ascii_alphanumeric() || x == b'-' || x == b'_')
        );
        assert!(random_token(0, TokenEncoding::Hex).is_err());
        assert!(random_token(1025, TokenEncoding::Hex).is_err());
    }

    #[test]
    fn api_keys() {
        let key = ApiKey::generate("pr").unwrap();
        ApiKey::check(key.expose(), "pr").unwrap();
        assert!(!ApiKey::is_valid(key.expose(), "xx"));
        // Any single-character change is caught.
        let mut tampered = key.expose().to_owned().into_bytes();
        tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(tampered).unwrap();
        let err = ApiKey::check(&tampered, "pr").unwrap_err();
        assert!(err.to_string().contains("checksum"));
        assert!(!err.to_string().contains(&tampered));
        assert!(ApiKey::generate("Bad").is_err());
        assert!(ApiKey::generate("").is_err());
    }
}
