//! Redis (feature `redis`): a [`Tier`] storing values with a TTL, and an
//! [`Invalidation`] bus over pub/sub so that every node's memory tier drops
//! a key invalidated anywhere.
//!
//! # Reconnecting
//!
//! Commands go through redis' [`ConnectionManager`], which replaces a dead
//! connection, wrapped in a [`Link`] that keeps the connection's state:
//!
//! - A command that fails because the connection is gone (broken pipe,
//!   refused, reset, timed out) marks the link *down*. While it is down,
//!   commands fail at once with [`Error::Redis`] instead of each waiting on
//!   a connection attempt (a cache miss must stay cheap during an outage),
//!   and one background task probes the server with `PING`, first after
//!   [`RedisReconnect::min_delay`], then twice as long after each
//!   failure, up to [`RedisReconnect::max_delay`]: Redis is noticed back
//!   at most that long after it is. The manager itself makes one connection
//!   attempt per request of ours (no retry loop of its own), so the probe's
//!   schedule is the only back-off.
//! - When a probe succeeds, the link calls its handlers with
//!   [`Invalidated::All`] (a [`TieredCache`](crate::TieredCache) drops its
//!   memory and local tiers: invalidations may have been missed while Redis
//!   was away), awaits them, and only then is *up* again.
//! - An outage is noticed by the first command or health check that fails;
//!   a link nobody uses stays up in its own view.
//!
//! The pub/sub subscriber of [`RedisInvalidation`] has its own connection
//! (a subscribed connection takes no other commands); it notices the end of
//! its stream at once and subscribes again on the same back-off.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use pr_core::validate::{Validate, Validator};
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

#[cfg(feature = "health")]
mod health;

#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(all(feature = "health", feature = "redis"))))]
pub use health::RedisCheck;

use crate::error::Error;
use crate::tier::{Invalidated, Invalidation, InvalidationHandler, Tier, TierFuture};

fn redis_error(op: &'static str, e: redis::RedisError) -> Error {
    Error::Redis {
        op,
        source: Box::new(e),
    }
}

/// How the Redis clients of this crate ([`RedisTier`], [`RedisInvalidation`])
/// reconnect and how long they wait. `Default` is safe in production: probes
/// 50 ms to 5 s apart, 1 s to connect, 1 s for an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisReconnect {
    /// From losing the connection to the first attempt to get it back
    /// (`"50ms"`; a plain number is seconds); each failed attempt doubles
    /// the wait.
    pub min_delay: pr_core::units::Duration,
    /// The longest wait between two attempts (`"5s"`; a plain number is
    /// seconds): the bound on how long after Redis is back a client
    /// notices.
    pub max_delay: pr_core::units::Duration,
    /// How long one connection attempt may take (`"1s"`; a plain number is
    /// seconds).
    pub connect_timeout: pr_core::units::Duration,
    /// How long a command may wait for its answer (`"1s"`; a plain number
    /// is seconds): a server that stopped answering without closing the
    /// connection fails commands after this, and the client reconnects.
    pub response_timeout: pr_core::units::Duration,
}

impl Default for RedisReconnect {
    fn default() -> Self {
        Self {
            min_delay: pr_core::units::Duration::from_millis(50),
            max_delay: pr_core::units::Duration::from_secs(5),
            connect_timeout: pr_core::units::Duration::from_secs(1),
            response_timeout: pr_core::units::Duration::from_secs(1),
        }
    }
}

/// Every problem at once, each at its key (`min_delay`, `max_delay`); no
/// message repeats a value.
impl Validate for RedisReconnect {
    fn validate(&self, v: &mut Validator) {
        for (key, value) in [
            ("min_delay", self.min_delay),
            ("max_delay", self.max_delay),
            ("connect_timeout", self.connect_timeout),
            ("response_timeout", self.response_timeout),
        ] {
            v.check(!value.as_std().is_zero(), key, "must be greater than 0");
        }
        v.check(
            self.max_delay >= self.min_delay,
            "max_delay",
            "must be at least `min_delay`",
        );
    }
}

impl RedisReconnect {
    fn min_delay(&self) -> Duration {
        self.min_delay.as_std()
    }

    fn max_delay(&self) -> Duration {
        self.max_delay.as_std()
    }

    fn connect_timeout(&self) -> Duration {
        self.connect_timeout.as_std()
    }

    /// The wait after `delay` failed: doubled, at most the maximum.
    fn next_delay(&self, delay: Duration) -> Duration {
        delay.saturating_mul(2).min(self.max_delay())
    }
}

/// Whether `e` means the connection is gone (as opposed to a command the
/// server refused).
fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
}

/// A [`ConnectionManager`] with the state of its connection: see the
/// module's notes.
pub(crate) struct Link {
    manager: ConnectionManager,
    /// `tier` or `bus`, and the prefix or channel: for logs.
    kind: &'static str,
    name: String,
    reconnect: RedisReconnect,
    down: AtomicBool,
    /// Why the last command or probe failed, while down.
    last_error: Mutex<Option<String>>,
    reconnects: AtomicU64,
    handlers: Mutex<Vec<InvalidationHandler>>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("up", &self.is_up())
            .field("reconnects", &self.reconnects.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Link {
    async fn connect(
        url: &str,
        kind: &'static str,
        name: String,
        reconnect: &RedisReconnect,
    ) -> Result<(redis::Client, Arc<Self>), Error> {
        pr_core::validate::check(reconnect)
            .map_err(|problems| Error::InvalidConfig { problems })?;
        let client = redis::Client::open(url).map_err(|e| redis_error("open", e))?;
        let config = ConnectionManagerConfig::new()
            // One attempt per request: the link's probe is the back-off.
            .set_number_of_retries(0)
            .set_connection_timeout(Some(reconnect.connect_timeout()))
            .set_response_timeout(Some(reconnect.response_timeout.as_std()));
        let manager = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| redis_error("connect", e))?;
        let link = Arc::new(Self {
            manager,
            kind,
            name,
            reconnect: reconnect.clone(),
            down: AtomicBool::new(false),
            last_error: Mutex::new(None),
            reconnects: AtomicU64::new(0),
            handlers: Mutex::new(Vec::new()),
        });
        Ok((client, link))
    }

    pub(crate) fn is_up(&self) -> bool {
        !self.down.load(Ordering::SeqCst)
    }

    #[cfg(feature = "health")]
    pub(crate) fn last_error(&self) -> Option<String> {
        pr_core::sync::lock(&self.last_error).clone()
    }

    /// Runs a command, failing at once while the link is down, and marking
    /// it down when the connection turns out to be gone.
    async fn run<T, F, Fut>(self: &Arc<Self>, op: &'static str, command: F) -> Result<T, Error>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            return Err(Error::Redis {
                op,
                source: "not connected to redis; reconnecting in the background".into(),
            });
        }
        command(self.manager.clone()).await.map_err(|e| {
            if is_connection_error(&e) {
                self.mark_down(&e);
            }
            redis_error(op, e)
        })
    }

    /// `PING`, through the manager: `Ok` when Redis answers.
    async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.manager.clone();
        let first = redis::cmd("PING").query_async::<()>(&mut conn).await;
        match first {
            // The manager started a fresh connection attempt when it saw the
            // old one dead: the second PING waits for that attempt.
            Err(e) if is_connection_error(&e) => {
                redis::cmd("PING").query_async::<()>(&mut conn).await
            }
            done => done,
        }
    }

    /// Checks the connection now (the health check): `PING` while up,
    /// marking the link down when it fails; while down, the background probe
    /// decides and this only reports.
    #[cfg(feature = "health")]
    pub(crate) async fn check(self: &Arc<Self>) -> bool {
        if !self.is_up() {
            return false;
        }
        let mut conn = self.manager.clone();
        match redis::cmd("PING").query_async::<()>(&mut conn).await {
            Ok(()) => true,
            Err(e) => {
                // Any failure of a PING says the server is not usable.
                self.mark_down(&e);
                false
            }
        }
    }

    fn mark_down(self: &Arc<Self>, e: &redis::RedisError) {
        *pr_core::sync::lock(&self.last_error) = Some(e.to_string());
        if self.down.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::warn!(target: "pr_cache", event = "cache.redis.disconnected", client = self.kind, name = %self.name, error = %e, "redis connection lost; reconnecting");
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Only reachable from a command run outside tokio, which the
            // manager does not support either; stay down rather than panic.
            return;
        };
        runtime.spawn(Self::probe_until_up(Arc::downgrade(self)));
    }

    /// Probes on the back-off until Redis answers or the link is dropped,
    /// then tells the handlers that invalidations may have been missed and
    /// marks the link up.
    async fn probe_until_up(link: Weak<Self>) {
        let Some(mut delay) = link.upgrade().map(|l| l.reconnect.min_delay()) else {
            return;
        };
        loop {
            tokio::time::sleep(delay).await;
            let Some(link) = link.upgrade() else {
                return;
            };
            match link.ping().await {
                Ok(()) => {
                    link.reconnects.fetch_add(1, Ordering::SeqCst);
                    tracing::info!(target: "pr_cache", event = "cache.redis.reconnected", client = link.kind, name = %link.name, "redis connection restored");
                    let handlers = pr_core::sync::lock(&link.handlers).clone();
                    for handler in handlers {
                        handler(Invalidated::All).await;
                    }
                    *pr_core::sync::lock(&link.last_error) = None;
                    link.down.store(false, Ordering::SeqCst);
                    return;
                }
                Err(e) => {
                    tracing::debug!(target: "pr_cache", event = "cache.redis.reconnect_failed", client = link.kind, name = %link.name, error = %e, "redis reconnect attempt failed");
                    *pr_core::sync::lock(&link.last_error) = Some(e.to_string());
                    delay = link.reconnect.next_delay(delay);
                }
            }
        }
    }

    fn subscribe(&self, handler: InvalidationHandler) {
        pr_core::sync::lock(&self.handlers).push(handler);
    }
}

/// A pub/sub connection subscribed to `channel` (confirmed by the server),
/// within the connect and response timeouts.
async fn subscribe(
    client: &redis::Client,
    channel: &str,
    reconnect: &RedisReconnect,
) -> Result<redis::aio::PubSub, Error> {
    let limit = reconnect.connect_timeout() + reconnect.response_timeout.as_std();
    let attempt = async {
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| redis_error("connect pubsub", e))?;
        pubsub
            .subscribe(channel)
            .await
            .map_err(|e| redis_error("SUBSCRIBE", e))?;
        Ok(pubsub)
    };
    tokio::time::timeout(limit, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Redis {
                op: "SUBSCRIBE",
                source: "no answer within the connect and response timeouts".into(),
            })
        })
}

/// A Redis tier: values under `<prefix><key>`, with `PX` expiry when the
/// tiered cache has a TTL. One reconnecting connection, shared by clones.
///
/// Values are whatever bytes the [`TieredCache`](crate::TieredCache) hands
/// it (serde JSON).
///
/// After Redis restarts or the connection drops, the tier reconnects on a
/// bounded back-off ([`RedisReconnect`]); meanwhile its commands fail at
/// once (a [`TieredCache`](crate::TieredCache) reads that as a miss). When
/// the connection is back, a [`TieredCache`](crate::TieredCache) built on it
/// empties its memory and local tiers before the tier takes commands again:
/// invalidations may have been missed during the outage. It logs
/// `cache.redis.disconnected` and `cache.redis.reconnected` (and
/// `cache.redis.reconnect_failed` at debug level per failed attempt).
#[derive(Clone)]
pub struct RedisTier {
    link: Arc<Link>,
    prefix: String,
}

impl fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTier")
            .field("prefix", &self.prefix)
            .field("connected", &self.link.is_up())
            .finish_non_exhaustive()
    }
}

impl RedisTier {
    /// Connects to `url` (`redis://host:port/db`; a password in it is never
    /// logged); keys are stored under `prefix`. Reconnects with
    /// [`RedisReconnect::default`]. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, Error> {
        Self::connect_with(url, prefix, &RedisReconnect::default()).await
    }

    /// [`connect`](Self::connect) with its reconnection settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `reconnect` is invalid, [`Error::Redis`]
    /// when the URL is invalid or the server cannot be reached.
    pub async fn connect_with(
        url: &str,
        prefix: impl Into<String>,
        reconnect: &RedisReconnect,
    ) -> Result<Self, Error> {
        let prefix = prefix.into();
        let (_, link) = Link::connect(url, "tier", prefix.clone(), reconnect).await?;
        Ok(Self { link, prefix })
    }

    /// Whether the tier's connection works, as far as it knows: `false`
    /// from a command or check that found it gone until a probe reaches
    /// Redis again.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.link.is_up()
    }

    /// How many times the connection came back after an outage.
    #[must_use]
    pub fn reconnects(&self) -> u64 {
        self.link.reconnects.load(Ordering::SeqCst)
    }

    /// A health check of this tier's connection (feature `health`):
    /// `Degraded` while Redis is unreachable, `Up` once it is back.
    #[cfg(feature = "health")]
    #[cfg_attr(docsrs, doc(cfg(feature = "health")))]
    #[must_use]
    pub fn health_check(&self) -> RedisCheck {
        RedisCheck::tier(format!("cache:redis:{}", self.prefix), &self.link)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl Tier for RedisTier {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn get<'a>(&'a self, key: &'a str) -> TierFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let key = self.key(key);
            self.link
                .run("GET", |mut conn| async move { conn.get(key).await })
                .await
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> TierFuture<'a, ()> {
        Box::pin(async move {
            let key = self.key(key);
            self.link
                .run("SET", |mut conn| async move {
                    match ttl {
                        Some(ttl) => {
                            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                            conn.pset_ex::<_, _, ()>(key, value, ms).await
                        }
                        None => conn.set::<_, _, ()>(key, value).await,
                    }
                })
                .await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()> {
        Box::pin(async move {
            let key = self.key(key);
            self.link
                .run(
                    "DEL",
                    |mut conn| async move { conn.del::<_, ()>(key).await },
                )
                .await
        })
    }

    /// Unlinks every key under the prefix, found with `SCAN` (which does not
    /// block the server the way `KEYS` does).
    fn clear(&self) -> TierFuture<'_, ()> {
        Box::pin(async move {
            let pattern = format!("{}*", escape_glob(&self.prefix));
            let keys: Vec<String> = self
                .link
                .run("SCAN", |mut conn| async move {
                    let mut scan = conn.scan_match::<_, String>(pattern).await?;
                    let mut keys = Vec::new();
                    while let Some(key) = scan.next_item().await {
                        keys.push(key?);
                    }
                    Ok(keys)
                })
                .await?;
            for batch in keys.chunks(512) {
                self.link
                    .run("UNLINK", |mut conn| async move {
                        conn.unlink::<_, ()>(batch).await
                    })
                    .await?;
            }
            Ok(())
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    /// The handler hears [`Invalidated::All`] each time the connection comes
    /// back after an outage, before the tier takes commands again.
    fn subscribe_invalidations(&self, handler: InvalidationHandler) {
        self.link.subscribe(handler);
    }
}

/// Invalidation over Redis pub/sub: [`publish`](Invalidation::publish)
/// sends `<node id> <key>` on a channel, and a task subscribed to it hands
/// each key another node sent to the handlers (a
/// [`TieredCache`](crate::TieredCache) built with this bus drops the key
/// from its memory tier and its local tiers). The task stops when the bus is
/// dropped.
///
/// The subscription is confirmed before [`connect`](Self::connect) returns.
/// Messages sent while a node is disconnected are lost (Redis pub/sub keeps
/// nothing), so once it has subscribed again the bus tells its handlers
/// [`Invalidated::All`]: a [`TieredCache`](crate::TieredCache) then empties
/// its memory tier and its local tiers, and reads through to Redis afresh.
/// When the subscription's connection ends,
/// `cache.redis.invalidation_disconnected` is logged and the task subscribes
/// again on the [`RedisReconnect`] back-off (by default 50 ms to 5 s apart),
/// logging `cache.redis.resubscribe_failed` until it succeeds, then
/// `cache.redis.invalidation_resubscribed`. Publishing goes through its own
/// reconnecting connection, as [`RedisTier`]'s commands do: while it is
/// down, [`publish`](Invalidation::publish) fails at once.
pub struct RedisInvalidation {
    link: Arc<Link>,
    channel: String,
    node: u64,
    handlers: Arc<Mutex<Vec<InvalidationHandler>>>,
    subscribed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for RedisInvalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisInvalidation")
            .field("channel", &self.channel)
            .field("node", &self.node)
            .field("subscribed", &self.subscribed.load(Ordering::SeqCst))
            .field("publishing", &self.link.is_up())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisInvalidation {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `text` with Redis glob's special characters escaped.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A node id: unique enough among the nodes on one channel.
fn node_id() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(0)
    });
    let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ SEQ.fetch_add(1, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

impl RedisInvalidation {
    /// Connects to `url` and subscribes to `channel`, reconnecting with
    /// [`RedisReconnect::default`]. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when the server cannot be reached or the
    /// subscription fails.
    pub async fn connect(url: &str, channel: impl Into<String>) -> Result<Self, Error> {
        Self::connect_with(url, channel, &RedisReconnect::default()).await
    }

    /// [`connect`](Self::connect) with its reconnection settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `reconnect` is invalid, [`Error::Redis`]
    /// when the server cannot be reached or the subscription fails.
    pub async fn connect_with(
        url: &str,
        channel: impl Into<String>,
        reconnect: &RedisReconnect,
    ) -> Result<Self, Error> {
        let channel = channel.into();
        let (client, link) = Link::connect(url, "bus", channel.clone(), reconnect).await?;
        let pubsub = subscribe(&client, &channel, reconnect).await?;
        let node = node_id();
        let handlers: Arc<Mutex<Vec<InvalidationHandler>>> = Arc::default();
        let subscribed = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(listen(
            Listener {
                client,
                channel: channel.clone(),
                me: format!("{node:016x}"),
                handlers: Arc::clone(&handlers),
                subscribed: Arc::clone(&subscribed),
                reconnect: reconnect.clone(),
            },
            pubsub,
        ));
        Ok(Self {
            link,
            channel,
            node,
            handlers,
            subscribed,
            task,
        })
    }

    /// Whether the bus is subscribed and its publishing connection works, as
    /// far as it knows.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst) && self.link.is_up()
    }

    /// A health check of the bus (feature `health`): `Degraded` while its
    /// subscription or its publishing connection is down, `Up` once both
    /// are back.
    #[cfg(feature = "health")]
    #[cfg_attr(docsrs, doc(cfg(feature = "health")))]
    #[must_use]
    pub fn health_check(&self) -> RedisCheck {
        RedisCheck::bus(
            format!("cache:redis-bus:{}", self.channel),
            &self.link,
            &self.subscribed,
        )
    }
}

/// What the subscriber task owns.
struct Listener {
    client: redis::Client,
    channel: String,
    me: String,
    handlers: Arc<Mutex<Vec<InvalidationHandler>>>,
    subscribed: Arc<AtomicBool>,
    reconnect: RedisReconnect,
}

impl Listener {
    async fn notify(&self, what: Invalidated) {
        let current: Vec<InvalidationHandler> = pr_core::sync::lock(&self.handlers).clone();
        for handler in current {
            handler(what.clone()).await;
        }
    }
}

/// The subscriber: hands on other nodes' keys; when the connection ends,
/// subscribes again on the back-off and then tells the handlers
/// [`Invalidated::All`].
async fn listen(this: Listener, pubsub: redis::aio::PubSub) {
    let mut messages = pubsub.into_on_message();
    loop {
        while let Some(msg) = messages.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            let Some((from, key)) = payload.split_once(' ') else {
                continue;
            };
            if from != this.me {
                this.notify(Invalidated::Key(key.to_owned())).await;
            }
        }
        // The connection ended: subscribe again on the back-off, until the
        // bus is dropped (which aborts this task).
        this.subscribed.store(false, Ordering::SeqCst);
        tracing::warn!(target: "pr_cache", event = "cache.redis.invalidation_disconnected", channel = %this.channel, "redis invalidation subscription lost; resubscribing");
        let mut delay = this.reconnect.min_delay();
        messages = loop {
            tokio::time::sleep(delay).await;
            match subscribe(&this.client, &this.channel, &this.reconnect).await {
                Ok(pubsub) => break pubsub.into_on_message(),
                Err(e) => {
                    tracing::warn!(target: "pr_cache", event = "cache.redis.resubscribe_failed", channel = %this.channel, error = %e, "redis invalidation resubscribe failed");
                    delay = this.reconnect.next_delay(delay);
                }
            }
        };
        tracing::info!(target: "pr_cache", event = "cache.redis.invalidation_resubscribed", channel = %this.channel, "redis invalidation subscription restored");
        // What was sent meanwhile is lost: every local copy is suspect.
        this.notify(Invalidated::All).await;
        this.subscribed.store(true, Ordering::SeqCst);
    }
}

impl Invalidation for RedisInvalidation {
    fn publish<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()> {
        Box::pin(async move {
            let payload = format!("{:016x} {key}", self.node);
            let channel = &self.channel;
            self.link
                .run("PUBLISH", |mut conn| async move {
                    conn.publish::<_, _, ()>(channel, payload).await
                })
                .await
        })
    }

    fn subscribe(&self, handler: InvalidationHandler) {
        pr_core::sync::lock(&self.handlers).push(handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_core::units::Duration as Units;
    use pr_core::validate::check;

    #[test]
    fn the_back_off_doubles_up_to_its_bound_and_settings_are_checked() {
        let reconnect = RedisReconnect::default();
        assert!(check(&reconnect).is_ok());
        let mut delay = reconnect.min_delay();
        let mut seen = vec![delay];
        for _ in 0..12 {
            delay = reconnect.next_delay(delay);
            seen.push(delay);
        }
        assert_eq!(seen[1], Duration::from_millis(100));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(seen.last(), Some(&Duration::from_secs(5)));

        let bad = RedisReconnect {
            min_delay: Units::from_secs(0),
            max_delay: Units::from_secs(0),
            connect_timeout: Units::from_secs(0),
            response_timeout: Units::from_millis(10),
        };
        let problems = check(&bad).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["min_delay", "max_delay", "connect_timeout"],
            "{problems:?}"
        );
        let inverted = RedisReconnect {
            min_delay: Units::from_millis(100),
            max_delay: Units::from_millis(10),
            ..RedisReconnect::default()
        };
        let problems = check(&inverted).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "max_delay: must be at least `min_delay`",
            "{problems:?}"
        );
    }

    #[test]
    fn units_are_read_and_the_millisecond_keys_are_unknown() {
        // The `_ms` keys went before 0.1: unknown now.
        let err = serde_json::from_str::<RedisReconnect>(r#"{"min_delay_ms":50}"#).unwrap_err();
        assert!(err.to_string().contains("min_delay_ms"), "{err}");
        let reconnect: RedisReconnect = serde_json::from_str(
            r#"{"min_delay":"250ms","max_delay":"1m30s","connect_timeout":2}"#,
        )
        .unwrap();
        assert_eq!(reconnect.min_delay(), Duration::from_millis(250));
        assert_eq!(reconnect.max_delay(), Duration::from_secs(90));
        assert_eq!(reconnect.connect_timeout(), Duration::from_secs(2));
    }
}
