//! The demo service: `cargo run --example service` from the repository root.
//!
//! On embedded defaults, with no external server:
//!
//! - an HTTP API on 127.0.0.1:8080: `GET /quote/{symbol}` calls a simulated
//!   flaky dependency (random latency and failures), caches the answers
//!   (bounded in entries and bytes), and limits each client's rate (the
//!   client being the peer address, or `X-Forwarded-For` from a trusted
//!   proxy); a symbol over `api.max_symbol_len` is answered 414, one
//!   outside `A-Z a-z 0-9 . _ -` 400; `?fail=true` and `?delay_ms=N` work
//!   only with `dependency.test_knobs = true`;
//! - JSON logs to stdout and to a rotated file, `data/logs/service.log`;
//! - the ops server on 127.0.0.1:9464 (`/health/ready`, `/metrics`,
//!   `/loggers`, `/info`, `/status`);
//! - graceful shutdown on SIGTERM / Ctrl-C: readiness off at once, new
//!   requests refused, in-flight requests drained within
//!   `shutdown.drain_timeout`, exit code 0 when they were (1 when they were
//!   not, or when the API server failed; 2 for a bad setting); SIGHUP
//!   reloads the configuration.
//!
//! Settings come from, lowest first: the defaults below, `service.toml` in
//! the working directory (or the file `APP_CONFIG_FILE` names), and
//! `APP__<SECTION>__<KEY>` environment variables (`APP__API__ADDR`,
//! `APP__OPS__ADDR`, `APP__DEPENDENCY__FAILURE_RATE`,
//! `APP__LOGGING__FILTER`, ...). `docs/deploy/README.md` lists them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pr_cache::MemoryCache;
use pr_facade::app::{App, AppConfig, HttpLimits, OpsConfig, Sections, ShutdownConfig};
use pr_facade::config::{ByteSize, Validate, Validator};
use pr_facade::errors::{CodedError, Problem};
use pr_facade::health::HealthConfig;
use pr_facade::logging::{Every, FileConfig, LoggingConfig};
use pr_facade::metrics::MetricsConfig;
use pr_facade::resources::ResourcesConfig;
use pr_resilience::CallError;
use pr_resilience::breaker::{BreakerCheck, CircuitBreaker, SlidingWindow};
use pr_resilience::dlq::{DeadLetter, Dlq, DlqConfig};
use pr_resilience::pipeline::Pipeline;
use pr_resilience::rate::{KeyedLimiter, Quota};
use pr_resilience::retry::{Backoff, Jitter, Retry, Transient};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// The demo's configuration: the toolkit's sections, and its own.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Logging: JSON to stdout and to a rotated file.
    logging: LoggingConfig,
    /// The metrics registry behind `/metrics`.
    metrics: MetricsConfig,
    /// Health checks and probes.
    health: HealthConfig,
    /// Resource sampling.
    resources: ResourcesConfig,
    /// The ops server (127.0.0.1:9464).
    ops: OpsConfig,
    /// Graceful shutdown.
    shutdown: ShutdownConfig,
    /// The public API.
    api: ApiConfig,
    /// The simulated downstream dependency.
    dependency: DependencyConfig,
    /// The cache of quotes.
    cache: CacheConfig,
    /// The per-client rate limit of the API.
    rate_limit: RateLimitConfig,
    /// The dead-letter queue of quotes that failed after every retry.
    dlq: DlqConfig,
}

impl Default for Config {
    fn default() -> Self {
        let mut logging = LoggingConfig::default();
        let mut file = FileConfig::new("data/logs/service.log");
        file.rotation.max_size = Some(ByteSize::mib(10));
        file.rotation.every = Every::Daily;
        file.retention.max_files = Some(5);
        logging.files.push(file);
        let mut shutdown = ShutdownConfig::default();
        shutdown.drain_timeout = pr_facade::config::Duration::from_secs(10);
        Self {
            logging,
            metrics: MetricsConfig::default(),
            health: HealthConfig::default(),
            resources: ResourcesConfig::default(),
            ops: OpsConfig::default(),
            shutdown,
            api: ApiConfig::default(),
            dependency: DependencyConfig::default(),
            cache: CacheConfig::default(),
            rate_limit: RateLimitConfig::default(),
            dlq: DlqConfig::new("data/dlq"),
        }
    }
}

impl AppConfig for Config {
    fn sections(&self) -> Sections<'_> {
        Sections {
            logging: &self.logging,
            metrics: &self.metrics,
            health: &self.health,
            resources: &self.resources,
            ops: &self.ops,
            shutdown: &self.shutdown,
        }
    }
}

impl Validate for Config {
    fn validate(&self, v: &mut Validator) {
        self.sections().validate(v);
        v.nested("api", &self.api);
        v.nested("dependency", &self.dependency);
        v.nested("cache", &self.cache);
        v.nested("rate_limit", &self.rate_limit);
        // The queue's own checks, before anything starts (not when it opens).
        v.nested("dlq", &self.dlq);
    }
}

/// The cache of quotes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct CacheConfig {
    /// Most quotes kept.
    max_entries: u64,
    /// Most bytes the quotes take (keys and values, as pr-cache weighs
    /// them): the bound that holds when clients choose the symbols. 32 MiB
    /// by default, well inside the shipped 256Mi pod limit.
    max_size: ByteSize,
    /// How long a quote is served from the cache.
    ttl: pr_facade::config::Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_size: ByteSize::mib(32),
            ttl: pr_facade::config::Duration::from_secs(5),
        }
    }
}

impl Validate for CacheConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(self.max_entries > 0, "max_entries", "must be at least 1");
        v.check(
            self.max_size.as_u64() > 0,
            "max_size",
            "must be at least 1B",
        );
        v.check(
            !self.ttl.as_std().is_zero(),
            "ttl",
            "must be greater than 0",
        );
    }
}

/// The public API.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct ApiConfig {
    /// Where the API listens.
    addr: SocketAddr,
    /// The most a request may ask to be slowed down by (`?delay_ms=`).
    max_delay: pr_facade::config::Duration,
    /// The longest symbol accepted, in bytes (1 to 8192; a symbol is ASCII,
    /// so also in characters): a longer one is answered 414 before it
    /// reaches the cache, the limiter or the logs.
    max_symbol_len: usize,
    /// The listener's defences: connection cap (unset: 1,024, lowered to
    /// fit the open-files limit), header-read and idle timeouts, head and
    /// HTTP/2 limits.
    limits: HttpLimits,
}

/// The most `api.max_symbol_len` may be.
const SYMBOL_BYTES_CEILING: usize = 8192;

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            max_delay: pr_facade::config::Duration::from_secs(10),
            max_symbol_len: 32,
            limits: HttpLimits::default(),
        }
    }
}

impl Validate for ApiConfig {
    fn validate(&self, v: &mut Validator) {
        v.range(
            "max_symbol_len",
            &self.max_symbol_len,
            &(1..=SYMBOL_BYTES_CEILING),
        );
        v.nested("limits", &self.limits);
    }
}

/// The simulated dependency: each call takes a random time between
/// `min_latency` and `max_latency` and fails with `failure_rate`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct DependencyConfig {
    /// Share of calls that fail, from 0 to 1.
    failure_rate: f64,
    /// Shortest call.
    min_latency: pr_facade::config::Duration,
    /// Longest call.
    max_latency: pr_facade::config::Duration,
    /// Whether a request may ask for a failure (`?fail=true`) or a delay
    /// (`?delay_ms=N`): knobs for demos and tests. Off by default, so that
    /// no client of a deployed service can turn them; a request that uses
    /// them while off is answered 400 `demo.test_knobs_disabled`.
    test_knobs: bool,
}

impl Default for DependencyConfig {
    fn default() -> Self {
        Self {
            failure_rate: 0.2,
            min_latency: pr_facade::config::Duration::from_millis(2),
            max_latency: pr_facade::config::Duration::from_millis(40),
            test_knobs: false,
        }
    }
}

impl Validate for DependencyConfig {
    fn validate(&self, v: &mut Validator) {
        v.range("failure_rate", &self.failure_rate, &(0.0..=1.0));
        v.check(
            self.min_latency.as_std() <= self.max_latency.as_std(),
            "min_latency",
            "must not exceed max_latency",
        );
    }
}

// ---------------------------------------------------------------------------
// The simulated flaky dependency
// ---------------------------------------------------------------------------

/// A downstream service that is slow and fails at random.
struct Dependency {
    config: DependencyConfig,
    rng: AtomicU64,
}

/// Why a call to the dependency failed.
#[derive(Debug)]
enum DependencyError {
    /// The dependency failed (at random, or because the request asked).
    Failed,
}

impl std::fmt::Display for DependencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the quotes dependency failed")
    }
}

impl std::error::Error for DependencyError {}

pr_facade::errors::codes! {
    /// The demo's own codes.
    #[allow(dead_code, reason = "a catalogue of the demo's codes; the variants use each code")]
    static CODES;

    /// The quotes dependency failed; worth retrying.
    DEPENDENCY_FAILED = "demo.dependency_failed", BAD_GATEWAY, transient;
    /// The symbol is longer than `api.max_symbol_len`.
    SYMBOL_TOO_LONG = "demo.symbol_too_long", URI_TOO_LONG, permanent;
    /// The symbol has a character outside `A-Z a-z 0-9 . _ -`.
    INVALID_SYMBOL = "demo.invalid_symbol", BAD_REQUEST, permanent;
    /// `?fail` or `?delay_ms` was asked while `dependency.test_knobs` is off.
    TEST_KNOBS_DISABLED = "demo.test_knobs_disabled", BAD_REQUEST, permanent;
}

impl CodedError for DependencyError {
    fn info(&self) -> &'static pr_facade::errors::CodeInfo {
        match self {
            Self::Failed => &DEPENDENCY_FAILED,
        }
    }
}

// ---------------------------------------------------------------------------
// The standard resilience pipeline around the dependency
// ---------------------------------------------------------------------------

/// .NET's standard pipeline (total timeout → retry → circuit breaker →
/// attempt timeout), tuned for a dependency that answers in milliseconds.
fn pipeline() -> Result<Pipeline<Transient>, pr_resilience::Error> {
    Pipeline::standard("quotes")
        .total_timeout(Some(Duration::from_secs(2)))
        .attempt_timeout(Some(Duration::from_millis(500)))
        .retry(
            Retry::builder()
                .name("quotes")
                .backoff(Backoff::Exponential {
                    base: Duration::from_millis(10),
                    factor: 2.0,
                })
                .jitter(Jitter::Equal)
                .max_retries(2)
                .build()?,
        )
        .breaker(
            CircuitBreaker::builder("quotes")
                .sliding_window(SlidingWindow::Count(50))
                .failure_rate_threshold(50.0)
                .minimum_calls(20)
                .wait_in_open(Duration::from_secs(5)),
        )
        .build()
}

impl Dependency {
    fn new(config: DependencyConfig) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        Self {
            config,
            rng: AtomicU64::new(seed | 1),
        }
    }

    /// A random number in [0, 1) (xorshift; good enough for a simulation).
    fn random(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One call: the price of `symbol`, or a failure.
    async fn quote(&self, symbol: &str, fail: bool) -> Result<f64, DependencyError> {
        let (min, max) = (
            self.config.min_latency.as_std(),
            self.config.max_latency.as_std(),
        );
        tokio::time::sleep(min + (max - min).mul_f64(self.random())).await;
        if fail || self.random() < self.config.failure_rate {
            metrics::counter!("demo_dependency_calls_total", "outcome" => "failure").increment(1);
            return Err(DependencyError::Failed);
        }
        metrics::counter!("demo_dependency_calls_total", "outcome" => "success").increment(1);
        let cents = symbol
            .bytes()
            .fold(1_000u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
        Ok((cents % 100_000) as f64 / 100.0)
    }
}

// ---------------------------------------------------------------------------
// Per-client rate limiting (one piece, kept apart)
// ---------------------------------------------------------------------------

/// Who is calling, for the rate limit: the peer's IP address; or, when the
/// peer is one of `trusted_proxies`, the client address those proxies put
/// in `X-Forwarded-For` (the right-most entry that is not itself a trusted
/// proxy). Never a header that any client sets: a client that rotates
/// `X-Forwarded-For` (or any other header) past an untrusted peer is still
/// the same peer. A malformed header falls back to the peer.
fn client_ip(headers: &HeaderMap, peer: SocketAddr, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    // Every X-Forwarded-For line, in order; entries from right (nearest) to left.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            return peer;
        };
        let ip = ip.to_canonical();
        client = ip;
        if !trusted_proxies.contains(&ip) {
            break;
        }
    }
    client
}

/// The per-client rate limit: a GCRA quota per client IP address, in a keyed
/// limiter with bounded memory (pr-resilience's `KeyedLimiter`: at most
/// `max_clients` keys, and a key is an address, so its bytes are bounded too).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RateLimitConfig {
    /// Requests per second each client may make, sustained.
    per_second: u32,
    /// Requests a client may make at once after a pause.
    burst: u32,
    /// Most clients remembered (the least active are forgotten first).
    max_clients: usize,
    /// The reverse proxies (load balancers, ingress) whose `X-Forwarded-For`
    /// header names the client. Empty by default: the client is the peer
    /// address, and `X-Forwarded-For` is ignored. List only proxies that
    /// overwrite or append to the header; any other peer could name itself
    /// anyone.
    trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_second: 20,
            burst: 40,
            max_clients: 10_000,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Validate for RateLimitConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(self.per_second > 0, "per_second", "must be at least 1");
        v.check(self.burst > 0, "burst", "must be at least 1");
        v.check(self.max_clients > 0, "max_clients", "must be at least 1");
    }
}

/// One limiter for every client.
fn client_limiter(config: &RateLimitConfig) -> Result<KeyedLimiter<IpAddr>, pr_resilience::Error> {
    KeyedLimiter::builder(Quota::per_second(config.per_second).with_burst(config.burst))
        .max_keys(config.max_clients)
        .build()
}

/// Per-client admission: `Err(retry_after)` when the client is over its rate.
fn admit(limiter: &KeyedLimiter<IpAddr>, client: IpAddr) -> Result<(), Duration> {
    limiter
        .check_key(&client)
        .map_err(|denied| denied.retry_after().unwrap_or(Duration::from_secs(1)))
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

struct Api {
    dependency: Dependency,
    pipeline: Pipeline<Transient>,
    cache: MemoryCache<String, f64>,
    clients: KeyedLimiter<IpAddr>,
    trusted_proxies: Vec<IpAddr>,
    dead_letters: Dlq<String>,
    max_delay: Duration,
    max_symbol_len: usize,
    test_knobs: bool,
}

/// The test knobs of `GET /quote/{symbol}`, honoured only when
/// `dependency.test_knobs` is on.
#[derive(Debug, Deserialize)]
struct QuoteQuery {
    /// Slows the request down by this much before calling (drain demos).
    delay_ms: Option<u64>,
    /// Makes the dependency fail this time.
    fail: Option<bool>,
}

/// A problem-details answer for a coded error.
fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = Problem::new(status)
        .with_title(code)
        .with_detail(detail)
        .to_json();
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response()
}

async fn quote(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(symbol): Path<String>,
    Query(query): Query<QuoteQuery>,
) -> Response {
    let client = client_ip(&headers, peer, &api.trusted_proxies);
    if let Err(retry_after) = admit(&api.clients, client) {
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            pr_resilience::codes::RATE_LIMITED.code.as_str(),
            "too many requests from this client",
        );
        if let Ok(value) = retry_after.as_secs().max(1).to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if let Some(refused) = refuse_symbol(&symbol, api.max_symbol_len) {
        return refused;
    }
    if !api.test_knobs && (query.delay_ms.is_some() || query.fail.is_some()) {
        return problem(
            StatusCode::BAD_REQUEST,
            TEST_KNOBS_DISABLED.code.as_str(),
            "the fail and delay_ms parameters are off (dependency.test_knobs = false)",
        );
    }
    let (delay_ms, fail) = (query.delay_ms.unwrap_or(0), query.fail.unwrap_or(false));
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms).min(api.max_delay)).await;
    }
    // A forced failure skips the cache, so that it always reaches the dependency.
    if !fail && let Some(price) = api.cache.get(&symbol) {
        return quote_json(&symbol, price, "cache");
    }
    let call = || api.dependency.quote(&symbol, fail);
    let answer = if fail {
        api.pipeline.run(call).await
    } else {
        api.cache
            .try_get_or_insert_with(symbol.clone(), || api.pipeline.run(call))
            .await
            .map_err(|shared| match &*shared {
                CallError::Inner(DependencyError::Failed) => {
                    CallError::Inner(DependencyError::Failed)
                }
                CallError::Rejected(e) => CallError::Rejected(e.clone()),
            })
    };
    match answer {
        Ok(price) => quote_json(&symbol, price, "dependency"),
        Err(e) => {
            tracing::warn!(event = "demo.quote_failed", symbol = %symbol, error = %e, "quote failed");
            // A quote the dependency refused after every retry is kept for a
            // later replay (not one the service's own policies refused).
            let mut not_recorded = None;
            if let CallError::Inner(inner) = &e
                && let Err(dlq) = api
                    .dead_letters
                    .push(&DeadLetter::new(symbol.clone(), inner))
            {
                tracing::error!(event = "demo.dead_letter_lost", symbol = %symbol, error = %dlq, "dead letter not kept");
                not_recorded = Some(dlq.code());
            }
            let code: &(dyn CodedError + 'static) = match &e {
                CallError::Inner(inner) => inner,
                CallError::Rejected(rejected) => rejected,
            };
            let status = code.status();
            // Durability tells the truth: the client learns that the failed
            // quote was not kept for replay.
            let detail = match not_recorded {
                Some(dlq) => format!(
                    "{e}; the failed quote was NOT recorded for replay (dead-letter queue: {dlq})"
                ),
                None => e.to_string(),
            };
            let mut response = problem(
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                code.code().as_str(),
                &detail,
            );
            if let Some(after) = code.retry().retry_after()
                && let Ok(value) = after.as_secs().max(1).to_string().parse()
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// The answer to a symbol the API does not accept (`None` for one it
/// does: 1 to `max_len` bytes of `A-Z a-z 0-9 . _ -`). The answer names
/// what is wrong, never the symbol itself.
fn refuse_symbol(symbol: &str, max_len: usize) -> Option<Response> {
    if symbol.len() > max_len {
        return Some(problem(
            StatusCode::URI_TOO_LONG,
            SYMBOL_TOO_LONG.code.as_str(),
            &format!(
                "the symbol is {} bytes long; the most accepted is {max_len} (api.max_symbol_len)",
                symbol.len()
            ),
        ));
    }
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if symbol.is_empty() || !symbol.bytes().all(safe) {
        return Some(problem(
            StatusCode::BAD_REQUEST,
            INVALID_SYMBOL.code.as_str(),
            "the symbol must be 1 or more of the characters A-Z a-z 0-9 . _ -",
        ));
    }
    None
}

fn quote_json(symbol: &str, price: f64, source: &str) -> Response {
    axum::Json(serde_json::json!({ "symbol": symbol, "price": price, "source": source }))
        .into_response()
}

async fn index() -> &'static str {
    "pr demo service\n\nGET /quote/{symbol}   a quote from a flaky dependency \
     (?fail=true and ?delay_ms=N when dependency.test_knobs is on)\n"
}

/// Records the request metrics. (The app's API server refuses requests
/// once draining and counts the others as in-flight work.)
async fn track(request: Request, next: Next) -> Response {
    let route = if request.uri().path().starts_with("/quote/") {
        "/quote/{symbol}"
    } else {
        "other"
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_server_requests_total", "route" => route, "status" => status)
        .increment(1);
    metrics::histogram!("http_server_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/quote/{symbol}", get(quote))
        .layer(middleware::from_fn(track))
        .with_state(api)
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

/// The breaker as a health check (degraded while it refuses calls), the breaker and cache
/// in `/status`; the cache's metrics published every second.
fn contribute<C: AppConfig>(
    app: &App<C>,
    pipeline: &Pipeline<Transient>,
    cache: &MemoryCache<String, f64>,
    clients: &KeyedLimiter<IpAddr>,
    dead_letters: &Dlq<String>,
) -> Result<(), pr_facade::app::Error> {
    if let Err(e) = app.health().add(dead_letters.health_check()) {
        tracing::warn!(event = "demo.check_not_added", error = %e, "dead-letter check not added");
    }
    let dlq = dead_letters.clone();
    app.status_board().add("dlq", move || {
        let s = dlq.snapshot();
        serde_json::json!({ "quotes": {
            "records": s.records, "bytes": s.bytes, "segments": s.segments, "full": s.full,
        }})
    })?;
    let limiter = clients.clone();
    app.status_board().add("limiters", move || {
        let quota = limiter.quota();
        serde_json::json!({ "clients": {
            "keys": limiter.len(), "max_keys": limiter.max_keys(),
            "permits": quota.permits(), "period_seconds": quota.period().as_secs_f64(),
            "burst": quota.burst(),
        }})
    })?;
    if let Some(breaker) = pipeline.breaker() {
        if let Err(e) = app.health().add(BreakerCheck::new(breaker.clone())) {
            tracing::warn!(event = "demo.check_not_added", error = %e, "breaker check not added");
        }
        let breaker = breaker.clone();
        app.status_board().add("breakers", move || {
            let s = breaker.snapshot();
            serde_json::json!({ breaker.name(): {
                "state": s.state.as_str(), "calls": s.calls, "failures": s.failures,
                "slow_calls": s.slow_calls, "reopens": s.reopens,
            }})
        })?;
    }
    let stats = cache.clone();
    app.status_board().add("caches", move || {
        let s = stats.snapshot().unwrap_or_default();
        serde_json::json!({ stats.name(): {
            "entries": stats.entry_count(), "bytes": stats.weighted_size(), "hits": s.hits, "misses": s.misses,
            "hit_ratio": if s.requests() == 0 { 0.0 } else { s.hits as f64 / s.requests() as f64 },
            "load_successes": s.load_successes, "load_failures": s.load_failures,
        }})
    })?;
    let publish = cache.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            publish.publish_metrics();
        }
    });
    Ok(())
}

/// HELP text of the demo's own metrics.
fn describe_metrics<C: AppConfig>(app: &App<C>) {
    use pr_facade::metrics::MetricKind::{Counter, Histogram};
    for (name, kind, unit, help) in [
        (
            "http_server_requests_total",
            Counter,
            None,
            "API requests answered, by route and status.",
        ),
        (
            "http_server_request_duration_seconds",
            Histogram,
            Some(metrics::Unit::Seconds),
            "Time to answer an API request.",
        ),
        (
            "demo_dependency_calls_total",
            Counter,
            None,
            "Calls to the simulated dependency, by outcome.",
        ),
    ] {
        if let Err(e) = app.metrics().describe(name, kind, unit, help) {
            tracing::warn!(event = "demo.describe_failed", metric = name, error = %e, "metric not described");
        }
    }
}

#[expect(clippy::print_stderr, reason = "the demo tells its user where to look")]
fn banner(api: SocketAddr, ops: Option<SocketAddr>, log_file: Option<&PathBuf>, knobs: bool) {
    eprintln!("pr demo service is running (Ctrl-C to stop)");
    eprintln!("  curl -s http://{api}/quote/ACME");
    if knobs {
        eprintln!("  curl -s 'http://{api}/quote/ACME?fail=true'");
    }
    if let Some(ops) = ops {
        eprintln!("  curl -s http://{ops}/health/ready");
        eprintln!("  curl -s http://{ops}/metrics");
        eprintln!("  curl -s http://{ops}/status");
        eprintln!("  curl -s http://{ops}/info");
        eprintln!("  curl -s http://{ops}/loggers");
    }
    if let Some(file) = log_file {
        eprintln!("  tail -f {}", file.display());
    }
}

#[expect(clippy::print_stderr, reason = "logging is not up when setup fails")]
fn fail(what: &str, error: &(dyn CodedError + 'static)) -> ExitCode {
    eprintln!(
        "error [{}]: {what}: {}",
        error.code(),
        pr_facade::errors::chain(error)
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut builder = App::builder("pr-demo")
        .with_config::<Config>()
        .version(env!("CARGO_PKG_VERSION"))
        .build_info(
            "profile",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        )
        .build_info("target", std::env::consts::ARCH)
        // The API listener is bound with the ops one, before the service
        // goes ready; a busy port stops the start (exit 2, on stderr).
        .api(|config: &Config| (config.api.addr, config.api.limits.clone()));
    builder = match std::env::var_os("APP_CONFIG_FILE") {
        Some(file) => builder.config_file(file),
        None => builder.optional_config_file("service.toml"),
    };
    let app = match builder.build().await {
        Ok(app) => app,
        Err(e) => return fail("the service could not start", &e),
    };
    let config = app.config();
    describe_metrics(&app);

    let pipeline = match pipeline() {
        Ok(pipeline) => pipeline,
        Err(e) => return fail("the resilience pipeline is invalid", &e),
    };
    let cache = match MemoryCache::builder()
        .name("quotes")
        .max_entries(config.cache.max_entries)
        .max_bytes(config.cache.max_size.as_u64())
        .time_to_live(config.cache.ttl.as_std())
        .record_stats()
        .build()
    {
        Ok(cache) => cache,
        Err(e) => return fail("the cache is invalid", &e),
    };
    let clients = match client_limiter(&config.rate_limit) {
        Ok(limiter) => limiter,
        Err(e) => return fail("the rate limit is invalid", &e),
    };
    let dead_letters = match Dlq::open(config.dlq.clone()) {
        Ok(dlq) => dlq,
        Err(e) => return fail("the dead-letter queue cannot be opened", &e),
    };
    if let Err(e) = contribute(&app, &pipeline, &cache, &clients, &dead_letters) {
        return fail("the status sections could not be added", &e);
    }
    let api = Arc::new(Api {
        dependency: Dependency::new(config.dependency.clone()),
        pipeline,
        cache,
        clients,
        trusted_proxies: config.rate_limit.trusted_proxies.clone(),
        dead_letters,
        max_delay: config.api.max_delay.as_std(),
        max_symbol_len: config.api.max_symbol_len,
        test_knobs: config.dependency.test_knobs,
    });
    let api_addr = app.api_addr().unwrap_or(config.api.addr);
    banner(
        api_addr,
        app.ops_addr(),
        config.logging.files.first().map(|f| &f.path),
        config.dependency.test_knobs,
    );
    let exit = app.serve(router(api)).await;
    exit.into()
}
