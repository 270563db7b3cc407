//! Secrets and crypto, all on `ring`: values that never print
//! ([`SecretString`], [`SecretBytes`], pr-core's), random tokens, API keys
//! with a checksum, HMAC, authenticated encryption with key ids
//! ([`Keyring`]) and password hashing.

mod crypto;
mod secret;

pub use crypto::{
    HmacKey, Keyring, OWASP_PBKDF2_SHA256_ITERATIONS, PasswordHasher, PasswordVerdict,
    hash_password,
};
pub use secret::{
    ApiKey, SecretBytes, SecretString, TokenEncoding, constant_time_eq, fill_random, random_token,
};
