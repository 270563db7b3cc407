//! Authentication as a layer (feature `auth`): bearer JWTs verified with
//! pinned algorithms, issuer, audience, expiry and not-before (with
//! leeway, on pr-core's injectable clock), or static API keys compared in
//! constant time. A request that passes carries its [`Principal`] in its
//! extensions; one that does not is answered 401 `http.unauthenticated`
//! as problem+json with `WWW-Authenticate: Bearer` (403 `http.forbidden`
//! when it lacks a scope the layer requires), and counted in
//! `pr_http_auth_failures_total{reason}` (feature `metrics`). The token is
//! never logged, not even in part.
//!
//! What the verifier refuses, whatever the token claims:
//!
//! - an algorithm it was not built for: `none`, and the HS/RS confusion (a
//!   token signed HS256 with the RSA public key as its secret) fail because
//!   the algorithms are pinned by the key, not read from the token;
//! - a wrong `iss` or `aud`, a missing `exp`, a token past `exp` or before
//!   `nbf` (beyond the leeway), a key id (`kid`) it does not know.
//!
//! Keys come from code: an HMAC secret, RSA / EC public keys in PEM, or a
//! JWKS document (`{"keys": [...]}`, as an identity provider publishes at
//! its `jwks_uri`); or, with feature `jwks`, from a `JwksSource`: a JWKS
//! URL (or file) fetched at start and refreshed in the background, its keys
//! swapped in atomically (see the `jwks` module).
//!
//! ```
//! use pr_http::auth::{AuthLayer, JwtVerifier};
//!
//! # fn main() -> Result<(), pr_http::auth::KeyError> {
//! let verifier = JwtVerifier::builder()
//!     .issuer("https://id.example.com")
//!     .audience("quotes-api")
//!     .hmac_key(b"a secret of at least thirty-two bytes!!")?
//!     .build();
//! let layer = AuthLayer::jwt(verifier);
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderValue, Request, Response, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use pr_core::secret::SecretString;
use pr_core::time::Clock;
use pr_errors::{CodeInfo, CodedError};
use serde::Deserialize;

use crate::error::{FORBIDDEN, UNAUTHENTICATED};

#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub mod jwks;
#[cfg(feature = "jwks")]
pub use jwks::{JwksConfig, JwksSource, JwksSourceBuilder};

/// Verification keys by `kid` (`None`: a key without an id, used when the
/// token names none), each with the one algorithm it verifies.
pub(crate) type KeyMap = HashMap<Option<String>, (DecodingKey, Algorithm)>;

/// Who made the request, as the layer established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`, or the API key's name.
    pub subject: String,
    /// The token's scopes (`scope`, space-separated), empty for API keys.
    pub scopes: Vec<String>,
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid key: {0}")]
pub struct KeyError(String);

/// Why a request was not authenticated: the reason label of
/// `pr_http_auth_failures_total`, never shown to the client in detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No credentials.
    #[error("missing credentials")]
    Missing,
    /// Not a JWT, or not one this verifier reads.
    #[error("malformed token")]
    Malformed,
    /// The token's algorithm is not the key's (`none`, HS/RS confusion).
    #[error("algorithm not allowed")]
    Algorithm,
    /// The token names a key id the verifier does not know.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` is missing or past.
    #[error("expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` does not name this service.
    #[error("wrong audience")]
    Audience,
    /// The API key is not one of the configured keys.
    #[error("unknown API key")]
    ApiKey,
    /// Authenticated, but without a scope the layer requires (403).
    #[error("a required scope is missing")]
    Scope,
}

impl AuthFailure {
    /// The metric label.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Signature => "signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::ApiKey => "api_key",
            Self::Scope => "scope",
        }
    }
}

impl CodedError for AuthFailure {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::Scope => &FORBIDDEN,
            _ => &UNAUTHENTICATED,
        }
    }
}

/// The registered claims the verifier reads; the rest of the token is the
/// service's.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<u64>,
    nbf: Option<u64>,
    #[serde(default)]
    scope: String,
}

/// Verifies bearer JWTs; see the [module](self).
#[derive(Clone)]
pub struct JwtVerifier {
    /// Keys by `kid` (`None`: a key without an id, used when the token names none).
    keys: Arc<KeyMap>,
    /// Keys fetched and refreshed in the background, looked up after `keys`.
    #[cfg(feature = "jwks")]
    source: Option<JwksSource>,
    issuer: Option<String>,
    audience: Vec<String>,
    leeway: Duration,
    clock: Clock,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut f = f.debug_struct("JwtVerifier");
        f.field("keys", &self.keys.len());
        #[cfg(feature = "jwks")]
        f.field("source", &self.source);
        f.field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwtVerifier`].
#[derive(Default)]
pub struct JwtVerifierBuilder {
    keys: KeyMap,
    #[cfg(feature = "jwks")]
    source: Option<JwksSource>,
    issuer: Option<String>,
    audience: Vec<String>,
    leeway: Option<Duration>,
    clock: Option<Clock>,
}

impl std::fmt::Debug for JwtVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A builder: no keys, no issuer, no audience, 60 s of leeway.
    #[must_use]
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    /// The principal of `token`, or why it is refused.
    ///
    /// # Errors
    ///
    /// The [`AuthFailure`] that refuses it.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthFailure> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthFailure::Malformed)?;
        if let Some((key, algorithm)) = self.keys.get(&header.kid) {
            return self.check(token, &header, key, *algorithm);
        }
        #[cfg(feature = "jwks")]
        if let Some(source) = &self.source {
            let keys = source.keys();
            if let Some((key, algorithm)) = keys.get(&header.kid) {
                return self.check(token, &header, key, *algorithm);
            }
            // A key the identity provider may have published since the
            // last fetch: fetch again, at most once per `min_refresh_interval`
            // whatever the tokens say. This token is refused all the same.
            source.request_refresh();
        }
        Err(AuthFailure::UnknownKey)
    }

    /// `token`'s signature and claims, checked with the key its header names.
    fn check(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
        key: &DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Principal, AuthFailure> {
        if header.alg != algorithm {
            return Err(AuthFailure::Algorithm);
        }
        let mut validation = Validation::new(algorithm);
        // Time is checked below, on the verifier's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        match &self.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        if self.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audience);
        }
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => AuthFailure::Signature,
                ErrorKind::InvalidIssuer => AuthFailure::Issuer,
                ErrorKind::InvalidAudience => AuthFailure::Audience,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthFailure::Algorithm
                }
                ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => AuthFailure::Issuer,
                ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => AuthFailure::Audience,
                _ => AuthFailure::Malformed,
            }
        })?;
        let now = self
            .clock
            .wall()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let leeway = self.leeway.as_secs();
        let claims = data.claims;
        match claims.exp {
            Some(exp) if exp.saturating_add(leeway) > now => {}
            _ => return Err(AuthFailure::Expired),
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(AuthFailure::NotYetValid);
        }
        Ok(Principal {
            subject: claims.sub.unwrap_or_default(),
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        })
    }
}

impl JwtVerifierBuilder {
    /// The expected `iss`.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An accepted `aud` (one of them must be in the token).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Leeway for `exp` and `nbf` (clock skew between issuer and service).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// The clock `exp` and `nbf` are checked on (a manual clock in tests).
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// An HMAC secret (HS256), for tokens without a `kid`.
    ///
    /// # Errors
    ///
    /// A secret under 32 bytes (HS256's key size; a short secret is guessable).
    pub fn hmac_key(mut self, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError(format!(
                "an HMAC secret needs at least 32 bytes, got {}",
                secret.len()
            )));
        }
        self.keys
            .insert(None, (DecodingKey::from_secret(secret), Algorithm::HS256));
        Ok(self)
    }

    /// An RSA public key in PEM (RS256), under `kid` (`None` for tokens
    /// without one).
    ///
    /// # Errors
    ///
    /// A PEM that is not an RSA public key.
    pub fn rsa_pem(mut self, kid: Option<&str>, pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|e| KeyError(e.to_string()))?;
        self.keys
            .insert(kid.map(str::to_owned), (key, Algorithm::RS256));
        Ok(self)
    }

    /// An EC P-256 public key in PEM (ES256), under `kid`.
    ///
    /// # Errors
    ///
    /// A PEM that is not an EC public key.
    pub fn ec_pem(mut self, kid: Option<&str>, pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ec_pem(pem).map_err(|e| KeyError(e.to_string()))?;
        self.keys
            .insert(kid.map(str::to_owned), (key, Algorithm::ES256));
        Ok(self)
    }

    /// Every signing key of a JWKS document, each under its `kid` and
    /// pinned to one algorithm, never read from a token: its `alg`, or for
    /// an asymmetric key without one (RFC 7517 makes `alg` optional, and
    /// some identity providers leave it out) the usual one of its type: RSA
    /// RS256, EC P-256 ES256 and P-384 ES384, Ed25519 `EdDSA`. Keys that
    /// cannot verify a signature by this rule are skipped: `use: "enc"`,
    /// no `kid`, a symmetric (`oct`) key without `alg`.
    ///
    /// # Errors
    ///
    /// A document that does not parse, a key jsonwebtoken cannot read, or
    /// no usable signing key at all.
    pub fn jwks(mut self, document: &str) -> Result<Self, KeyError> {
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(document).map_err(|e| KeyError(e.to_string()))?;
        jwk_set_keys(&set, &mut self.keys)?;
        Ok(self)
    }

    /// Keys from a [`JwksSource`] (a JWKS URL or file, refreshed in the
    /// background), looked up after the keys given to this builder. A
    /// token naming a `kid` the source does not hold asks it to fetch again
    /// (at most once per its `min_refresh_interval`) and is refused.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    #[must_use]
    pub fn jwks_source(mut self, source: JwksSource) -> Self {
        self.source = Some(source);
        self
    }

    /// The verifier.
    #[must_use]
    pub fn build(self) -> JwtVerifier {
        JwtVerifier {
            keys: Arc::new(self.keys),
            #[cfg(feature = "jwks")]
            source: self.source,
            issuer: self.issuer,
            audience: self.audience,
            leeway: self.leeway.unwrap_or(Duration::from_secs(60)),
            clock: self.clock.unwrap_or_else(Clock::system),
        }
    }
}

/// Every signing key of `set` into `keys`, each under its `kid` and pinned
/// to one algorithm (see [`JwtVerifierBuilder::jwks`]); keys that cannot
/// verify a signature are skipped.
///
/// # Errors
///
/// A key jsonwebtoken cannot read, or no usable signing key at all.
pub(crate) fn jwk_set_keys(
    set: &jsonwebtoken::jwk::JwkSet,
    keys: &mut KeyMap,
) -> Result<(), KeyError> {
    use jsonwebtoken::jwk::PublicKeyUse;
    let mut usable = 0_usize;
    for jwk in &set.keys {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        let algorithm = match jwk.common.key_algorithm {
            Some(alg) => alg.to_string().parse::<Algorithm>().ok(),
            None => usual_algorithm(&jwk.algorithm),
        };
        let Some(algorithm) = algorithm else {
            continue;
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError(e.to_string()))?;
        keys.insert(Some(kid), (key, algorithm));
        usable += 1;
    }
    if usable == 0 {
        return Err(KeyError(
            "no usable signing key (each needs a `kid`, no `use: \"enc\"`, and an `alg` when symmetric)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// The algorithm an asymmetric key without `alg` is pinned to; none for a
/// symmetric key, whose algorithm must be stated.
fn usual_algorithm(parameters: &jsonwebtoken::jwk::AlgorithmParameters) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match parameters {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => {
            matches!(okp.curve, EllipticCurve::Ed25519).then_some(Algorithm::EdDSA)
        }
        AlgorithmParameters::OctetKey(_) => None,
    }
}

/// Static API keys, each with the name its principal gets, compared in
/// constant time.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys(Arc<Vec<(SecretString, String)>>);

impl ApiKeys {
    /// Keys and their names.
    pub fn new(keys: impl IntoIterator<Item = (SecretString, String)>) -> Self {
        Self(Arc::new(keys.into_iter().collect()))
    }

    /// The name of `candidate`'s key. Every key is compared, so the time
    /// taken does not say which one matched or how much of it.
    fn name_of(&self, candidate: &str) -> Option<&str> {
        let mut found = None;
        for (key, name) in self.0.iter() {
            if key.ct_eq(candidate) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// What the layer accepts.
#[derive(Clone, Debug)]
enum Scheme {
    Jwt(JwtVerifier),
    ApiKeys(ApiKeys),
}

/// Authenticates requests; see the [module](self).
#[derive(Clone, Debug)]
pub struct AuthLayer {
    scheme: Scheme,
    required_scopes: Arc<Vec<String>>,
}

impl AuthLayer {
    /// Bearer JWTs (`Authorization: Bearer <jwt>`).
    #[must_use]
    pub fn jwt(verifier: JwtVerifier) -> Self {
        Self {
            scheme: Scheme::Jwt(verifier),
            required_scopes: Arc::default(),
        }
    }

    /// API keys in `x-api-key`.
    #[must_use]
    pub fn api_keys(keys: ApiKeys) -> Self {
        Self {
            scheme: Scheme::ApiKeys(keys),
            required_scopes: Arc::default(),
        }
    }

    /// Requires `scope` of every principal (a token's `scope` claim); one
    /// without it is answered 403 `http.forbidden`. API keys carry no
    /// scopes, so a layer of them that requires one refuses every request.
    #[must_use]
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.required_scopes).push(scope.into());
        self
    }

    fn authenticate(&self, headers: &http::HeaderMap) -> Result<Principal, AuthFailure> {
        let principal = self.identify(headers)?;
        if self
            .required_scopes
            .iter()
            .all(|scope| principal.scopes.contains(scope))
        {
            Ok(principal)
        } else {
            Err(AuthFailure::Scope)
        }
    }

    fn identify(&self, headers: &http::HeaderMap) -> Result<Principal, AuthFailure> {
        match &self.scheme {
            Scheme::Jwt(verifier) => {
                let token = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(pr_core::secret::bearer_token)
                    .ok_or(AuthFailure::Missing)?;
                verifier.verify(token)
            }
            Scheme::ApiKeys(keys) => {
                let key = headers
                    .get("x-api-key")
                    .and_then(|v| v.to_str().ok())
                    .ok_or(AuthFailure::Missing)?;
                keys.name_of(key)
                    .map(|name| Principal {
                        subject: name.to_owned(),
                        scopes: Vec::new(),
                    })
                    .ok_or(AuthFailure::ApiKey)
            }
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for Auth<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = crate::BoxFuture<Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        match self.layer.authenticate(request.headers()) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Box::pin(self.inner.call(request))
            }
            Err(failure) => {
                #[cfg(feature = "metrics")]
                {
                    metrics::describe_counter!(
                        "pr_http_auth_failures_total",
                        "Requests refused by authentication, by reason."
                    );
                    metrics::counter!("pr_http_auth_failures_total", "reason" => failure.reason())
                        .increment(1);
                }
                let mut response: Response<ResB> = crate::problem::response(&failure);
                let challenge = match &self.layer.scheme {
                    Scheme::Jwt(_) if failure == AuthFailure::Missing => "Bearer",
                    Scheme::Jwt(_) if failure == AuthFailure::Scope => {
                        "Bearer error=\"insufficient_scope\""
                    }
                    Scheme::Jwt(_) => "Bearer error=\"invalid_token\"",
                    Scheme::ApiKeys(_) => "ApiKey",
                };
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}
