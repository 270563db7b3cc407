//! Components that register themselves with the app, as Actuator shows a
//! cache or a breaker once the bean exists: each gets its `/status` entry
//! and its health check, and a cache its metrics published.

#[cfg(feature = "cache")]
use std::hash::Hash;

#[cfg(any(feature = "cache", feature = "resilience"))]
use crate::app::Error;
use crate::app::{App, AppConfig};

impl<C: AppConfig> App<C> {
    /// Registers `cache`: its statistics, entries and bytes under
    /// `/status` → `caches` → its name, and its `pr_cache_*` metrics
    /// published every second (a cache's hot path never touches the
    /// recorder) until the app ends. Feature `cache`; call it within the
    /// tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateSection`] when a cache of that name is registered.
    #[cfg(feature = "cache")]
    pub fn register_cache<K, V>(&self, cache: &pr_cache::MemoryCache<K, V>) -> Result<(), Error>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let shown = cache.clone();
        self.status_board()
            .add_entry("caches", cache.name(), move || {
                let mut doc = serde_json::to_value(shown.snapshot()).unwrap_or_default();
                doc["entries"] = shown.entry_count().into();
                doc["bytes"] = shown.weighted_size().into();
                doc
            })?;
        let published = cache.clone();
        self.keep_task(tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                published.publish_metrics();
            }
        }));
        Ok(())
    }

    /// Registers `breaker`: its health check (Degraded while it refuses
    /// calls) and its state under `/status` → `breakers` → its name.
    /// Feature `resilience`.
    ///
    /// # Errors
    ///
    /// [`Error::Health`] when a check of that name exists;
    /// [`Error::DuplicateSection`] when a breaker of that name is registered.
    #[cfg(feature = "resilience")]
    pub fn register_breaker(
        &self,
        breaker: &pr_resilience::breaker::CircuitBreaker,
    ) -> Result<(), Error> {
        self.health()
            .add(pr_resilience::breaker::BreakerCheck::new(breaker.clone()))
            .map_err(Error::Health)?;
        let shown = breaker.clone();
        self.status_board()
            .add_entry("breakers", breaker.name(), move || {
                serde_json::to_value(shown.snapshot()).unwrap_or_default()
            })
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
