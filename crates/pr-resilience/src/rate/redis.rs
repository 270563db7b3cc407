//! Distributed limiters on Redis: GCRA and the approximate sliding window,
//! each one atomic Lua script that reads the server's clock (`TIME`), so
//! every machine shares one limit whatever its own clock says.
//!
//! A small local circuit breaker guards the store: after
//! `breaker_failures` consecutive errors it stops calling Redis for
//! `breaker_cooldown`, then lets one probe through. While Redis is
//! unreachable (an error, or the breaker open) the [`FailurePolicy`](crate::rate::FailurePolicy)
//! decides: admit everything (fail open) or refuse everything (fail closed,
//! [`Error::LimiterUnavailable`]). The crate's full
//! [`CircuitBreaker`](crate::breaker::CircuitBreaker) is not used here on purpose:
//! this one needs no configuration and costs one atomic load per call.
//!
//! The connection is redis' `ConnectionManager`, made on the first call
//! (lazily: building a limiter needs no server, nor a runtime): when the
//! server goes away it reconnects in the background with an exponential
//! back-off from 100 ms capped at `reconnect_max_delay`, and a request
//! that finds the last reconnection failed starts another, so a restarted
//! server is used again without restarting the process. Once the local
//! breaker opens the manager is dropped, so the probe after the cooldown
//! connects at once instead of waiting out a back-off. Each call is
//! bounded by `timeout` as a whole, reconnection included. The health
//! check (feature `health`) pings the server through the same connection.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{KeyedRateLimiter, Quota};
use crate::Error;
use pr_core::sync::lock;
use pr_core::time::Clock;

/// The GCRA script: `KEYS[1]` the key; `ARGV` interval and capacity in
/// microseconds, permits, take (1) or peek (0). Answers `{1, 0}` or
/// `{0, wait in microseconds}`.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + n * interval
local ahead = nxt - now
if ahead > capacity then
  return {0, math.ceil(ahead - capacity)}
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil(ahead / 1000) + 1000)
end
return {1, 0}
";

/// The approximate sliding window: `KEYS[1]` the key (counters live at
/// `key:<window index>`); `ARGV` window in microseconds, limit, permits,
/// take. Answers as [`GCRA`].
const WINDOW: &str = r"
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local idx = math.floor(now / window)
local start = idx * window
local ckey = KEYS[1] .. ':' .. string.format('%d', idx)
local cur = tonumber(redis.call('GET', ckey) or '0')
local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. string.format('%d', idx - 1)) or '0')
local elapsed = now - start
if prev * (window - elapsed) + (cur + n) * window <= limit * window then
  if ARGV[4] == '1' then
    redis.call('INCRBY', ckey, n)
    redis.call('PEXPIRE', ckey, math.ceil(2 * window / 1000) + 1000)
  end
  return {1, 0}
end
local at
if cur + n <= limit and prev > 0 then
  at = start + window - math.floor((limit - cur - n) * window / prev)
else
  local c = cur
  if c < 1 then c = 1 end
  at = start + window + window - math.min(math.floor((limit - n) * window / c), window)
end
return {0, math.ceil(at - now)}
";

/// Which algorithm a [`RedisLimiter`](crate::rate::RedisLimiter) runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisAlgorithm {
    /// GCRA: the quota's rate with its burst (one key per limited key).
    Gcra,
    /// The approximate sliding window: the quota's permits per period (two
    /// counters per limited key).
    SlidingWindow,
}

/// What a [`RedisLimiter`](crate::rate::RedisLimiter) answers while Redis is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Admit every call (availability over the limit).
    FailOpen,
    /// Refuse every call with [`Error::LimiterUnavailable`] (the limit over
    /// availability).
    FailClosed,
}

/// A rate limiter whose state lives in Redis, shared by every process that
/// uses the same key prefix.
///
/// Keys are `<prefix><key>` (GCRA) or `<prefix><key>:<window>` (sliding
/// window); put a `{hash tag}` in the prefix or key for Redis Cluster.
/// Clones share the connection and the breaker.
///
/// # Examples
///
/// ```no_run
/// use pr_resilience::rate::{FailurePolicy, Quota, RedisAlgorithm, RedisLimiter};
///
/// # async fn run() -> Result<(), pr_resilience::Error> {
/// let limiter = RedisLimiter::builder("redis://127.0.0.1:6379/", Quota::per_second(100))
///     .algorithm(RedisAlgorithm::Gcra)
///     .prefix("rl:api:")
///     .on_failure(FailurePolicy::FailOpen)
///     .build()?;
/// limiter.check_key("client-42").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("name", &self.inner.name)
            .field("quota", &self.inner.quota)
            .field("algorithm", &self.inner.algorithm)
            .finish_non_exhaustive()
    }
}

struct Inner {
    name: String,
    client: redis::Client,
    /// Made on the first call, then kept: it reconnects by itself.
    connection: Mutex<Option<ConnectionManager>>,
    reconnect_max_delay: Duration,
    script: redis::Script,
    args: [f64; 2],
    quota: Quota,
    burst: u32,
    algorithm: RedisAlgorithm,
    prefix: String,
    policy: FailurePolicy,
    timeout: Duration,
    breaker: Breaker,
}

/// Builds a [`RedisLimiter`](crate::rate::RedisLimiter); made by [`RedisLimiter::builder`](crate::rate::RedisLimiter::builder).
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisLimiterBuilder {
    url: String,
    quota: Quota,
    name: String,
    algorithm: RedisAlgorithm,
    prefix: String,
    policy: FailurePolicy,
    timeout: Duration,
    breaker_failures: u32,
    breaker_cooldown: Duration,
    reconnect_max_delay: Duration,
    clock: Clock,
}

/// Leaves the URL out: it may carry a password.
impl std::fmt::Debug for RedisLimiterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiterBuilder")
            .field("name", &self.name)
            .field("quota", &self.quota)
            .field("algorithm", &self.algorithm)
            .field("prefix", &self.prefix)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RedisLimiterBuilder {
    /// The limiter's name, in errors and events (default `redis`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The algorithm (default GCRA).
    pub fn algorithm(mut self, algorithm: RedisAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Prefix of every Redis key (default `pr:rl:`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// What to answer while Redis is unreachable (default fail open).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Connect and response timeout of each call (default 100 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Consecutive failures that open the local breaker (default 3), and
    /// how long it stays open before a probe (default 1 s).
    pub fn breaker(mut self, failures: u32, cooldown: Duration) -> Self {
        self.breaker_failures = failures;
        self.breaker_cooldown = cooldown;
        self
    }

    /// The longest wait between two reconnection attempts after the server
    /// went away (default 2 s): the attempts back off exponentially from
    /// 100 ms up to it, so a restarted server is back in use within about
    /// this long.
    pub fn reconnect_max_delay(mut self, max: Duration) -> Self {
        self.reconnect_max_delay = max;
        self
    }

    /// The clock of the breaker's cooldown (default [`Clock::system`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the limiter; it connects on its first call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for an invalid quota, URL or setting.
    pub fn build(self) -> Result<RedisLimiter, Error> {
        let nanos = self.quota.nanos()?;
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            Error::invalid("redis.url", format!("not a Redis URL ({:?})", e.kind()))
        })?;
        if self.breaker_failures == 0 || self.timeout.is_zero() {
            return Err(Error::invalid(
                "redis.breaker",
                "breaker failures and timeout must be greater than 0",
            ));
        }
        if self.reconnect_max_delay < Duration::from_millis(100) {
            return Err(Error::invalid(
                "redis.reconnect_max_delay",
                format!(
                    "must be at least 100ms (the first back-off), got {:?}",
                    self.reconnect_max_delay
                ),
            ));
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "microseconds as Lua numbers: exact below 2^53 (285 years)"
        )]
        let args = match self.algorithm {
            RedisAlgorithm::Gcra => [nanos.interval as f64 / 1e3, nanos.capacity as f64 / 1e3],
            RedisAlgorithm::SlidingWindow => {
                [nanos.period as f64 / 1e3, f64::from(self.quota.permits())]
            }
        };
        let script = redis::Script::new(match self.algorithm {
            RedisAlgorithm::Gcra => GCRA,
            RedisAlgorithm::SlidingWindow => WINDOW,
        });
        Ok(RedisLimiter {
            inner: Arc::new(Inner {
                name: self.name,
                client,
                connection: Mutex::new(None),
                reconnect_max_delay: self.reconnect_max_delay,
                script,
                args,
                quota: self.quota,
                burst: match self.algorithm {
                    RedisAlgorithm::Gcra => self.quota.burst(),
                    RedisAlgorithm::SlidingWindow => self.quota.permits(),
                },
                algorithm: self.algorithm,
                prefix: self.prefix,
                policy: self.policy,
                timeout: self.timeout,
                breaker: Breaker {
                    failures: AtomicU32::new(0),
                    open_until: AtomicU64::new(0),
                    threshold: self.breaker_failures,
                    cooldown: u64::try_from(self.breaker_cooldown.as_nanos()).unwrap_or(u64::MAX),
                    clock: self.clock,
                },
            }),
        })
    }
}

/// Consecutive failures open it for a cooldown; then one probe decides.
struct Breaker {
    failures: AtomicU32,
    /// Clock time (ns) until which it is open; 0 when closed.
    open_until: AtomicU64,
    threshold: u32,
    cooldown: u64,
    clock: Clock,
}

impl Breaker {
    /// `None` when calls may go to Redis, else the wait until a probe.
    fn refuses(&self) -> Option<Duration> {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return None;
        }
        let now = self.clock.now_nanos();
        if now >= until {
            // Half-open: the first caller probes, others wait a cooldown.
            let next = now.saturating_add(self.cooldown);
            return match self.open_until.compare_exchange(
                until,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => None,
                Err(_) => Some(Duration::from_nanos(self.cooldown)),
            };
        }
        Some(Duration::from_nanos(until - now))
    }

    fn success(&self) {
        self.failures.store(0, Ordering::Release);
        if self.open_until.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!(name: "pr_resilience.ratelimit.redis_recovered", event = "pr_resilience.ratelimit.redis_recovered", "redis limiter store reachable again");
        }
    }

    /// Counts a failure; `true` when the breaker is open after it.
    fn failure(&self) -> bool {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if failures >= self.threshold {
            let until = self.clock.now_nanos().saturating_add(self.cooldown).max(1);
            if self.open_until.swap(until, Ordering::AcqRel) == 0 {
                tracing::warn!(
                    name: "pr_resilience.ratelimit.redis_breaker_open",
                    event = "pr_resilience.ratelimit.redis_breaker_open",
                    failures,
                    "redis limiter store unreachable; breaker open"
                );
            }
            return true;
        }
        false
    }
}

impl RedisLimiter {
    /// A builder for a limiter on the Redis at `url` with `quota`.
    pub fn builder(url: impl Into<String>, quota: Quota) -> RedisLimiterBuilder {
        RedisLimiterBuilder {
            url: url.into(),
            quota,
            name: "redis".into(),
            algorithm: RedisAlgorithm::Gcra,
            prefix: "pr:rl:".into(),
            policy: FailurePolicy::FailOpen,
            timeout: Duration::from_millis(100),
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(1),
            reconnect_max_delay: Duration::from_secs(2),
            clock: Clock::default(),
        }
    }

    /// The quota of every key.
    #[must_use]
    pub fn quota(&self) -> Quota {
        self.inner.quota
    }

    /// Whether the local breaker is open (Redis is not being called).
    #[must_use]
    pub fn breaker_open(&self) -> bool {
        self.inner.breaker.open_until.load(Ordering::Acquire) != 0
    }

    /// Takes one permit for `key`.
    ///
    /// # Errors
    ///
    /// [`Error::RateLimited`] with the wait until a permit;
    /// [`Error::LimiterUnavailable`] when Redis is unreachable and the
    /// limiter fails closed.
    pub async fn check_key(&self, key: &str) -> Result<(), Error> {
        self.run(key, 1, true).await
    }

    /// Takes `n` permits for `key`, or none.
    ///
    /// # Errors
    ///
    /// As [`check_key`](Self::check_key), and [`Error::ExceedsBurst`] when
    /// `n` is more than the burst.
    pub async fn check_key_n(&self, key: &str, n: u32) -> Result<(), Error> {
        self.run(key, n, true).await
    }

    /// Whether `key` would get a permit now, without taking it.
    ///
    /// # Errors
    ///
    /// As [`check_key`](Self::check_key).
    pub async fn peek_key(&self, key: &str) -> Result<(), Error> {
        self.run(key, 1, false).await
    }

    async fn run(&self, key: &str, n: u32, take: bool) -> Result<(), Error> {
        let inner = &*self.inner;
        if n > inner.burst {
            return Err(Error::ExceedsBurst {
                requested: n,
                burst: inner.burst,
            });
        }
        if let Some(wait) = inner.breaker.refuses() {
            return self.unreachable("breaker open", wait);
        }
        match self.call(key, n, take).await {
            Ok((1, _)) => {
                inner.breaker.success();
                Ok(())
            }
            Ok((_, wait_us)) => {
                inner.breaker.success();
                Err(Error::RateLimited {
                    retry_after: Duration::from_micros(wait_us.max(1)),
                })
            }
            Err(e) => {
                if inner.breaker.failure() {
                    self.forget_connection();
                }
                let reason = format!("{:?}", e.kind());
                tracing::debug!(name: "pr_resilience.ratelimit.redis_error", event = "pr_resilience.ratelimit.redis_error", limiter = %inner.name, %reason, "redis limiter call failed");
                self.unreachable(&reason, Duration::from_nanos(inner.breaker.cooldown))
            }
        }
    }

    fn unreachable(&self, reason: &str, retry_after: Duration) -> Result<(), Error> {
        match self.inner.policy {
            FailurePolicy::FailOpen => Ok(()),
            FailurePolicy::FailClosed => Err(Error::LimiterUnavailable {
                name: self.inner.name.clone(),
                reason: reason.to_owned(),
                retry_after,
            }),
        }
    }

    /// The connection manager, made on the first call (inside the runtime
    /// that will drive its reconnections).
    fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let inner = &*self.inner;
        let mut slot = lock(&inner.connection);
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(inner.timeout))
            .set_response_timeout(Some(inner.timeout))
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(inner.reconnect_max_delay);
        let connection = ConnectionManager::new_lazy_with_config(inner.client.clone(), config)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Drops the connection manager once the breaker opens: the probe after
    /// the cooldown then connects at once on a fresh one, instead of
    /// waiting out the old one's reconnection back-off. While the breaker
    /// is closed the manager is kept, and reconnects by itself after a
    /// blip.
    fn forget_connection(&self) {
        *lock(&self.inner.connection) = None;
    }

    /// Runs `command` on the connection, bounded by the timeout as a whole
    /// (a request may wait for a reconnection under way).
    async fn bounded<T>(
        &self,
        command: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<T> {
        let mut connection = self.connection()?;
        match tokio::time::timeout(self.inner.timeout, command(&mut connection)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(redis::RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            ))),
        }
    }

    async fn call(&self, key: &str, n: u32, take: bool) -> redis::RedisResult<(i64, u64)> {
        let inner = &*self.inner;
        let mut full_key = String::with_capacity(inner.prefix.len() + key.len());
        full_key.push_str(&inner.prefix);
        full_key.push_str(key);
        let mut invocation = inner.script.key(full_key);
        invocation
            .arg(inner.args[0])
            .arg(inner.args[1])
            .arg(n)
            .arg(u8::from(take));
        self.bounded(async |connection| invocation.invoke_async(connection).await)
            .await
    }

    /// Whether the server answers a `PING` now.
    #[cfg(feature = "health")]
    async fn ping(&self) -> redis::RedisResult<()> {
        self.bounded(async |connection| {
            redis::cmd("PING")
                .query_async::<String>(connection)
                .await
                .map(drop)
        })
        .await
    }

    /// This limiter's store as a health check named
    /// `redis_limiter:<name>`: `Degraded` while Redis does not answer a
    /// `PING` (the limiter then fails open or closed as configured) or the
    /// local breaker is still open, else `Up`. It pings on each run,
    /// through the limiter's own connection, so it sees a recovery without
    /// waiting for traffic.
    #[cfg(feature = "health")]
    #[must_use = "a check does nothing until it is added to a registry"]
    pub fn health_check(&self) -> RedisLimiterCheck {
        RedisLimiterCheck {
            name: format!("redis_limiter:{}", self.inner.name),
            limiter: self.clone(),
        }
    }
}

/// The health of a [`RedisLimiter`](crate::rate::RedisLimiter)'s store; made by
/// [`RedisLimiter::health_check`](crate::rate::RedisLimiter::health_check).
#[cfg(feature = "health")]
#[derive(Clone, Debug)]
pub struct RedisLimiterCheck {
    name: String,
    limiter: RedisLimiter,
}

#[cfg(feature = "health")]
impl pr_health::Check for RedisLimiterCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> pr_health::CheckFuture<'_> {
        Box::pin(async move {
            let policy = match self.limiter.inner.policy {
                FailurePolicy::FailOpen => "failing open",
                FailurePolicy::FailClosed => "failing closed",
            };
            let ping = self.limiter.ping().await;
            if ping.is_err() && self.limiter.breaker_open() {
                // As in a call: no stale back-off for the next probe.
                self.limiter.forget_connection();
            }
            match ping {
                Err(e) => pr_health::Outcome::degraded(format!(
                    "redis unreachable ({:?}); the limiter is {policy}",
                    e.kind()
                )),
                Ok(()) if self.limiter.breaker_open() => pr_health::Outcome::degraded(format!(
                    "redis answers again; the limiter's breaker is open until its next probe \
                     (meanwhile {policy})"
                )),
                Ok(()) => pr_health::Outcome::up().with_message("redis answers"),
            }
        })
    }
}

impl KeyedRateLimiter<str> for RedisLimiter {
    fn acquire(&self, key: &str, n: u32) -> impl Future<Output = Result<(), Error>> + Send {
        self.check_key_n(key, n)
    }
}

impl KeyedRateLimiter<String> for RedisLimiter {
    fn acquire(&self, key: &String, n: u32) -> impl Future<Output = Result<(), Error>> + Send {
        self.check_key_n(key, n)
    }
}
