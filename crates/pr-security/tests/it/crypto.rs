//! Secrets and crypto through the public API.

use pr_security::secrets::{
    ApiKey, HmacKey, Keyring, PasswordHasher, PasswordVerdict, SecretString, TokenEncoding,
    hash_password, random_token,
};

#[test]
fn owasp_password_hash_round_trip() {
    let password = SecretString::new("correct horse battery staple");
    let stored = hash_password(&password).unwrap();
    assert!(
        stored.starts_with("$pbkdf2-sha256$i=600000,l=32$"),
        "{stored}"
    );
    let hasher = PasswordHasher::new();
    assert_eq!(
        hasher.verify(password.expose(), &stored).unwrap(),
        PasswordVerdict::Match
    );
    assert_eq!(
        hasher.verify("wrong", &stored).unwrap(),
        PasswordVerdict::Mismatch
    );
    assert!(!stored.contains(password.expose()));
}

#[test]
fn pbkdf2_known_answer() {
    // Made by Python's hashlib.pbkdf2_hmac("sha256", b"passwd", b"saltsaltsaltsalt", 1000, 32),
    // an independent implementation, in the PHC format.
    let stored = "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$n4PA7KayQ8H+KYljp2Dl/38BO3UhEmLfrgsulEpdxsE";
    let hasher = PasswordHasher::danger_with_iterations(1000);
    assert_eq!(
        hasher.verify("passwd", stored).unwrap(),
        PasswordVerdict::Match
    );
    assert_eq!(
        hasher.verify("passwe", stored).unwrap(),
        PasswordVerdict::Mismatch
    );
    assert_eq!(
        PasswordHasher::new().verify("passwd", stored).unwrap(),
        PasswordVerdict::MatchNeedsRehash
    );
}

#[test]
fn rotation_reseals_with_the_new_key() {
    let mut ring = Keyring::new("k1", &[1; 32]).unwrap();
    let old = ring.seal(b"s3cret", b"row:1").unwrap();
    ring.add("k2", &[2; 32]).unwrap();
    ring.set_primary("k2").unwrap();
    assert!(ring.needs_reseal(&old).unwrap());
    let plain = ring.open(&old, b"row:1").unwrap();
    let new = ring.seal(plain.expose(), b"row:1").unwrap();
    assert!(!ring.needs_reseal(&new).unwrap());
    ring.remove("k1").unwrap();
    assert!(ring.open(&old, b"row:1").is_err());
    assert_eq!(ring.open(&new, b"row:1").unwrap().expose(), b"s3cret");
    assert!(ring.remove("k2").is_err(), "the primary key stays");
    assert!(!old.contains("s3cret"));
}

#[test]
fn tokens_and_keys_do_not_repeat() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        assert!(
            seen.insert(
                random_token(16, TokenEncoding::Base64Url)
                    .unwrap()
                    .expose()
                    .to_owned()
            )
        );
        let key = ApiKey::generate("pr").unwrap();
        assert!(ApiKey::is_valid(key.expose(), "pr"));
        assert!(seen.insert(key.expose().to_owned()));
    }
}

#[test]
fn hmac_rejects_other_keys() {
    let a = HmacKey::generate().unwrap();
    let b = HmacKey::generate().unwrap();
    let tag = a.sign(b"m");
    assert!(b.verify(b"m", &tag).is_err());
    assert!(a.verify(b"m", &tag[..31]).is_err());
}
