//! pr-health checks (feature `health`): the file cache's directory, and
//! each Redis client's connection (with feature `redis`).

use std::sync::atomic::{AtomicU64, Ordering};

use pr_health::{Check, CheckFuture, Group, Outcome};

use crate::file::FileCache;

/// Whether a [`FileCache`]'s directory still takes writes: each run writes,
/// syncs and removes a small probe file beside the entries. `Down` when
/// that fails (a full disk, a read-only or vanished mount), `Degraded` when
/// the probe works but inserts failed since the last run; `Up` otherwise.
///
/// Not critical by default: a cache that cannot write still serves reads,
/// and misses only cost time, so the readiness group becomes at most
/// `Degraded`. Use [`critical`](Self::critical) to change that.
#[derive(Debug)]
pub struct FileCacheCheck {
    name: String,
    cache: FileCache,
    critical: bool,
    seen_write_errors: AtomicU64,
}

impl FileCacheCheck {
    /// A check named `cache:<directory>`.
    #[must_use]
    pub fn new(cache: FileCache) -> Self {
        Self {
            name: format!("cache:{}", cache.dir().display()),
            seen_write_errors: AtomicU64::new(cache.snapshot().write_errors),
            cache,
            critical: false,
        }
    }

    /// Whether a failing cache fails readiness (default `false`).
    #[must_use]
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }
}

impl Check for FileCacheCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let errors = self.cache.snapshot().write_errors;
            let before = self.seen_write_errors.swap(errors, Ordering::Relaxed);
            if let Err(e) = self.cache.probe_write() {
                return Outcome::down(e.to_string());
            }
            if errors > before {
                Outcome::degraded(format!(
                    "{} cache writes failed since the last check",
                    errors - before
                ))
            } else {
                Outcome::up()
            }
        })
    }

    fn critical(&self) -> bool {
        self.critical
    }

    fn groups(&self) -> Vec<Group> {
        vec![Group::READINESS]
    }
}

/// What a [`RedisCheck`] watches.
#[cfg(feature = "redis")]
#[derive(Debug)]
enum Watched {
    Tier(std::sync::Arc<crate::redis::Link>),
    Bus {
        link: std::sync::Arc<crate::redis::Link>,
        subscribed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
}

/// Whether a Redis client of this crate reaches Redis (features `health`
/// and `redis`): made by [`RedisTier::health_check`](crate::RedisTier::health_check)
/// (named `cache:redis:<prefix>`) and
/// [`RedisInvalidation::health_check`](crate::RedisInvalidation::health_check)
/// (named `cache:redis-bus:<channel>`).
///
/// Each run sends `PING` while the client believes its connection works;
/// `Degraded`, with the client's last error, from the first failure until
/// the client's background probe reaches Redis again (and, for a tier in a
/// [`TieredCache`](crate::TieredCache), the cache has dropped what it may
/// hold stale); then `Up`. A bus is also `Degraded` while its subscription
/// is down.
///
/// Not critical by default: without Redis the cache misses and
/// invalidations stay local, which costs time and freshness, not
/// correctness of the service's answers. Use [`critical`](Self::critical)
/// to change that.
#[cfg(feature = "redis")]
#[derive(Debug)]
pub struct RedisCheck {
    name: String,
    watched: Watched,
    critical: bool,
}

#[cfg(feature = "redis")]
impl RedisCheck {
    pub(crate) fn tier(name: String, link: &std::sync::Arc<crate::redis::Link>) -> Self {
        Self {
            name,
            watched: Watched::Tier(std::sync::Arc::clone(link)),
            critical: false,
        }
    }

    pub(crate) fn bus(
        name: String,
        link: &std::sync::Arc<crate::redis::Link>,
        subscribed: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Self {
            name,
            watched: Watched::Bus {
                link: std::sync::Arc::clone(link),
                subscribed: std::sync::Arc::clone(subscribed),
            },
            critical: false,
        }
    }

    /// Whether an unreachable Redis fails readiness (default `false`).
    #[must_use]
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }
}

#[cfg(feature = "redis")]
fn unreachable(link: &crate::redis::Link) -> Outcome {
    match link.last_error() {
        Some(e) => Outcome::degraded(format!("redis unreachable, reconnecting: {e}")),
        None => Outcome::degraded("redis unreachable, reconnecting"),
    }
}

#[cfg(feature = "redis")]
impl Check for RedisCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match &self.watched {
                Watched::Tier(link) => {
                    if link.check().await {
                        Outcome::up()
                    } else {
                        unreachable(link)
                    }
                }
                Watched::Bus { link, subscribed } => {
                    if !link.check().await {
                        unreachable(link)
                    } else if !subscribed.load(Ordering::SeqCst) {
                        Outcome::degraded("redis invalidation subscription lost, resubscribing")
                    } else {
                        Outcome::up()
                    }
                }
            }
        })
    }

    fn critical(&self) -> bool {
        self.critical
    }

    fn groups(&self) -> Vec<Group> {
        vec![Group::READINESS]
    }
}
