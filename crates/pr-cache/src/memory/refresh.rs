//! Stale-while-revalidate: an entry older than the refresh age is returned
//! at once and reloaded in the background, once per key at a time; the
//! reloaded value lands only if the entry it replaces is still there.

use std::hash::Hash;
use std::sync::Arc;

use pr_core::sync::lock;

use super::{Inner, MemoryCache, Slot};
use crate::stats::RemovalCause;

/// Marks a key's refresh as running; ends it when dropped, so that a
/// refresh that panics, or is never started, does not block later ones.
struct RefreshGuard<K: Hash + Eq, V> {
    inner: Arc<Inner<K, V>>,
    key: K,
}

impl<K: Hash + Eq, V> Drop for RefreshGuard<K, V> {
    fn drop(&mut self) {
        lock(&self.inner.refreshing).remove(&self.key);
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Stores a refreshed value only if `key` still holds the entry `seen`
    /// that the refresh started from: a refresh never overwrites a value
    /// inserted meanwhile, nor brings back a key invalidated or evicted
    /// meanwhile (a refreshed entry's times always have a `Meta` to compare).
    fn store_refreshed(&self, key: K, seen: &Slot<V>, value: V) {
        let Some(seen) = seen.meta.as_ref() else {
            return;
        };
        let same = |s: &Slot<V>| s.meta.as_ref().is_some_and(|m| Arc::ptr_eq(m, seen));
        let slot = self.slot(value, None);
        let Some(window) = &self.inner.window else {
            self.engine_replace_if(key, slot, same);
            return;
        };
        let weight = self.weigh(&key, &slot.value);
        let replaced = Self::with_window(window, |w| {
            if let Some(current) = self.engine_get(&key) {
                if same(&current) {
                    self.engine_insert(key, slot);
                }
                return None;
            }
            if !w.map.get(&key).is_some_and(|(current, _, _)| same(current)) {
                return None;
            }
            self.put_in_window(w, key, slot, weight)
        });
        if let Some((k, old, _)) = replaced {
            self.notify(&k, &old.value, RemovalCause::Replaced);
        }
    }

    /// Stale-while-revalidate. A missing key loads as
    /// [`Self::try_get_or_insert_with`]. A present entry older than the
    /// builder's [`refresh_after`](super::MemoryCacheBuilder::refresh_after) age is
    /// returned at once while `init` reloads it on a spawned tokio task; one
    /// refresh per key at a time, and a failed refresh keeps the old value.
    ///
    /// # Errors
    ///
    /// The loader's error, when the key was missing.
    ///
    /// Outside a tokio runtime the old value is returned without a refresh
    /// (`cache.refresh_not_started` is logged).
    pub async fn get_or_refresh<E, F, Fut>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let Some(slot) = self.lookup(&key) else {
            return self.try_get_or_insert_with(key, init).await;
        };
        self.record(true);
        if let (Some(age), Some(born)) = (self.inner.refresh_after, slot.born())
            && self.inner.clock.elapsed().saturating_sub(born) >= age
            && lock(&self.inner.refreshing).insert(key.clone())
        {
            let this = self.clone();
            let seen = slot.clone();
            let guard = RefreshGuard {
                inner: Arc::clone(&self.inner),
                key: key.clone(),
            };
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                tracing::warn!(target: "pr_cache", event = "cache.refresh_not_started", cache = %self.inner.name, "entry not refreshed: no tokio runtime to refresh it on");
                return Ok(slot.value);
            };
            let span = self.load_span(true);
            runtime.spawn(async move {
                let _guard = guard;
                let started = this.load_started();
                let loaded = tracing::Instrument::instrument(init(), span).await;
                this.record_load(loaded.is_ok(), started);
                match loaded {
                    Ok(v) => this.store_refreshed(key.clone(), &seen, v),
                    Err(_) => tracing::debug!(
                        target: "pr_cache",
                        event = "cache.refresh_failed",
                        cache = %this.inner.name,
                        "background refresh failed; the old value stays"
                    ),
                }
            });
        }
        Ok(slot.value)
    }

    /// The blocking [`Self::get_or_refresh`], with a sync loader: a missing
    /// key loads as [`Self::try_get_or_insert_with_blocking`], blocking the
    /// caller; an entry older than the refresh age is returned at once while
    /// `init` reloads it on a new thread, one refresh per key at a time; a
    /// failed refresh keeps the old value.
    ///
    /// # Errors
    ///
    /// The loader's error, when the key was missing.
    pub fn get_or_refresh_blocking<E, F>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Result<V, E> + Send + 'static,
    {
        let Some(slot) = self.lookup(&key) else {
            return self.try_get_or_insert_with_blocking(key, init);
        };
        self.record(true);
        if let (Some(age), Some(born)) = (self.inner.refresh_after, slot.born())
            && self.inner.clock.elapsed().saturating_sub(born) >= age
            && lock(&self.inner.refreshing).insert(key.clone())
        {
            let this = self.clone();
            let seen = slot.clone();
            let guard = RefreshGuard {
                inner: Arc::clone(&self.inner),
                key: key.clone(),
            };
            let span = self.load_span(true);
            let spawned = std::thread::Builder::new()
                .name("pr-cache-refresh".to_owned())
                .spawn(move || {
                    let _guard = guard;
                    let started = this.load_started();
                    let loaded = span.in_scope(init);
                    this.record_load(loaded.is_ok(), started);
                    match loaded {
                        Ok(v) => this.store_refreshed(key.clone(), &seen, v),
                        Err(_) => tracing::debug!(
                            target: "pr_cache",
                            event = "cache.refresh_failed",
                            cache = %this.inner.name,
                            "background refresh failed; the old value stays"
                        ),
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(target: "pr_cache", event = "cache.refresh_not_started", error = %e, "entry not refreshed: its thread could not be started");
            }
        }
        Ok(slot.value)
    }
}
