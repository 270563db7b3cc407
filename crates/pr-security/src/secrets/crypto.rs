//! HMAC-SHA256, authenticated encryption with key ids, and password hashing,
//! all on `ring`.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ring::{aead, hmac, pbkdf2};

use super::secret::{SecretBytes, constant_time_eq, fill_random, to_hex};
use crate::Error;
use crate::secrets::SecretString;

/// An HMAC-SHA256 key. Signatures are 32 bytes; verification runs in
/// constant time.
///
/// # Examples
///
/// ```
/// use pr_security::secrets::HmacKey;
///
/// # fn main() -> Result<(), pr_security::Error> {
/// let key = HmacKey::generate()?;
/// let tag = key.sign(b"user=42;exp=1700000000");
/// key.verify(b"user=42;exp=1700000000", &tag)?;
/// assert!(key.verify(b"user=1;exp=1700000000", &tag).is_err());
/// # Ok(())
/// # }
/// ```
pub struct HmacKey(hmac::Key);

impl HmacKey {
    /// A key from secret bytes (at least 32 bytes).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for fewer than 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < 32 {
            return Err(Error::InvalidKey {
                issue: format!(
                    "an hmac-sha256 key needs at least 32 bytes, got {}",
                    secret.len()
                ),
            });
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// A new random key.
    ///
    /// # Errors
    ///
    /// [`Error::RandomUnavailable`].
    pub fn generate() -> Result<Self, Error> {
        let mut raw = SecretBytes::new(vec![0; 32]);
        fill_random(raw_mut(&mut raw))?;
        Self::new(raw.expose())
    }

    /// The 32-byte signature of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.0, message);
        let mut out = [0; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// The signature as lowercase hex.
    #[must_use]
    pub fn sign_hex(&self, message: &[u8]) -> String {
        to_hex(&self.sign(message))
    }

    /// The signature as base64url without padding.
    #[must_use]
    pub fn sign_base64url(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.sign(message))
    }

    /// Checks `signature` over `message` in constant time.
    ///
    /// # Errors
    ///
    /// [`Error::VerificationFailed`] when it does not match.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        hmac::verify(&self.0, message, signature).map_err(|_| Error::VerificationFailed {
            what: "hmac signature",
        })
    }

    /// Checks a hex or base64url signature (as made by [`HmacKey::sign_hex`]
    /// or [`HmacKey::sign_base64url`]).
    ///
    /// # Errors
    ///
    /// [`Error::VerificationFailed`] when it does not decode or match.
    pub fn verify_encoded(&self, message: &[u8], signature: &str) -> Result<(), Error> {
        let decoded = if signature.len() == 64 {
            from_hex(signature)
        } else {
            URL_SAFE_NO_PAD.decode(signature).ok()
        };
        let failed = Error::VerificationFailed {
            what: "hmac signature",
        };
        let decoded = decoded.ok_or(failed)?;
        self.verify(message, &decoded)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey([redacted])")
    }
}

fn raw_mut(secret: &mut SecretBytes) -> &mut [u8] {
    secret.expose_mut()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi << 4 | lo).ok()
        })
        .collect()
}

/// The version tag of sealed secrets.
const SEAL_VERSION: &str = "v1";

/// Keys for authenticated encryption of secrets at rest (AES-256-GCM with a
/// random 96-bit nonce per message), each under a key id, so that keys can
/// rotate: [`Keyring::seal`] uses the primary key, [`Keyring::open`] any key
/// the ring holds, and [`Keyring::needs_reseal`] tells which stored values
/// to re-encrypt.
///
/// A sealed secret is the text `v1.<key id>.<base64url(nonce ‖ ciphertext ‖
/// tag)>`. The version and key id are authenticated with the caller's
/// associated data (bind a secret to its purpose or row, e.g.
/// `b"users.api_token:42"`, so that a sealed value copied elsewhere does not
/// open). Random nonces are safe for about 2^32 messages per key: rotate
/// well before that.
///
/// # Examples
///
/// ```
/// use pr_security::secrets::Keyring;
///
/// # fn main() -> Result<(), pr_security::Error> {
/// let mut ring = Keyring::new("2024-01", &[7; 32])?;
/// let sealed = ring.seal(b"database password", b"config:db")?;
/// assert!(sealed.starts_with("v1.2024-01."));
///
/// // Rotate: a new primary key; the old one still opens old values.
/// ring.add("2025-01", &[9; 32])?;
/// ring.set_primary("2025-01")?;
/// assert!(ring.needs_reseal(&sealed)?);
/// assert_eq!(ring.open(&sealed, b"config:db")?.expose(), b"database password");
/// assert!(ring.open(&sealed, b"config:other").is_err());
/// # Ok(())
/// # }
/// ```
pub struct Keyring {
    keys: BTreeMap<String, aead::LessSafeKey>,
    primary: String,
}

impl Keyring {
    /// A keyring with one 32-byte key, which is primary.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for a malformed key id (1 to 64 characters of
    /// `[A-Za-z0-9_-]`) or a key that is not 32 bytes.
    pub fn new(key_id: &str, key: &[u8]) -> Result<Self, Error> {
        let mut ring = Self {
            keys: BTreeMap::new(),
            primary: key_id.to_owned(),
        };
        ring.add(key_id, key)?;
        Ok(ring)
    }

    /// Adds a key (for opening values sealed with it, or to become primary).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] as for [`Keyring::new`], or when the id is taken.
    pub fn add(&mut self, key_id: &str, key: &[u8]) -> Result<(), Error> {
        check_key_id(key_id)?;
        if self.keys.contains_key(key_id) {
            return Err(Error::InvalidKey {
                issue: format!("key id {key_id:?} is already in the keyring"),
            });
        }
        let unbound =
            aead::UnboundKey::new(&aead::AES_256_GCM, key).map_err(|_| Error::InvalidKey {
                issue: format!("an aes-256-gcm key needs 32 bytes, got {}", key.len()),
            })?;
        self.keys
            .insert(key_id.to_owned(), aead::LessSafeKey::new(unbound));
        Ok(())
    }

    /// Makes `key_id` the key that [`Keyring::seal`] uses.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] when the ring does not hold it.
    pub fn set_primary(&mut self, key_id: &str) -> Result<(), Error> {
        if !self.keys.contains_key(key_id) {
            return Err(Error::UnknownKey {
                key_id: key_id.to_owned(),
            });
        }
        key_id.clone_into(&mut self.primary);
        Ok(())
    }

    /// Removes a retired key.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] when missing, [`Error::InvalidKey`] for the primary key.
    pub fn remove(&mut self, key_id: &str) -> Result<(), Error> {
        if key_id == self.primary {
            return Err(Error::InvalidKey {
                issue: format!("key id {key_id:?} is primary and cannot be removed"),
            });
        }
        self.keys
            .remove(key_id)
            .map(drop)
            .ok_or_else(|| Error::UnknownKey {
                key_id: key_id.to_owned(),
            })
    }

    /// The primary key id.
    #[must_use]
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The key ids held, sorted.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Encrypts `plaintext` under the primary key, authenticating `aad` too.
    ///
    /// # Errors
    ///
    /// [`Error::RandomUnavailable`], or [`Error::CryptoFailed`] for a message
    /// too large for AES-GCM.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, Error> {
        let key = self
            .keys
            .get(&self.primary)
            .ok_or_else(|| Error::UnknownKey {
                key_id: self.primary.clone(),
            })?;
        let mut nonce = [0_u8; aead::NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut buffer = Vec::with_capacity(aead::NONCE_LEN + plaintext.len() + 16);
        buffer.extend_from_slice(&nonce);
        buffer.extend_from_slice(plaintext);
        let header = format!("{SEAL_VERSION}.{}.", self.primary);
        let aad = full_aad(&header, aad);
        let mut body = buffer.split_off(aead::NONCE_LEN);
        key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&aad),
            &mut body,
        )
        .map_err(|_| Error::CryptoFailed { what: "sealing" })?;
        buffer.extend_from_slice(&body);
        let mut out = header;
        URL_SAFE_NO_PAD.encode_string(&buffer, &mut out);
        Ok(out)
    }

    /// Decrypts a value made by [`Keyring::seal`] with the same `aad`.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for text that is not a sealed secret,
    /// [`Error::UnknownKey`] when its key is not held, and
    /// [`Error::VerificationFailed`] when it was altered, or sealed with
    /// another key or `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<SecretBytes, Error> {
        let (key_id, body) = split_sealed(sealed)?;
        let key = self.keys.get(key_id).ok_or_else(|| Error::UnknownKey {
            key_id: key_id.to_owned(),
        })?;
        let mut raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| Error::malformed("sealed secret", "body is not base64url"))?;
        if raw.len() < aead::NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(Error::malformed("sealed secret", "too short"));
        }
        let mut ciphertext = raw.split_off(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(&raw)
            .map_err(|_| Error::malformed("sealed secret", "bad nonce"))?;
        let header_len = sealed.len() - body.len();
        let aad = full_aad(&sealed[..header_len], aad);
        let plain_len = key
            .open_in_place(nonce, aead::Aad::from(&aad), &mut ciphertext)
            .map_err(|_| Error::VerificationFailed {
                what: "sealed secret",
            })?
            .len();
        ciphertext.truncate(plain_len);
        Ok(SecretBytes::new(ciphertext))
    }

    /// Whether `sealed` was sealed with a key other than the primary one.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for text that is not a sealed secret.
    pub fn needs_reseal(&self, sealed: &str) -> Result<bool, Error> {
        let (key_id, _) = split_sealed(sealed)?;
        Ok(key_id != self.primary)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn full_aad(header: &str, aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + aad.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(aad);
    out
}

fn split_sealed(sealed: &str) -> Result<(&str, &str), Error> {
    let rest = sealed
        .strip_prefix(SEAL_VERSION)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or(Error::malformed("sealed secret", "unknown version"))?;
    let (key_id, body) = rest
        .split_once('.')
        .ok_or(Error::malformed("sealed secret", "missing key id"))?;
    check_key_id(key_id).map_err(|_| Error::malformed("sealed secret", "bad key id"))?;
    Ok((key_id, body))
}

fn check_key_id(key_id: &str) -> Result<(), Error> {
    if key_id.is_empty()
        || key_id.len() > 64
        || !key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidKey {
            issue: "a key id must be 1 to 64 characters of [A-Za-z0-9_-]".to_owned(),
        });
    }
    Ok(())
}

/// PBKDF2-HMAC-SHA256 iterations OWASP's Password Storage Cheat Sheet
/// recommends (2023 onwards).
pub const OWASP_PBKDF2_SHA256_ITERATIONS: u32 = 600_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const PHC_ID: &str = "pbkdf2-sha256";

/// Password hashing with PBKDF2-HMAC-SHA256 in the PHC string format
/// (`$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`, standard base64 without
/// padding, as the `pbkdf2` crate and passlib write it).
///
/// [`PasswordHasher::verify`] compares in constant time and says when a
/// stored hash used fewer iterations than this hasher, so it can be
/// re-hashed on the next successful login.
///
/// # Examples
///
/// ```
/// use pr_security::secrets::{PasswordHasher, PasswordVerdict};
///
/// # fn main() -> Result<(), pr_security::Error> {
/// // Examples use few iterations to run fast; production uses `PasswordHasher::new()`.
/// let old = PasswordHasher::danger_with_iterations(1_000);
/// let stored = old.hash("correct horse")?;
/// assert!(stored.starts_with("$pbkdf2-sha256$i=1000,l=32$"));
///
/// let current = PasswordHasher::danger_with_iterations(2_000);
/// assert_eq!(current.verify("correct horse", &stored)?, PasswordVerdict::MatchNeedsRehash);
/// assert_eq!(current.verify("wrong", &stored)?, PasswordVerdict::Mismatch);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordHasher {
    iterations: NonZeroU32,
}

/// What [`PasswordHasher::verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordVerdict {
    /// The password matches and the hash is current.
    Match,
    /// The password matches but the hash is weaker than the hasher's
    /// settings: hash it again and store the new value.
    MatchNeedsRehash,
    /// The password does not match.
    Mismatch,
}

impl PasswordVerdict {
    /// Whether the password matched.
    #[must_use]
    pub const fn is_match(self) -> bool {
        matches!(self, Self::Match | Self::MatchNeedsRehash)
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// A hasher at [`OWASP_PBKDF2_SHA256_ITERATIONS`].
    #[must_use]
    pub const fn new() -> Self {
        Self {
            iterations: match NonZeroU32::new(OWASP_PBKDF2_SHA256_ITERATIONS) {
                Some(n) => n,
                None => NonZeroU32::MIN,
            },
        }
    }

    /// A hasher with another iteration count (minimum 1). Fewer iterations
    /// than OWASP's make hashes cheaper to crack: for tests and migrations.
    #[must_use]
    pub const fn danger_with_iterations(iterations: u32) -> Self {
        Self {
            iterations: match NonZeroU32::new(iterations) {
                Some(n) => n,
                None => NonZeroU32::MIN,
            },
        }
    }

    /// The iteration count.
    #[must_use]
    pub const fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    /// Hashes `password` with a random 16-byte salt.
    ///
    /// # Errors
    ///
    /// [`Error::RandomUnavailable`].
    pub fn hash(&self, password: &str) -> Result<String, Error> {
        let mut salt = [0_u8; SALT_LEN];
        fill_random(&mut salt)?;
        let mut hash = [0_u8; HASH_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        Ok(format!(
            "${PHC_ID}$i={},l={HASH_LEN}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash)
        ))
    }

    /// Checks `password` against a stored PHC string.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when `stored` is not a `pbkdf2-sha256` PHC string.
    pub fn verify(&self, password: &str, stored: &str) -> Result<PasswordVerdict, Error> {
        let parsed = parse_phc(stored)?;
        let mut derived = vec![0_u8; parsed.hash.len()];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            parsed.iterations,
            &parsed.salt,
            password.as_bytes(),
            &mut derived,
        );
        if !constant_time_eq(&derived, &parsed.hash) {
            return Ok(PasswordVerdict::Mismatch);
        }
        if parsed.iterations < self.iterations
            || parsed.salt.len() < SALT_LEN
            || parsed.hash.len() < HASH_LEN
        {
            Ok(PasswordVerdict::MatchNeedsRehash)
        } else {
            Ok(PasswordVerdict::Match)
        }
    }

    /// Whether `stored` is weaker than this hasher's settings (without
    /// checking a password).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] as for [`PasswordHasher::verify`].
    pub fn needs_rehash(&self, stored: &str) -> Result<bool, Error> {
        let parsed = parse_phc(stored)?;
        Ok(parsed.iterations < self.iterations
            || parsed.salt.len() < SALT_LEN
            || parsed.hash.len() < HASH_LEN)
    }
}

struct Phc {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(stored: &str) -> Result<Phc, Error> {
    const WHAT: &str = "password hash";
    let mut parts = stored.split('$');
    if parts.next() != Some("") || parts.next() != Some(PHC_ID) {
        return Err(Error::malformed(WHAT, "not a $pbkdf2-sha256$ phc string"));
    }
    let params = parts
        .next()
        .ok_or(Error::malformed(WHAT, "missing parameters"))?;
    let (Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::malformed(WHAT, "wrong number of fields"));
    };
    let mut iterations = None;
    let mut length = None;
    for param in params.split(',') {
        let (name, value) = param
            .split_once('=')
            .ok_or(Error::malformed(WHAT, "parameter without a value"))?;
        let value: u32 = value
            .parse()
            .map_err(|_| Error::malformed(WHAT, "parameter is not a number"))?;
        match name {
            "i" => iterations = NonZeroU32::new(value),
            "l" => length = Some(value),
            _ => return Err(Error::malformed(WHAT, "unknown parameter")),
        }
    }
    let iterations = iterations.ok_or(Error::malformed(WHAT, "missing iteration count"))?;
    let salt = STANDARD_NO_PAD
        .decode(salt)
        .map_err(|_| Error::malformed(WHAT, "salt is not base64"))?;
    let hash = STANDARD_NO_PAD
        .decode(hash)
        .map_err(|_| Error::malformed(WHAT, "hash is not base64"))?;
    if hash.len() < 16 || hash.len() > 64 || length.is_some_and(|l| l as usize != hash.len()) {
        return Err(Error::malformed(WHAT, "bad hash length"));
    }
    if salt.len() < 8 {
        return Err(Error::malformed(WHAT, "salt shorter than 8 bytes"));
    }
    Ok(Phc {
        iterations,
        salt,
        hash,
    })
}

/// Hashes a password with [`PasswordHasher::new`] (OWASP's iteration count).
///
/// # Errors
///
/// [`Error::RandomUnavailable`].
pub fn hash_password(password: &SecretString) -> Result<String, Error> {
    PasswordHasher::new().hash(password.expose())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_errors::CodedError;

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2 uses a short key; pad-free check with a 32-byte key instead.
        let key = HmacKey::new(&[0x0b; 32]).unwrap();
        let tag = key.sign_hex(b"Hi There");
        assert_eq!(tag.len(), 64);
        key.verify_encoded(b"Hi There", &tag).unwrap();
        key.verify_encoded(b"Hi There", &key.sign_base64url(b"Hi There"))
            .unwrap();
        assert!(key.verify_encoded(b"Hi There", "zz").is_err());
        assert!(HmacKey::new(&[1; 31]).is_err());
        assert!(!format!("{key:?}").contains("11"));
    }

    #[test]
    fn keyring_rejects_tampering_and_unknown_keys() {
        let ring = Keyring::new("k1", &[1; 32]).unwrap();
        let sealed = ring.seal(b"secret", b"").unwrap();
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            ring.open(&tampered, b"").unwrap_err().code().as_str(),
            "security.verification_failed"
        );
        let swapped = sealed.replacen("k1", "k2", 1);
        assert_eq!(
            ring.open(&swapped, b"").unwrap_err().code().as_str(),
            "security.unknown_key"
        );
        let mut other = Keyring::new("k2", &[1; 32]).unwrap();
        // Same key bytes, other id: the id is authenticated.
        assert!(other.open(&swapped, b"").is_err());
        other.add("k1", &[2; 32]).unwrap();
        assert!(other.open(&sealed, b"").is_err());
        assert!(ring.open("v2.k1.AAAA", b"").is_err());
        assert!(ring.open("v1.k1.AAAA", b"").is_err());
        assert!(Keyring::new("bad id", &[0; 32]).is_err());
        assert!(Keyring::new("k", &[0; 16]).is_err());
        assert!(!format!("{ring:?}").contains("[1,"));
    }

    #[test]
    fn password_round_trip_and_malformed() {
        let hasher = PasswordHasher::danger_with_iterations(10);
        let stored = hasher.hash("pw").unwrap();
        assert_eq!(
            hasher.verify("pw", &stored).unwrap(),
            PasswordVerdict::Match
        );
        assert!(!hasher.needs_rehash(&stored).unwrap());
        for bad in [
            "",
            "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "$pbkdf2-sha256$i=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha256$i=10$***$aGFzaA",
            "$pbkdf2-sha256$x=10$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(hasher.verify("pw", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_is_owasp() {
        assert_eq!(PasswordHasher::default().iterations(), 600_000);
        assert_eq!(PasswordHasher::danger_with_iterations(0).iterations(), 1);
    }
}
