//! Each Redis client's connection as a pr-health check (features `health`
//! and `redis`).

use std::sync::atomic::Ordering;

use pr_health::{Check, CheckFuture, Group, Outcome};

/// What a [`RedisCheck`] watches.
#[derive(Debug)]
enum Watched {
    Tier(std::sync::Arc<super::Link>),
    Bus {
        link: std::sync::Arc<super::Link>,
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
#[derive(Debug)]
pub struct RedisCheck {
    name: String,
    watched: Watched,
    critical: bool,
}

impl RedisCheck {
    pub(crate) fn tier(name: String, link: &std::sync::Arc<super::Link>) -> Self {
        Self {
            name,
            watched: Watched::Tier(std::sync::Arc::clone(link)),
            critical: false,
        }
    }

    pub(crate) fn bus(
        name: String,
        link: &std::sync::Arc<super::Link>,
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

fn unreachable(link: &super::Link) -> Outcome {
    match link.last_error() {
        Some(e) => Outcome::degraded(format!("redis unreachable, reconnecting: {e}")),
        None => Outcome::degraded("redis unreachable, reconnecting"),
    }
}

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
