//! Redis (feature `redis`): a [`Tier`] storing values with a TTL, and an
//! [`Invalidation`] bus over pub/sub so that every node's memory tier drops
//! a key invalidated anywhere.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;

use crate::error::Error;
use crate::tier::{Invalidated, Invalidation, InvalidationHandler, Tier, TierFuture};

fn redis_error(op: &'static str, e: redis::RedisError) -> Error {
    Error::Redis {
        op,
        source: Box::new(e),
    }
}

/// A pub/sub connection subscribed to `channel` (confirmed by the server).
async fn subscribe(client: &redis::Client, channel: &str) -> Result<redis::aio::PubSub, Error> {
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .map_err(|e| redis_error("connect pubsub", e))?;
    pubsub
        .subscribe(channel)
        .await
        .map_err(|e| redis_error("SUBSCRIBE", e))?;
    Ok(pubsub)
}

async fn connect(url: &str) -> Result<(redis::Client, MultiplexedConnection), Error> {
    let client = redis::Client::open(url).map_err(|e| redis_error("open", e))?;
    let conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| redis_error("connect", e))?;
    Ok((client, conn))
}

/// A Redis tier: values under `<prefix><key>`, with `PX` expiry when the
/// tiered cache has a TTL. One multiplexed connection, shared by clones.
///
/// Values are whatever bytes the [`TieredCache`](crate::TieredCache) hands
/// it (serde JSON).
#[derive(Clone)]
pub struct RedisTier {
    conn: MultiplexedConnection,
    prefix: String,
}

impl fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTier")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisTier {
    /// Connects to `url` (`redis://host:port/db`; a password in it is never
    /// logged); keys are stored under `prefix`.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, Error> {
        let (_, conn) = connect(url).await?;
        Ok(Self {
            conn,
            prefix: prefix.into(),
        })
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
            let mut conn = self.conn.clone();
            conn.get(self.key(key))
                .await
                .map_err(|e| redis_error("GET", e))
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> TierFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let key = self.key(key);
            match ttl {
                Some(ttl) => {
                    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                    conn.pset_ex::<_, _, ()>(key, value, ms).await
                }
                None => conn.set::<_, _, ()>(key, value).await,
            }
            .map_err(|e| redis_error("SET", e))
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            conn.del::<_, ()>(self.key(key))
                .await
                .map_err(|e| redis_error("DEL", e))
        })
    }

    /// Unlinks every key under the prefix, found with `SCAN` (which does not
    /// block the server the way `KEYS` does).
    fn clear(&self) -> TierFuture<'_, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let pattern = format!("{}*", escape_glob(&self.prefix));
            let keys: Vec<String> = {
                let mut scan = conn
                    .scan_match::<_, String>(pattern)
                    .await
                    .map_err(|e| redis_error("SCAN", e))?;
                let mut keys = Vec::new();
                while let Some(key) = scan.next_item().await {
                    keys.push(key.map_err(|e| redis_error("SCAN", e))?);
                }
                keys
            };
            for batch in keys.chunks(512) {
                conn.unlink::<_, ()>(batch)
                    .await
                    .map_err(|e| redis_error("UNLINK", e))?;
            }
            Ok(())
        })
    }

    fn is_shared(&self) -> bool {
        true
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
/// again (50 ms to 5 s apart, logging `cache.redis.resubscribe_failed` until
/// it succeeds, then `cache.redis.invalidation_resubscribed`).
pub struct RedisInvalidation {
    conn: MultiplexedConnection,
    channel: String,
    node: u64,
    handlers: Arc<Mutex<Vec<InvalidationHandler>>>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for RedisInvalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisInvalidation")
            .field("channel", &self.channel)
            .field("node", &self.node)
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
    /// Connects to `url` and subscribes to `channel`. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when the server cannot be reached or the
    /// subscription fails.
    pub async fn connect(url: &str, channel: impl Into<String>) -> Result<Self, Error> {
        let channel = channel.into();
        let (client, conn) = connect(url).await?;
        let pubsub = subscribe(&client, &channel).await?;
        let node = node_id();
        let name = channel.clone();
        let handlers: Arc<Mutex<Vec<InvalidationHandler>>> = Arc::default();
        let listeners = Arc::clone(&handlers);
        let task = tokio::spawn(async move {
            let me = format!("{node:016x}");
            let notify = |what: Invalidated| {
                let current: Vec<InvalidationHandler> = listeners
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                async move {
                    for handler in current {
                        handler(what.clone()).await;
                    }
                }
            };
            let mut messages = pubsub.into_on_message();
            loop {
                while let Some(msg) = messages.next().await {
                    let Ok(payload) = msg.get_payload::<String>() else {
                        continue;
                    };
                    let Some((from, key)) = payload.split_once(' ') else {
                        continue;
                    };
                    if from != me {
                        notify(Invalidated::Key(key.to_owned())).await;
                    }
                }
                // The connection ended: subscribe again, backing off from
                // 50 ms to 5 s between attempts, until the bus is dropped.
                tracing::warn!(target: "pr_cache", channel = %name, "cache.redis.invalidation_disconnected");
                let mut delay = Duration::from_millis(50);
                messages = loop {
                    tokio::time::sleep(delay).await;
                    match subscribe(&client, &name).await {
                        Ok(pubsub) => break pubsub.into_on_message(),
                        Err(e) => {
                            tracing::warn!(target: "pr_cache", channel = %name, error = %e, "cache.redis.resubscribe_failed");
                            delay = (delay * 2).min(Duration::from_secs(5));
                        }
                    }
                };
                tracing::info!(target: "pr_cache", channel = %name, "cache.redis.invalidation_resubscribed");
                // What was sent meanwhile is lost: every local copy is suspect.
                notify(Invalidated::All).await;
            }
        });
        Ok(Self {
            conn,
            channel,
            node,
            handlers,
            task,
        })
    }
}

impl Invalidation for RedisInvalidation {
    fn publish<'a>(&'a self, key: &'a str) -> TierFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let payload = format!("{:016x} {key}", self.node);
            conn.publish::<_, _, ()>(&self.channel, payload)
                .await
                .map_err(|e| redis_error("PUBLISH", e))
        })
    }

    fn subscribe(&self, handler: InvalidationHandler) {
        self.handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handler);
    }
}
