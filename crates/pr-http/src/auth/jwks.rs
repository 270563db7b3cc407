//! JWT verification keys from a JWKS URL or file, refreshed in the
//! background (feature `jwks`: `auth` and the outbound `client`).
//!
//! A [`JwksSource`] fetches an identity provider's `{"keys": [...]}`
//! document (its `jwks_uri`) with [`HttpClient`], or reads it from a file,
//! when it is built and then on a schedule, and hands the keys to every
//! [`JwtVerifier`](super::JwtVerifier) built with
//! [`jwks_source`](super::JwtVerifierBuilder::jwks_source).
//!
//! ```no_run
//! use pr_http::auth::{AuthLayer, JwksConfig, JwksSource, JwtVerifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pr_http::Error> {
//! let mut config = JwksConfig::default();
//! config.url = "https://id.example.com/.well-known/jwks.json".to_owned();
//! // Fetches at once: an identity provider that cannot be reached fails the start.
//! let source = JwksSource::builder(config).build().await?;
//! let verifier = JwtVerifier::builder()
//!     .issuer("https://id.example.com")
//!     .audience("quotes-api")
//!     .jwks_source(source)
//!     .build();
//! let layer = AuthLayer::jwt(verifier);
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```
//!
//! # Choices
//!
//! - **Readers never wait.** The keys are an `Arc` in an [`ArcSwap`]: a
//!   request's verification loads the current set without a lock, and a
//!   refresh builds the whole new set before swapping it in, so a request
//!   sees the old keys or the new ones, never a mix and never a fetch in
//!   progress.
//! - **The schedule.** A background task (spawned by
//!   [`build`](JwksSourceBuilder::build), ended when the last handle of the
//!   source is dropped) fetches every `refresh_interval` (5 min). A
//!   `Cache-Control: max-age` shorter than that brings the next fetch
//!   forward, never nearer than `min_refresh_interval` (30 s); a longer one
//!   is not followed: `refresh_interval` is the operator's bound on how
//!   stale the keys may get. A failed fetch is tried again after
//!   `min_refresh_interval`.
//! - **An unknown `kid` fetches at once, rate-limited.** Identity providers
//!   publish a new key before signing with it, so the schedule usually has
//!   it; a token naming a key the source does not hold asks for a fetch now,
//!   granted at most once per `min_refresh_interval` (counted on the
//!   source's [`Clock`]) whatever the tokens say, so a flood of tokens with
//!   made-up key ids costs the identity provider one request per 30 s. The
//!   token that asked is refused (401, reason `unknown_key`): verification
//!   is synchronous and never waits on the network; its client's retry
//!   finds the new key.
//! - **Failures keep the old keys.** A fetch that fails (connection, status,
//!   timeout), a document that does not parse, holds no usable signing key
//!   (keys without `kid`, encryption keys and symmetric keys without `alg`
//!   are skipped), more than `max_keys` keys, or is larger than
//!   `max_document` (256 KiB) changes nothing: the keys last fetched stay in
//!   use, with no expiry, because refusing every token while the identity
//!   provider is down is the worse outage. Each fetch is counted in
//!   `pr_http_jwks_refresh_total{outcome}` (`replaced`, `unchanged`,
//!   `failed`; feature `metrics`), and a failure is a `warn` event
//!   `http.jwks_refresh_failed` once per distinct problem (a recovery is an
//!   `info` event `http.jwks_refreshed`), so an outage is seen, not
//!   repeated every 30 s. [`JwksSource::last_failure`] tells a health check.
//! - **Start-up.** By default the first fetch must succeed:
//!   [`build`](JwksSourceBuilder::build) fails with `http.jwks_unavailable`
//!   naming the URL without its query, so a service does not start refusing
//!   every token. With `start_empty`, it starts with no keys, refuses every
//!   token (401 `http.unauthenticated`) and fetches on the schedule and on
//!   tokens until the keys arrive: for a service that must start while its
//!   identity provider is down.
//! - **Bounded.** The document is read through the outbound client's body
//!   limit (`max_document`; a larger `Content-Length` is refused before
//!   reading), a file is read up to the same limit, and at most `max_keys`
//!   keys (64) are taken. No key material and no query string reaches a log
//!   line or a message.
//! - **A file too.** `file` instead of `url` reads the document from disk on
//!   the same schedule (a mounted secret or config map), with the same
//!   bounds and the same rule that a bad document keeps the old keys.

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use pr_core::time::Clock;
use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use super::KeyMap;
use crate::outbound::HttpClient;

/// The most keys a document may hold, as a config's upper bound on
/// `max_keys` (identity providers publish two or three).
const MAX_KEYS_BOUND: usize = 1024;
/// The largest `max_document` a config may set.
const MAX_DOCUMENT_BOUND: ByteSize = ByteSize::mib(16);
/// `last_fetch` before any fetch.
const NEVER: u64 = u64::MAX;

/// Where a JWKS comes from and how it is refreshed.
///
/// ```toml
/// [auth.jwks]
/// url = "https://id.example.com/.well-known/jwks.json"  # or: file = "/etc/jwks/jwks.json"
/// refresh_interval = "5m"        # the longest the keys may go unrefreshed
/// min_refresh_interval = "30s"   # the shortest between two fetches (unknown kid, failures, max-age)
/// timeout = "10s"
/// max_document = "256KiB"
/// max_keys = 64
/// start_empty = false            # true: start without keys when the first fetch fails
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JwksConfig {
    /// The JWKS URL (`http` or `https`, the identity provider's `jwks_uri`);
    /// no credentials or fragment. Either this or `file`.
    pub url: String,
    /// A file holding the JWKS document, read on the same schedule. Either
    /// this or `url`.
    pub file: Option<PathBuf>,
    /// How often the document is fetched (`"5m"`): the longest a key the
    /// identity provider removed stays accepted.
    pub refresh_interval: Duration,
    /// The shortest time between two fetches (`"30s"`): after a token with
    /// an unknown key id, after a failure, or for a short `max-age`.
    pub min_refresh_interval: Duration,
    /// The longest one fetch may take.
    pub timeout: Duration,
    /// The largest document read (`"256KiB"`); a larger one is refused.
    pub max_document: ByteSize,
    /// The most keys a document may hold; one with more is refused.
    pub max_keys: usize,
    /// Start without keys (refusing every token) when the first fetch
    /// fails, instead of failing the start.
    pub start_empty: bool,
}

impl Default for JwksConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            file: None,
            refresh_interval: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            max_document: ByteSize::kib(256),
            max_keys: 64,
            start_empty: false,
        }
    }
}

/// Every problem at once, each at its key.
impl Validate for JwksConfig {
    fn validate(&self, v: &mut Validator) {
        match (self.url.is_empty(), &self.file) {
            (true, None) => v.error("url", "either `url` or `file` must be set"),
            (false, Some(_)) => v.error("file", "must not be set beside `url`"),
            (false, None) => {
                if let Err(reason) = split_url(&self.url) {
                    // The reason only: a URL may carry a secret.
                    v.error("url", reason);
                }
            }
            (true, Some(_)) => {}
        }
        for (key, value) in [
            ("refresh_interval", self.refresh_interval),
            ("min_refresh_interval", self.min_refresh_interval),
            ("timeout", self.timeout),
        ] {
            v.check(!value.as_std().is_zero(), key, "must be greater than 0");
        }
        v.check(
            self.min_refresh_interval <= self.refresh_interval,
            "min_refresh_interval",
            "must not be longer than `refresh_interval`",
        );
        v.check(
            self.max_document.as_u64() > 0 && self.max_document <= MAX_DOCUMENT_BOUND,
            "max_document",
            "must be greater than 0 and at most 16MiB",
        );
        v.check(
            (1..=MAX_KEYS_BOUND).contains(&self.max_keys),
            "max_keys",
            "must be from 1 to 1024",
        );
    }
}

/// A JWKS URL as the client's base URL (`scheme://authority`), the path and
/// query to get, and the URL shown in messages (without its query).
fn split_url(url: &str) -> Result<(String, String, String), &'static str> {
    const NOT_A_URL: &str = "is not a URL (`https://host[:port]/path`)";
    if url.contains('#') {
        return Err("must not have a fragment");
    }
    let uri: http::Uri = url.parse().map_err(|_| NOT_A_URL)?;
    let scheme = uri.scheme_str().ok_or(NOT_A_URL)?;
    let authority = uri.authority().ok_or(NOT_A_URL)?;
    let base = format!("{scheme}://{authority}");
    // The scheme, credentials and host rules of every outbound base URL.
    crate::outbound::Base::parse(&base)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let shown = format!("{base}{}", uri.path());
    Ok((base, path, shown))
}

/// Where the document is read from.
enum Origin {
    Url { client: HttpClient, path: String },
    File(PathBuf),
}

/// What the refresh task and every handle share.
struct Shared {
    keys: ArcSwap<KeyMap>,
    origin: Origin,
    /// The URL without its query, or the file's path: for messages.
    location: String,
    clock: Clock,
    refresh_interval: std::time::Duration,
    min_refresh_interval: std::time::Duration,
    max_document: u64,
    max_keys: usize,
    /// When the last fetch started, in the clock's nanoseconds (`NEVER`).
    last_fetch: AtomicU64,
    /// Wakes the refresh task for a fetch now (an unknown `kid`).
    wake: Notify,
    /// Fetches finished, whatever their outcome.
    fetches: watch::Sender<u64>,
    state: Mutex<State>,
}

/// What one fetch leaves for the next.
#[derive(Default)]
struct State {
    /// The document the keys were last built from, to tell `unchanged`.
    document: Option<Bytes>,
    /// The last fetch's problem, if it failed.
    failure: Option<String>,
}

/// What a fetch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refreshed {
    /// The document changed: its keys are now in use.
    Replaced,
    /// The document is the one in use.
    Unchanged,
}

/// Ends the refresh task when the last handle is dropped.
struct TaskGuard(tokio::task::AbortHandle);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// JWT keys fetched from a JWKS URL or file and refreshed in the
/// background; see the [module](self). Clones share the keys and the
/// refresh task, which ends when the last clone is dropped.
#[derive(Clone)]
pub struct JwksSource {
    shared: Arc<Shared>,
    _task: Arc<TaskGuard>,
}

impl fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSource")
            .field("location", &self.shared.location)
            .field("keys", &self.shared.keys.load().len())
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwksSource`]: [`JwksSource::builder`].
#[must_use]
pub struct JwksSourceBuilder {
    config: JwksConfig,
    clock: Option<Clock>,
    roots_pem: Vec<Vec<u8>>,
}

impl fmt::Debug for JwksSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSourceBuilder")
            .field("file", &self.config.file)
            .finish_non_exhaustive()
    }
}

impl JwksSource {
    /// A builder from `config`.
    pub fn builder(config: JwksConfig) -> JwksSourceBuilder {
        JwksSourceBuilder {
            config,
            clock: None,
            roots_pem: Vec::new(),
        }
    }

    /// The keys in use now.
    pub(crate) fn keys(&self) -> arc_swap::Guard<Arc<KeyMap>> {
        self.shared.keys.load()
    }

    /// How many keys are in use.
    #[must_use]
    pub fn key_count(&self) -> usize {
        self.shared.keys.load().len()
    }

    /// The last fetch's problem when it failed (the keys before it are
    /// still in use), `None` after a success: for a health check.
    #[must_use]
    pub fn last_failure(&self) -> Option<String> {
        pr_core::sync::lock(&self.shared.state).failure.clone()
    }

    /// The number of fetches finished so far, whatever their outcome;
    /// `changed()` on it wakes after each.
    #[must_use]
    pub fn fetches(&self) -> watch::Receiver<u64> {
        self.shared.fetches.subscribe()
    }

    /// Asks the refresh task for a fetch now, unless one started less than
    /// `min_refresh_interval` ago.
    pub(crate) fn request_refresh(&self) {
        let shared = &self.shared;
        let now = shared.clock.now_nanos();
        let last = shared.last_fetch.load(Ordering::Acquire);
        if last != NEVER && now.saturating_sub(last) < nanos(shared.min_refresh_interval) {
            return;
        }
        // One of many threads seeing the same stale `last` wins.
        if shared
            .last_fetch
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            shared.wake.notify_one();
        }
    }

    /// Fetches the document now, outside the schedule and its rate limit,
    /// and uses its keys when it is good.
    ///
    /// # Errors
    ///
    /// [`Error::Jwks`](crate::Error::Jwks) (`http.jwks_unavailable`) when
    /// the fetch fails or the document is refused; the keys in use stay.
    pub async fn refresh(&self) -> Result<Refreshed, crate::Error> {
        // It asks the identity provider all the same: the next unknown
        // `kid` waits `min_refresh_interval` from now.
        self.shared.mark_fetch();
        self.shared.refresh().await.map(|(refreshed, _)| refreshed)
    }
}

impl JwksSourceBuilder {
    /// The clock the fetches' rate limit is counted on (a manual clock in
    /// tests); pr-core's system clock by default.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Trusts the CA certificates in `pem` too, besides Mozilla's roots (an
    /// identity provider behind a private CA).
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Self {
        self.roots_pem.push(pem.to_vec());
        self
    }

    /// Fetches the document and starts the refresh task (on the current
    /// tokio runtime).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) with every
    /// problem of the settings; [`Error::Jwks`](crate::Error::Jwks)
    /// (`http.jwks_unavailable`, naming the URL without its query) when the
    /// first fetch fails and `start_empty` is off.
    pub async fn build(self) -> Result<JwksSource, crate::Error> {
        let config = self.config;
        let mut v = Validator::new();
        config.validate(&mut v);
        let problems = v.into_problems();
        if !problems.is_empty() {
            return Err(crate::Error::InvalidConfig { problems });
        }
        let (origin, location) = match &config.file {
            Some(file) => (Origin::File(file.clone()), file.display().to_string()),
            None => {
                let (base, path, shown) =
                    split_url(&config.url).map_err(|reason| crate::Error::InvalidConfig {
                        problems: vec![pr_core::validate::Violation::new("url", reason)],
                    })?;
                let mut client = HttpClient::builder("jwks")
                    .base_url(base)
                    .timeout(config.timeout.as_std())
                    .max_response_body(config.max_document);
                for pem in &self.roots_pem {
                    client = client.add_root_certificates_pem(pem);
                }
                // The settings are checked above; what is left to refuse is a
                // root certificate (`tls_roots.<n>`).
                let client = client.build()?;
                (Origin::Url { client, path }, shown)
            }
        };
        let (fetches, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            keys: ArcSwap::from_pointee(KeyMap::new()),
            origin,
            location,
            clock: self.clock.unwrap_or_else(Clock::system),
            refresh_interval: config.refresh_interval.as_std(),
            min_refresh_interval: config.min_refresh_interval.as_std(),
            max_document: config.max_document.as_u64(),
            max_keys: config.max_keys,
            last_fetch: AtomicU64::new(NEVER),
            wake: Notify::new(),
            fetches,
            state: Mutex::new(State::default()),
        });
        shared.mark_fetch();
        let first = match shared.refresh().await {
            Ok((_, delay)) => delay,
            // Logged and counted by `refresh`; tokens are refused until a
            // fetch succeeds.
            Err(_) if config.start_empty => shared.min_refresh_interval,
            Err(error) => return Err(error),
        };
        let task = tokio::spawn(run(Arc::clone(&shared), first));
        Ok(JwksSource {
            shared,
            _task: Arc::new(TaskGuard(task.abort_handle())),
        })
    }
}

/// The refresh task: a fetch after each wait (the schedule's or a wake
/// for an unknown `kid`), forever; aborted with the last handle.
async fn run(shared: Arc<Shared>, mut delay: std::time::Duration) {
    loop {
        // A wake is a fetch `request_refresh` granted and marked already.
        if tokio::time::timeout(delay, shared.wake.notified())
            .await
            .is_err()
        {
            shared.mark_fetch();
        }
        delay = match shared.refresh().await {
            Ok((_, delay)) => delay,
            Err(_) => shared.min_refresh_interval,
        };
    }
}

impl Shared {
    /// Records that a fetch starts now, for the unknown-`kid` rate limit.
    fn mark_fetch(&self) {
        self.last_fetch
            .store(self.clock.now_nanos(), Ordering::Release);
    }

    /// One fetch: the keys replaced when the document is good and new;
    /// counted, and logged on a change of outcome. Answers the wait until
    /// the next scheduled fetch.
    async fn refresh(&self) -> Result<(Refreshed, std::time::Duration), crate::Error> {
        let outcome = self.fetch_and_swap().await;
        let label = match &outcome {
            Ok((Refreshed::Replaced, _)) => "replaced",
            Ok((Refreshed::Unchanged, _)) => "unchanged",
            Err(_) => "failed",
        };
        count_refresh(label);
        {
            let mut state = pr_core::sync::lock(&self.state);
            match &outcome {
                Ok((refreshed, _)) => {
                    if state.failure.take().is_some() || *refreshed == Refreshed::Replaced {
                        tracing::info!(
                            event = "http.jwks_refreshed",
                            location = %self.location,
                            keys = self.keys.load().len(),
                            "JWT keys refreshed"
                        );
                    }
                }
                Err(error) => {
                    let text = error.to_string();
                    if state.failure.as_deref() != Some(text.as_str()) {
                        tracing::warn!(
                            event = "http.jwks_refresh_failed",
                            error = %text,
                            "JWKS not refreshed; the keys in use stay (none before a first success)"
                        );
                    }
                    state.failure = Some(text);
                }
            }
        }
        self.fetches.send_modify(|n| *n += 1);
        outcome
    }

    /// Reads the document and, when it is good and new, swaps its keys in.
    async fn fetch_and_swap(&self) -> Result<(Refreshed, std::time::Duration), crate::Error> {
        let problem = |problem: String| crate::Error::Jwks {
            location: self.location.clone(),
            problem,
        };
        let (document, max_age) = match &self.origin {
            Origin::Url { client, path } => {
                let response = client
                    .get(path)
                    .header(
                        http::header::ACCEPT,
                        http::HeaderValue::from_static("application/json"),
                    )
                    .send()
                    .await
                    .map_err(|error| problem(error.to_string()))?;
                let max_age = response
                    .headers()
                    .get_all(http::header::CACHE_CONTROL)
                    .iter()
                    .find_map(|value| max_age(value.as_bytes()));
                (response.into_body(), max_age)
            }
            Origin::File(path) => (
                read_bounded(path, self.max_document).map_err(problem)?,
                None,
            ),
        };
        let delay = next_fetch_in(max_age, self.min_refresh_interval, self.refresh_interval);
        let unchanged = pr_core::sync::lock(&self.state).document.as_ref() == Some(&document);
        if unchanged {
            return Ok((Refreshed::Unchanged, delay));
        }
        let keys = parse(&document, self.max_keys).map_err(problem)?;
        self.keys.store(Arc::new(keys));
        pr_core::sync::lock(&self.state).document = Some(document);
        Ok((Refreshed::Replaced, delay))
    }
}

/// The wait before the next scheduled fetch: `refresh` (the operator's
/// bound on staleness), or a shorter `max-age` but never under `min`.
fn next_fetch_in(
    max_age: Option<std::time::Duration>,
    min: std::time::Duration,
    refresh: std::time::Duration,
) -> std::time::Duration {
    max_age.map_or(refresh, |age| age.clamp(min, refresh))
}

/// The keys of a JWKS document, or why it is refused (never a key).
fn parse(document: &[u8], max_keys: usize) -> Result<KeyMap, String> {
    /// Only the size of the `keys` array, read before any key is.
    #[derive(Deserialize)]
    struct Count {
        keys: Vec<serde::de::IgnoredAny>,
    }
    // serde_json's messages quote the values they trip on, which may be key
    // material: only the kind of error and where it is are said.
    let not_a_jwks = |e: serde_json::Error| {
        format!(
            "the document is not a JWKS (`{{\"keys\": [...]}}`): {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        )
    };
    let count: Count = serde_json::from_slice(document).map_err(not_a_jwks)?;
    if count.keys.is_empty() {
        return Err("the document holds no key".to_owned());
    }
    if count.keys.len() > max_keys {
        return Err(format!(
            "the document holds {} keys, more than the {max_keys} taken",
            count.keys.len()
        ));
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(document).map_err(not_a_jwks)?;
    let mut keys = KeyMap::new();
    super::jwk_set_keys(&set, &mut keys).map_err(|e| e.to_string())?;
    Ok(keys)
}

/// `path`'s bytes, at most `limit` of them.
fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Bytes, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("the document is larger than {limit} bytes"));
    }
    Ok(Bytes::from(bytes))
}

/// The `max-age` of a `Cache-Control` value, if it has a valid one.
fn max_age(value: &[u8]) -> Option<std::time::Duration> {
    let value = std::str::from_utf8(value).ok()?;
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        let seconds: u64 = seconds.trim().trim_matches('"').parse().ok()?;
        Some(std::time::Duration::from_secs(seconds))
    })
}

/// A duration in nanoseconds, saturating.
fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(feature = "metrics")]
fn count_refresh(outcome: &'static str) {
    metrics::describe_counter!(
        "pr_http_jwks_refresh_total",
        "JWKS fetches by outcome (replaced, unchanged, failed)."
    );
    metrics::counter!("pr_http_jwks_refresh_total", "outcome" => outcome).increment(1);
}

#[cfg(not(feature = "metrics"))]
fn count_refresh(_outcome: &'static str) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_shown_without_their_query() {
        let (base, path, shown) =
            split_url("https://id.example:8443/tenant/keys?api-key=secret").unwrap();
        assert_eq!(base, "https://id.example:8443");
        assert_eq!(path, "/tenant/keys?api-key=secret");
        assert_eq!(shown, "https://id.example:8443/tenant/keys");
        assert_eq!(split_url("http://127.0.0.1").unwrap().1, "/");
        for bad in [
            "id.example/keys",
            "ftp://id.example/keys",
            "https://user:pw@id.example/keys",
            "https://id.example/keys#x",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(max_age(b"public, max-age=120"), Some(secs(120)));
        assert_eq!(max_age(b"Max-Age=\"60\", must-revalidate"), Some(secs(60)));
        assert_eq!(max_age(b"no-store"), None);
        assert_eq!(max_age(b"max-age=soon"), None);
        assert_eq!(max_age(b"s-maxage=10"), None);
    }

    #[test]
    fn max_age_brings_the_next_fetch_forward_within_bounds() {
        let secs = std::time::Duration::from_secs;
        let (min, refresh) = (secs(30), secs(300));
        assert_eq!(next_fetch_in(None, min, refresh), refresh);
        assert_eq!(next_fetch_in(Some(secs(120)), min, refresh), secs(120));
        assert_eq!(next_fetch_in(Some(secs(0)), min, refresh), min);
        assert_eq!(next_fetch_in(Some(secs(86_400)), min, refresh), refresh);
    }

    #[test]
    fn every_config_problem_is_reported_at_its_key() {
        let config: JwksConfig = serde_json::from_value(serde_json::json!({
            "url": "https://user:hunter2@id.example/keys",
            "refresh_interval": "10s",
            "min_refresh_interval": "1m",
            "timeout": 0,
            "max_document": "1GiB",
            "max_keys": 0,
        }))
        .unwrap();
        let problems = pr_core::validate::check(&config).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "url",
                "timeout",
                "min_refresh_interval",
                "max_document",
                "max_keys"
            ]
        );
        assert!(!pr_core::validate::join(&problems).contains("hunter2"));
        let neither = pr_core::validate::check(&JwksConfig::default()).unwrap_err();
        assert_eq!(neither[0].key, "url");
        let both = JwksConfig {
            url: "https://id.example/keys".to_owned(),
            file: Some("/etc/jwks.json".into()),
            ..JwksConfig::default()
        };
        assert_eq!(pr_core::validate::check(&both).unwrap_err()[0].key, "file");
    }

    /// Why `parse` refuses `document`.
    fn refused(document: &[u8], max_keys: usize) -> String {
        match parse(document, max_keys) {
            Ok(keys) => panic!("{} keys accepted", keys.len()),
            Err(problem) => problem,
        }
    }

    #[test]
    fn documents_are_refused_when_empty_too_many_or_not_a_jwks() {
        assert!(refused(br#"{"keys": []}"#, 4).contains("no key"));
        assert!(refused(b"[1, 2]", 4).contains("not a JWKS"));
        // A value where an array belongs may be a secret: it is not quoted.
        let wrong = refused(br#"{"keys": "hunter2"}"#, 4);
        assert!(wrong.contains("line 1 column 18"), "{wrong}");
        assert!(!wrong.contains("hunter2"), "{wrong}");
        let many = format!(r#"{{"keys": [{}]}}"#, ["{}"; 5].join(","));
        assert!(refused(many.as_bytes(), 4).contains("5 keys"));
    }
}
