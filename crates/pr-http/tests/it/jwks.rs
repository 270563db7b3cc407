//! JWT keys from a JWKS served by a real axum server on loopback (an identity provider the tests
//! change): rotation, the unknown-`kid` fetch and its rate limit on a manual clock, failures that
//! keep the old keys, bounds, start-up, the layer's 401s; and a JWKS file refreshed on tokio's
//! paused clock. No test sleeps: each waits for the source's count of finished fetches.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pr_core::time::ManualClock;
use pr_errors::CodedError as _;
use pr_http::auth::{AuthFailure, AuthLayer, JwksConfig, JwksSource, JwtVerifier};
use serde_json::json;
use tower::ServiceExt as _;

use crate::server::serve;

const OLD: &[u8] = b"the old signing secret, 32 bytes or more";
const NEW: &[u8] = b"the new signing secret, 32 bytes or more";
/// The manual clock's wall time, in Unix seconds.
const NOW: u64 = 1_800_000_000;

/// An identity provider: answers `GET /keys` with the status and document set last, counting
/// its calls.
#[derive(Clone)]
struct Idp {
    answer: Arc<Mutex<(StatusCode, String)>>,
    hits: Arc<AtomicU32>,
}

impl Idp {
    async fn start(document: String) -> (Self, SocketAddr) {
        let idp = Self {
            answer: Arc::new(Mutex::new((StatusCode::OK, document))),
            hits: Arc::new(AtomicU32::new(0)),
        };
        let state = idp.clone();
        let app = Router::new().route(
            "/keys",
            get(move || {
                state.hits.fetch_add(1, Ordering::SeqCst);
                let (status, body) = state.answer.lock().unwrap().clone();
                async move { (status, [("content-type", "application/json")], body) }
            }),
        );
        (idp, serve(app).await)
    }

    fn answer(&self, status: StatusCode, document: String) {
        *self.answer.lock().unwrap() = (status, document);
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}

/// base64url without padding, as JWKs write bytes.
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWKS of HS256 keys, each `(kid, secret)`.
fn jwks(keys: &[(&str, &[u8])]) -> String {
    let keys: Vec<_> = keys
        .iter()
        .map(|(kid, secret)| json!({ "kty": "oct", "kid": kid, "alg": "HS256", "k": base64_url(secret) }))
        .collect();
    json!({ "keys": keys }).to_string()
}

/// A token for `ada`, valid for 5 minutes from `NOW`, signed with `secret` under `kid`.
fn token(kid: &str, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let claims = json!({ "iss": "https://id.example", "sub": "ada", "exp": NOW + 300 });
    encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn manual() -> ManualClock {
    ManualClock::at(UNIX_EPOCH + Duration::from_secs(NOW))
}

fn config(address: SocketAddr) -> JwksConfig {
    let mut config = JwksConfig::default();
    // The query stands for a secret some providers put there: it must reach no message.
    config.url = format!("http://{address}/keys?tenant=s3cr3t");
    config
}

fn verifier(source: &JwksSource, clock: &ManualClock) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer("https://id.example")
        .clock(clock.clock())
        .jwks_source(source.clone())
        .build()
}

/// Waits until the source has finished `n` fetches in all.
async fn fetched(source: &JwksSource, n: u64) {
    let mut fetches = source.fetches();
    fetches.wait_for(|done| *done >= n).await.unwrap();
}

#[tokio::test]
async fn a_rotated_key_is_fetched_on_its_first_token_and_a_removed_one_refused() {
    let (idp, address) = Idp::start(jwks(&[("old", OLD)])).await;
    let clock = manual();
    let source = JwksSource::builder(config(address))
        .clock(clock.clock())
        .build()
        .await
        .unwrap();
    assert_eq!((source.key_count(), idp.hits()), (1, 1));
    let verifier = verifier(&source, &clock);
    assert_eq!(verifier.verify(&token("old", OLD)).unwrap().subject, "ada");

    // The provider publishes a new key and signs with it before the schedule's next fetch.
    idp.answer(StatusCode::OK, jwks(&[("old", OLD), ("new", NEW)]));
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        verifier.verify(&token("new", NEW)),
        Err(AuthFailure::UnknownKey)
    );
    fetched(&source, 2).await;
    assert_eq!(verifier.verify(&token("new", NEW)).unwrap().subject, "ada");
    assert_eq!((source.key_count(), idp.hits()), (2, 2));

    // The old key is withdrawn: after the next fetch its tokens are refused.
    idp.answer(StatusCode::OK, jwks(&[("new", NEW)]));
    assert_eq!(
        source.refresh().await.unwrap(),
        pr_http::auth::jwks::Refreshed::Replaced
    );
    assert_eq!(
        verifier.verify(&token("old", OLD)),
        Err(AuthFailure::UnknownKey)
    );
    assert!(verifier.verify(&token("new", NEW)).is_ok());
    // A token signed with the old secret under the new kid: a forgery, refused.
    assert_eq!(
        verifier.verify(&token("new", OLD)),
        Err(AuthFailure::Signature)
    );
    assert_eq!(
        source.refresh().await.unwrap(),
        pr_http::auth::jwks::Refreshed::Unchanged
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_once_per_min_refresh_interval() {
    let (idp, address) = Idp::start(jwks(&[("old", OLD)])).await;
    let clock = manual();
    let source = JwksSource::builder(config(address))
        .clock(clock.clock())
        .build()
        .await
        .unwrap();
    let verifier = verifier(&source, &clock);
    let flood = |round: u32| {
        for i in 0..200 {
            let kid = format!("made-up-{round}-{i}");
            assert_eq!(
                verifier.verify(&token(&kid, OLD)),
                Err(AuthFailure::UnknownKey)
            );
        }
    };
    // Within 30 s of the start-up fetch: no fetch at all.
    flood(0);
    clock.advance(Duration::from_secs(29));
    flood(1);
    // 30 s on: one fetch for the whole flood, then none until 30 s after it.
    clock.advance(Duration::from_secs(1));
    flood(2);
    fetched(&source, 2).await;
    clock.advance(Duration::from_secs(29));
    flood(3);
    clock.advance(Duration::from_secs(1));
    flood(4);
    fetched(&source, 3).await;
    assert_eq!(idp.hits(), 3);
    // The explicit refresh is the next hit: nothing else was queued by the floods.
    source.refresh().await.unwrap();
    assert_eq!(idp.hits(), 4);
    assert_eq!(*source.fetches().borrow(), 4);
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn a_failed_fetch_keeps_the_old_keys_and_is_counted() {
    // A recorder of this thread's own: on a current-thread runtime every fetch records here.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let (idp, address) = Idp::start(jwks(&[("old", OLD)])).await;
    let clock = manual();
    let source = JwksSource::builder(config(address))
        .clock(clock.clock())
        .build()
        .await
        .unwrap();
    let verifier = verifier(&source, &clock);

    // The provider fails; a token with an unknown kid makes the background task fetch.
    idp.answer(StatusCode::SERVICE_UNAVAILABLE, "down".to_owned());
    clock.advance(Duration::from_secs(30));
    assert!(verifier.verify(&token("new", NEW)).is_err());
    fetched(&source, 2).await;
    assert_eq!(idp.hits(), 2);
    assert!(verifier.verify(&token("old", OLD)).is_ok());
    let failure = source.last_failure().unwrap();
    assert!(failure.contains("503"), "{failure}");

    // Documents that must not replace the keys: not JSON, no keys, a key without `alg`.
    for bad in [
        "<html>".to_owned(),
        json!({ "keys": [] }).to_string(),
        json!({ "keys": [{ "kty": "oct", "kid": "new", "k": base64_url(NEW) }] }).to_string(),
    ] {
        idp.answer(StatusCode::OK, bad);
        let error = source.refresh().await.unwrap_err();
        assert_eq!(error.code().as_str(), "http.jwks_unavailable");
        let text = error.to_string();
        assert!(text.contains(&format!("http://{address}/keys")), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(source.key_count(), 1);
        assert!(verifier.verify(&token("old", OLD)).is_ok());
    }

    // The provider is back: the next fetch replaces the keys and clears the failure.
    idp.answer(StatusCode::OK, jwks(&[("new", NEW)]));
    source.refresh().await.unwrap();
    assert!(source.last_failure().is_none());
    assert!(verifier.verify(&token("new", NEW)).is_ok());

    let text = handle.render();
    for line in [
        "pr_http_jwks_refresh_total{outcome=\"replaced\"} 2",
        "pr_http_jwks_refresh_total{outcome=\"failed\"} 4",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn an_oversized_document_or_too_many_keys_are_refused() {
    let padding = "x".repeat(300 * 1024);
    let big = json!({ "keys": [], "padding": padding }).to_string();
    let (idp, address) = Idp::start(big).await;
    let error = JwksSource::builder(config(address))
        .build()
        .await
        .unwrap_err();
    assert_eq!(error.code().as_str(), "http.jwks_unavailable");
    assert!(error.to_string().contains("larger than"), "{error}");

    let many: Vec<(String, &[u8])> = (0..5).map(|i| (format!("k{i}"), OLD)).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(k, s)| (k.as_str(), *s)).collect();
    idp.answer(StatusCode::OK, jwks(&many));
    let mut few = config(address);
    few.max_keys = 4;
    let error = JwksSource::builder(few).build().await.unwrap_err();
    assert!(error.to_string().contains("5 keys"), "{error}");
    assert_eq!(idp.hits(), 2);
}

#[tokio::test]
async fn the_first_fetch_must_succeed_unless_start_empty() {
    let (idp, address) = Idp::start(String::new()).await;
    idp.answer(StatusCode::NOT_FOUND, "no such tenant".to_owned());
    let error = JwksSource::builder(config(address))
        .build()
        .await
        .unwrap_err();
    assert_eq!(error.code().as_str(), "http.jwks_unavailable");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("JWKS http://{address}/keys: ")),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");

    let mut bad = JwksConfig::default();
    bad.url = "https://user:pw@id.example/keys".to_owned();
    let error = JwksSource::builder(bad).build().await.unwrap_err();
    assert_eq!(error.code().as_str(), "http.invalid_config");
    assert!(!error.to_string().contains("pw@"), "{error}");
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn started_empty_the_layer_refuses_with_401_until_the_keys_arrive() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let (idp, address) = Idp::start(String::new()).await;
    idp.answer(StatusCode::SERVICE_UNAVAILABLE, "starting".to_owned());
    let clock = manual();
    let mut empty = config(address);
    empty.start_empty = true;
    let source = JwksSource::builder(empty)
        .clock(clock.clock())
        .build()
        .await
        .unwrap();
    assert_eq!(source.key_count(), 0);
    let app = Router::new()
        .route("/me", get(|| async { "hello" }))
        .layer(AuthLayer::jwt(verifier(&source, &clock)));
    let call = |app: Router| async move {
        let request = http::Request::get("/me")
            .header("authorization", format!("Bearer {}", token("k1", OLD)))
            .body(axum::body::Body::empty())
            .unwrap();
        app.oneshot(request).await.unwrap()
    };

    let refused = call(app.clone()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body = axum::body::to_bytes(refused.into_body(), 4096)
        .await
        .unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "http.unauthenticated");

    // The provider comes up; the next token 30 s on asks for the keys, the one after passes.
    idp.answer(StatusCode::OK, jwks(&[("k1", OLD)]));
    clock.advance(Duration::from_secs(30));
    assert_eq!(call(app.clone()).await.status(), StatusCode::UNAUTHORIZED);
    fetched(&source, 2).await;
    assert_eq!(call(app).await.status(), StatusCode::OK);

    let text = handle.render();
    let line = "pr_http_auth_failures_total{reason=\"unknown_key\"} 2";
    assert!(text.contains(line), "{line} in\n{text}");
}

#[tokio::test(start_paused = true)]
async fn a_jwks_file_is_read_again_every_refresh_interval() {
    let dir = pr_test_support::temp_dir("jwks-file");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&[("old", OLD)])).unwrap();
    let mut config = JwksConfig::default();
    config.file = Some(path.clone());
    let clock = manual();
    let source = JwksSource::builder(config).build().await.unwrap();
    let verifier = verifier(&source, &clock);
    assert!(verifier.verify(&token("old", OLD)).is_ok());

    std::fs::write(&path, jwks(&[("new", NEW)])).unwrap();
    let start = tokio::time::Instant::now();
    // Paused time: tokio moves its clock to the refresh task's next wake-up.
    fetched(&source, 2).await;
    assert_eq!(start.elapsed(), Duration::from_secs(300));
    assert!(verifier.verify(&token("new", NEW)).is_ok());
    assert_eq!(
        verifier.verify(&token("old", OLD)),
        Err(AuthFailure::UnknownKey)
    );

    // A file grown past the bound keeps the keys read before.
    std::fs::write(&path, " ".repeat(257 * 1024)).unwrap();
    fetched(&source, 3).await;
    assert!(source.last_failure().unwrap().contains("larger than"));
    assert!(verifier.verify(&token("new", NEW)).is_ok());
}
