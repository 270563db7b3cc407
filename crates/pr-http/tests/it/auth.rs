//! Authentication: tokens an attacker would try, refused; the layer on a real server.

use std::time::{Duration, UNIX_EPOCH};

use axum::routing::get;
use axum::{Extension, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pr_core::time::ManualClock;
use pr_http::auth::{ApiKeys, AuthFailure, AuthLayer, JwtVerifier, Principal};
use serde_json::json;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-hs256";
const RSA_PRIVATE: &[u8] = include_bytes!("../data/rsa-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../data/rsa-public.pem");
/// The manual clock's wall time, in Unix seconds.
const NOW: u64 = 1_800_000_000;

fn clock() -> ManualClock {
    ManualClock::at(UNIX_EPOCH + Duration::from_secs(NOW))
}

fn claims() -> serde_json::Value {
    json!({ "iss": "https://id.example", "aud": "quotes", "sub": "ada", "exp": NOW + 300, "scope": "quotes:read quotes:write" })
}

fn hs(claims: &serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn rs(kid: Option<&str>, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    )
    .unwrap()
}

fn hmac_verifier(clock: &ManualClock) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer("https://id.example")
        .audience("quotes")
        .clock(clock.clock())
        .hmac_key(SECRET)
        .unwrap()
        .build()
}

fn with(change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut c = claims();
    change(&mut c);
    c
}

#[test]
fn a_good_token_names_its_principal() {
    let clock = clock();
    let principal = hmac_verifier(&clock).verify(&hs(&claims())).unwrap();
    assert_eq!(principal.subject, "ada");
    assert_eq!(principal.scopes, ["quotes:read", "quotes:write"]);
}

#[test]
fn wrong_claims_are_refused_each_for_its_reason() {
    let clock = clock();
    let verifier = hmac_verifier(&clock);
    let cases = [
        (
            with(|c| c["iss"] = json!("https://evil.example")),
            AuthFailure::Issuer,
        ),
        (with(|c| c["aud"] = json!("billing")), AuthFailure::Audience),
        (with(|c| c["exp"] = json!(NOW - 61)), AuthFailure::Expired),
        (
            with(|c| drop(c.as_object_mut().unwrap().remove("exp"))),
            AuthFailure::Expired,
        ),
        (
            with(|c| c["nbf"] = json!(NOW + 61)),
            AuthFailure::NotYetValid,
        ),
    ];
    for (claims, reason) in cases {
        assert_eq!(verifier.verify(&hs(&claims)), Err(reason), "{claims}");
    }
    // Within the leeway (60 s): accepted.
    assert!(
        verifier
            .verify(&hs(&with(|c| c["exp"] = json!(NOW - 30))))
            .is_ok()
    );
    assert!(
        verifier
            .verify(&hs(&with(|c| c["nbf"] = json!(NOW + 30))))
            .is_ok()
    );
    // Time moves on the verifier's clock: the good token expires.
    let token = hs(&claims());
    clock.advance(Duration::from_secs(300 + 61));
    assert_eq!(verifier.verify(&token), Err(AuthFailure::Expired));
}

#[test]
fn forged_tokens_are_refused() {
    let clock = clock();
    let verifier = hmac_verifier(&clock);
    // A bad signature.
    let mut token = hs(&claims());
    token.pop();
    token.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(verifier.verify(&token), Err(AuthFailure::Signature));
    // Signed with another secret.
    let other = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another secret of thirty-two bytes!!"),
    )
    .unwrap();
    assert_eq!(verifier.verify(&other), Err(AuthFailure::Signature));
    // `alg: none`, no signature.
    let b64 = |v: serde_json::Value| base64_url(v.to_string().as_bytes());
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims())
    );
    assert!(verifier.verify(&none).is_err());
    // Not a token.
    assert_eq!(verifier.verify("not.a.token"), Err(AuthFailure::Malformed));
}

#[test]
fn the_hs_rs_confusion_is_refused() {
    let clock = clock();
    let verifier = JwtVerifier::builder()
        .issuer("https://id.example")
        .audience("quotes")
        .clock(clock.clock())
        .rsa_pem(None, RSA_PUBLIC)
        .unwrap()
        .build();
    assert_eq!(
        verifier.verify(&rs(None, &claims())).unwrap().subject,
        "ada"
    );
    // An HS256 token whose secret is the RSA public key: the algorithm is the key's, not the token's.
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(RSA_PUBLIC),
    )
    .unwrap();
    assert_eq!(verifier.verify(&confused), Err(AuthFailure::Algorithm));
    // A key id the verifier does not know.
    assert_eq!(
        verifier.verify(&rs(Some("k9"), &claims())),
        Err(AuthFailure::UnknownKey)
    );
}

#[test]
fn jwks_keys_are_chosen_by_kid_and_need_an_alg() {
    let clock = clock();
    let k = base64_url(SECRET);
    let jwks =
        json!({ "keys": [{ "kty": "oct", "kid": "k1", "alg": "HS256", "k": k }] }).to_string();
    let verifier = JwtVerifier::builder()
        .clock(clock.clock())
        .jwks(&jwks)
        .unwrap()
        .build();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let token = encode(&header, &claims(), &EncodingKey::from_secret(SECRET)).unwrap();
    assert_eq!(verifier.verify(&token).unwrap().subject, "ada");
    let no_alg = json!({ "keys": [{ "kty": "oct", "kid": "k1", "k": k }] }).to_string();
    assert!(JwtVerifier::builder().jwks(&no_alg).is_err());
}

/// A provider's JWKS as some publish it: an RSA key with no `alg` (pinned to RS256 by its type),
/// an encryption key and a key without `kid` (both skipped, not refused).
#[test]
fn jwks_keys_without_alg_are_pinned_by_type_and_unusable_ones_skipped() {
    let mut rsa: serde_json::Value =
        serde_json::from_str(include_str!("../data/rsa-public.jwk.json")).unwrap();
    rsa["kid"] = "r1".into();
    let k = base64_url(SECRET);
    let jwks = json!({ "keys": [
        rsa,
        { "kty": "oct", "kid": "e1", "use": "enc", "alg": "HS256", "k": k },
        { "kty": "oct", "alg": "HS256", "k": k },
    ] })
    .to_string();
    let verifier = JwtVerifier::builder()
        .clock(clock().clock())
        .jwks(&jwks)
        .unwrap()
        .build();
    assert_eq!(
        verifier.verify(&rs(Some("r1"), &claims())).unwrap().subject,
        "ada"
    );
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("e1".into());
    let enc = encode(&header, &claims(), &EncodingKey::from_secret(SECRET)).unwrap();
    assert_eq!(verifier.verify(&enc), Err(AuthFailure::UnknownKey));
    // RS256 is pinned: the same key under RS384 is refused.
    let mut header = Header::new(Algorithm::RS384);
    header.kid = Some("r1".into());
    let rs384 = encode(
        &header,
        &claims(),
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    )
    .unwrap();
    assert!(verifier.verify(&rs384).is_err());
}

#[test]
fn short_hmac_secrets_are_refused() {
    assert!(JwtVerifier::builder().hmac_key(b"short").is_err());
}

/// base64url without padding, as JWTs and JWKs write bytes.
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_answers_401_problems_and_never_logs_the_token() {
    let captured = crate::capture::Captured::install();
    let verifier = JwtVerifier::builder()
        .issuer("https://id.example")
        .audience("quotes")
        .hmac_key(SECRET)
        .unwrap()
        .build();
    let who = |Extension(p): Extension<Principal>| async move { p.subject };
    let app = Router::new()
        .route("/me", get(who))
        .layer(AuthLayer::jwt(verifier.clone()));
    let admin = Router::new()
        .route("/me", get(who))
        .layer(AuthLayer::jwt(verifier).require_scope("quotes:admin"));
    let keys = ApiKeys::new([("k-0123456789abcdef".into(), "batch-job".to_owned())]);
    let by_key = Router::new()
        .route("/me", get(who))
        .layer(AuthLayer::api_keys(keys));
    let (jwt_url, key_url, admin_url) = (
        format!("http://{}/me", crate::server::serve(app).await),
        format!("http://{}/me", crate::server::serve(by_key).await),
        format!("http://{}/me", crate::server::serve(admin).await),
    );
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = hs(&with(|c| c["exp"] = json!(now + 300)));
    let expired = hs(&with(|c| c["exp"] = json!(now - 3_600)));
    let (good_c, expired_c) = (good.clone(), expired.clone());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let call = |url: &str, name: &str, value: &str| {
            let mut response = agent.get(url).header(name, value).call().unwrap();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status().as_u16();
            (
                status,
                challenge,
                response.body_mut().read_to_string().unwrap(),
            )
        };
        assert_eq!(
            call(&jwt_url, "authorization", &format!("Bearer {good_c}")).2,
            "ada"
        );
        let (status, challenge, body) =
            call(&jwt_url, "authorization", &format!("Bearer {expired_c}"));
        assert_eq!(status, 401);
        assert_eq!(challenge.as_deref(), Some("Bearer error=\"invalid_token\""));
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "http.unauthenticated");
        assert_eq!(problem["detail"], "expired");
        let (status, challenge, _) = call(&jwt_url, "x-other", "x");
        assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
        // A good token without the scope the route requires: 403.
        let (status, challenge, body) =
            call(&admin_url, "authorization", &format!("Bearer {good_c}"));
        assert_eq!(status, 403);
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"insufficient_scope\"")
        );
        assert!(body.contains("http.forbidden"), "{body}");
        assert_eq!(
            call(&key_url, "x-api-key", "k-0123456789abcdef").2,
            "batch-job"
        );
        assert_eq!(call(&key_url, "x-api-key", "k-0123456789abcdeX").0, 401);
    })
    .await
    .unwrap();
    let everything = format!("{:?}", captured.events());
    for secret in [&good, &expired] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!everything.contains(signature), "a token reached a log");
    }
}
