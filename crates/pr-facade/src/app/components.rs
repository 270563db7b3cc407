//! Components that register themselves with the app, as Actuator shows a
//! cache or a breaker once the bean exists (a cache, a breaker, a pipeline,
//! an outbound client, a keyed rate limiter): [`App::register`] gives each its
//! `/status` entry and its health check, and a cache its metrics at scrape.

#[cfg(any(feature = "cache", feature = "resilience"))]
use std::hash::Hash;

use crate::app::{App, AppConfig, Error};

/// Something [`App::register`] can show: a cache, a circuit breaker, a
/// resilience pipeline (its breaker), an outbound HTTP client (its
/// pipeline's breaker). A service's own components can implement it too,
/// adding a health check ([`App::health`]) or a `/status` section
/// ([`App::status_board`]).
pub trait Component {
    /// Adds what the component shows to `app`.
    ///
    /// # Errors
    ///
    /// [`Error::Health`] when one of its health checks' names is taken;
    /// [`Error::DuplicateSection`] when its `/status` entry's is.
    fn register_with<C: AppConfig>(&self, app: &App<C>) -> Result<(), Error>;
}

impl<C: AppConfig> App<C> {
    /// Registers `component`: its `/status` entry, its health check and
    /// its metrics, as the component defines them (see [`Component`]'s
    /// implementations).
    ///
    /// # Errors
    ///
    /// The component's [`Component::register_with`].
    pub fn register(&self, component: &impl Component) -> Result<(), Error> {
        component.register_with(self)
    }

    /// Registers the dead-letter queue `dlq` as `name`: its health check
    /// (Degraded when it fills up or cannot write) and its figures under
    /// `/status` → `dlq` → `name`. Feature `resilience`.
    ///
    /// # Errors
    ///
    /// [`Error::Health`] when its check exists; [`Error::DuplicateSection`]
    /// when a queue of that name is registered.
    #[cfg(feature = "resilience")]
    pub fn register_dlq<T>(&self, name: &str, dlq: &pr_resilience::dlq::Dlq<T>) -> Result<(), Error>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + 'static,
    {
        self.health()
            .add(dlq.health_check())
            .map_err(Error::Health)?;
        let shown = dlq.clone();
        self.status_board().add_entry("dlq", name, move || {
            serde_json::to_value(shown.snapshot()).unwrap_or_default()
        })
    }
}

/// Its statistics, entries and bytes under `/status` → `caches` → its
/// name, and its `pr_cache_*` metrics set from its statistics at every
/// scrape ([`pr_metrics::Registry::add_collector`]: a cache's hot path never
/// touches the recorder, and no loop runs between scrapes). Feature `cache`.
#[cfg(feature = "cache")]
impl<K, V> Component for pr_cache::MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn register_with<C: AppConfig>(&self, app: &App<C>) -> Result<(), Error> {
        let shown = self.clone();
        app.status_board()
            .add_entry("caches", self.name(), move || {
                let mut doc = serde_json::to_value(shown.snapshot()).unwrap_or_default();
                doc["entries"] = shown.entry_count().into();
                doc["bytes"] = shown.weighted_size().into();
                doc
            })?;
        let published = self.clone();
        app.metrics()
            .add_collector(move || published.publish_metrics());
        Ok(())
    }
}

/// Its health check (Degraded while it refuses calls) and its state under
/// `/status` → `breakers` → its name. Feature `resilience`.
#[cfg(feature = "resilience")]
impl Component for pr_resilience::breaker::CircuitBreaker {
    fn register_with<C: AppConfig>(&self, app: &App<C>) -> Result<(), Error> {
        app.health()
            .add(pr_resilience::breaker::BreakerCheck::new(self.clone()))
            .map_err(Error::Health)?;
        let shown = self.clone();
        app.status_board()
            .add_entry("breakers", self.name(), move || {
                serde_json::to_value(shown.snapshot()).unwrap_or_default()
            })
    }
}

/// Its quota, its keys and bytes against their bounds and the permits it
/// refused, under `/status` → `limiters` → its name. Feature `resilience`.
/// The per-client limiter of `http.rate_limit` registers itself as
/// `http.clients`.
#[cfg(feature = "resilience")]
impl<K> Component for pr_resilience::rate::KeyedLimiter<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn register_with<C: AppConfig>(&self, app: &App<C>) -> Result<(), Error> {
        let shown = self.clone();
        app.status_board()
            .add_entry("limiters", self.name(), move || {
                serde_json::to_value(shown.snapshot()).unwrap_or_default()
            })
    }
}

/// Its breaker, when it has one. Feature `resilience`.
#[cfg(feature = "resilience")]
impl<R, B> Component for pr_resilience::pipeline::Pipeline<R, B> {
    fn register_with<C: AppConfig>(&self, app: &App<C>) -> Result<(), Error> {
        self.breaker()
            .map_or(Ok(()), |breaker| app.register(breaker))
    }
}

/// Its pipeline's breaker, when it has one. Features `http` and
/// `resilience`.
#[cfg(all(feature = "http", feature = "resilience"))]
impl<R, B> Component for pr_http::outbound::HttpClient<R, B> {
    fn register_with<C: AppConfig>(&self, app: &App<C>) -> Result<(), Error> {
        self.pipeline()
            .map_or(Ok(()), |pipeline| app.register(pipeline))
    }
}
