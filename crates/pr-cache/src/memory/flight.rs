//! Loading with one loader run per key: concurrent callers of a missing
//! key share one run of one loader and its value or error; an error is not
//! kept, so the next call loads again.
//!
//! # Why not moka's own loading
//!
//! moka's single-flight (`get_with`, `try_get_with`,
//! `entry().or_try_insert_with`) serves the blocking loaders of a cache
//! without a window ([`Policy::TinyLfu`](super::Policy::TinyLfu),
//! [`Policy::Lru`](super::Policy::Lru), or no bound). Elsewhere this module
//! keeps slots of its own, because moka's loading gets two things wrong here:
//!
//! - **Async loaders.** `moka::sync::Cache` loads with sync closures only;
//!   moka's async `get_with` is on `moka::future::Cache`, whose `get`,
//!   `insert` and `invalidate` are async as well, so the cache's sync API
//!   could not stay on it, and a task calling the sync loader would block its
//!   runtime thread while another caller loads. Hence [`Flight`], a
//!   `tokio::sync::OnceCell` per key.
//! - **Blocking loaders with a window** (the default policy). moka's loader
//!   inserts the value into moka itself, outside the window's lock, and looks
//!   for a value already there in moka only. With [`SyncFlight`] replaced by
//!   `entry().or_try_insert_with` every other test still passes (one loader
//!   run under a thousand threads, shared errors, the statistics), but the
//!   two window tests in `tests.rs` fail
//!   (`a_loaded_key_waits_in_the_window_instead_of_facing_admission`,
//!   `a_load_racing_an_insert_leaves_one_entry`): ten keys loaded into a full cache
//!   of keys read often are all rejected by moka's admission at the next
//!   maintenance (0 kept, where the window keeps all ten, as it keeps an
//!   inserted key); and an insert of a key during its load leaves the key
//!   twice (the insert in the window, the loaded value in moka: an
//!   `entry_count` of 2), so that when the window spills, the insert's value
//!   overwrites the loaded one a get had already returned.

use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pr_core::sync::lock;

use super::{MemoryCache, Store};

type AnyError = Arc<dyn Any + Send + Sync>;
/// A sync single-flight slot: concurrent callers share one loader's result
/// (used with a window: see the module docs).
pub(super) type SyncFlight<V> = OnceLock<Result<V, AnyError>>;

/// A single-flight slot for async loads: concurrent callers share the result.
pub(super) struct Flight<V> {
    cell: tokio::sync::OnceCell<Result<V, AnyError>>,
}

/// Takes a key's single-flight slot out of its map when a caller is done
/// with it: at once when it holds a result (so that a later call starts
/// afresh, an error not being cached), else when the last caller leaves (the
/// loader panicked or its caller was cancelled, and nobody waits on it any
/// more). Runs on return, panic and cancellation alike, so the map holds
/// only flights in progress.
struct FlightGuard<'a, K: Hash + Eq, F> {
    map: &'a Mutex<HashMap<K, Arc<F>>>,
    key: &'a K,
    flight: Arc<F>,
    done: fn(&F) -> bool,
}

impl<K: Hash + Eq, F> Drop for FlightGuard<'_, K, F> {
    fn drop(&mut self) {
        let mut map = lock(self.map);
        // The map's Arc, ours and the caller's local one: no one else.
        let last = Arc::strong_count(&self.flight) <= 3;
        if map
            .get(self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            && ((self.done)(&self.flight) || last)
        {
            map.remove(self.key);
        }
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(super) fn record_load(&self, ok: bool, started: Option<Duration>) {
        if let (Some(stats), Some(started)) = (&self.inner.stats, started) {
            let took = self.inner.clock.elapsed().saturating_sub(started);
            stats.load(ok, took);
        }
    }

    /// The span a loader runs in (`cache.load`, an OpenTelemetry span under
    /// the caller's): the cache's name and whether it is a background
    /// refresh, never the key (a client may choose it). Made on the
    /// caller's task, so a refresh spawned elsewhere keeps the caller as
    /// its parent.
    pub(super) fn load_span(&self, refresh: bool) -> tracing::Span {
        tracing::info_span!(target: "pr_cache", "cache.load", cache = %self.inner.name, refresh)
    }

    pub(super) fn load_started(&self) -> Option<Duration> {
        self.inner
            .stats
            .as_ref()
            .map(|_| self.inner.clock.elapsed())
    }

    /// The blocking [`Self::get_or_insert_with`], with a sync loader: the value
    /// for `key`, or the one `init` makes, stored. Concurrent calls for a
    /// missing key run one `init` and all get its value; the other threads
    /// block until it returns.
    pub fn get_or_insert_with_blocking(&self, key: K, init: impl FnOnce() -> V) -> V {
        match self
            .try_get_or_insert_with_blocking(key, || Ok::<V, std::convert::Infallible>(init()))
        {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// The blocking [`Self::try_get_or_insert_with`], with a sync loader that
    /// can fail. Concurrent callers share one loader run and its error (the
    /// other threads block until it returns); an error is not cached: the
    /// next call runs the loader again. (To cache a failure, make `V` a
    /// `Result` and use [`Self::get_or_insert_with_blocking`], with
    /// [`Self::insert_with_ttl`] for a short negative TTL.)
    ///
    /// # Errors
    ///
    /// The loader's error, shared.
    pub fn try_get_or_insert_with_blocking<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        if let Some(slot) = self.lookup(&key) {
            self.record(true);
            return Ok(slot.value);
        }
        // moka's own single-flight only without a window (see the module
        // docs); the fast engine's placeholder guard is not used either: a
        // waiter would run its own loader after a failure instead of
        // sharing the error, which this method promises.
        let Store::Moka(moka) = &self.inner.cache else {
            return self.load_through_window(key, init);
        };
        if self.inner.window.is_some() {
            return self.load_through_window(key, init);
        }
        let mut ran = false;
        let result = moka.entry(key).or_try_insert_with(|| {
            ran = true;
            let started = self.load_started();
            let loaded = self.load_span(false).in_scope(init);
            self.record_load(loaded.is_ok(), started);
            loaded.map(|v| self.slot(v, None))
        });
        self.record(!ran && result.is_ok());
        result.map(|entry| entry.into_value().value)
    }

    /// Sync loading with a window or on the fast engine: one loader run per
    /// key among concurrent callers (the others block on the slot), the
    /// value stored like an insert (through the window, if any).
    fn load_through_window<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        let flight = Arc::clone(
            lock(&self.inner.sync_flights)
                .entry(key.clone())
                .or_default(),
        );
        let guard = FlightGuard {
            map: &self.inner.sync_flights,
            key: &key,
            flight: Arc::clone(&flight),
            done: |f: &SyncFlight<V>| f.get().is_some(),
        };
        let mut init = Some(init);
        let mut ran = false;
        let outcome = flight
            .get_or_init(|| {
                if let Some(slot) = self.lookup(&key) {
                    return Ok(slot.value);
                }
                let Some(init) = init.take() else {
                    unreachable!("the slot runs one initializer")
                };
                ran = true;
                let started = self.load_started();
                let loaded = self.load_span(false).in_scope(init);
                self.record_load(loaded.is_ok(), started);
                match loaded {
                    Ok(v) => {
                        self.store(key.clone(), self.slot(v.clone(), None));
                        Ok(v)
                    }
                    Err(e) => Err(Arc::new(e) as AnyError),
                }
            })
            .clone();
        drop(guard);
        self.record(!ran && outcome.is_ok());
        match outcome {
            Ok(v) => Ok(v),
            Err(e) => match e.downcast::<E>() {
                Ok(e) => Err(e),
                // A concurrent loader of another error type failed: run ours.
                Err(_) => match init.take() {
                    Some(init) => {
                        let started = self.load_started();
                        let loaded = self.load_span(false).in_scope(init);
                        self.record_load(loaded.is_ok(), started);
                        let v = loaded.map_err(Arc::new)?;
                        self.insert(key, v.clone());
                        Ok(v)
                    }
                    None => unreachable!("our loader ran, so the error has our type"),
                },
            },
        }
    }

    /// The value for `key`, or the one `init` makes, stored. Concurrent calls
    /// for a missing key run one loader and all get its value; the others
    /// await it. [`Self::get_or_insert_with_blocking`] takes a sync loader.
    pub async fn get_or_insert_with<F, Fut>(&self, key: K, init: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let load = || async { Ok::<V, std::convert::Infallible>(init().await) };
        match self.try_get_or_insert_with(key, load).await {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// Like [`Self::get_or_insert_with`] with a loader that can fail.
    /// Concurrent callers share one loader run and its value or error; an
    /// error is not cached: the next call runs the loader again. (To cache a
    /// failure, make `V` a `Result` and use [`Self::get_or_insert_with`], with
    /// [`Self::insert_with_ttl`] for a short negative TTL.)
    ///
    /// If the loading caller is cancelled, a waiting caller runs its own
    /// loader instead.
    ///
    /// # Errors
    ///
    /// The loader's error, shared.
    pub async fn try_get_or_insert_with<E, F, Fut>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(slot) = self.lookup(&key) {
            self.record(true);
            return Ok(slot.value);
        }
        let flight = Arc::clone(lock(&self.inner.flights).entry(key.clone()).or_insert_with(
            || {
                Arc::new(Flight {
                    cell: tokio::sync::OnceCell::new(),
                })
            },
        ));
        let guard = FlightGuard {
            map: &self.inner.flights,
            key: &key,
            flight: Arc::clone(&flight),
            done: |f: &Flight<V>| f.cell.initialized(),
        };
        let mut init = Some(init);
        let mut ran = false;
        let outcome = flight
            .cell
            .get_or_init(|| async {
                // Someone may have stored it between our lookup and the flight.
                if let Some(slot) = self.lookup(&key) {
                    return Ok(slot.value);
                }
                let Some(init) = init.take() else {
                    unreachable!("the cell runs one initializer per caller at most")
                };
                ran = true;
                let started = self.load_started();
                let loaded = tracing::Instrument::instrument(init(), self.load_span(false)).await;
                self.record_load(loaded.is_ok(), started);
                match loaded {
                    Ok(v) => {
                        self.store(key.clone(), self.slot(v.clone(), None));
                        Ok(v)
                    }
                    Err(e) => Err(Arc::new(e) as AnyError),
                }
            })
            .await
            .clone();
        drop(guard);
        self.record(!ran && outcome.is_ok());
        match outcome {
            Ok(v) => Ok(v),
            Err(e) => match e.downcast::<E>() {
                Ok(e) => Err(e),
                // A concurrent loader of another error type failed: run ours.
                Err(_) => match init.take() {
                    Some(init) => {
                        let started = self.load_started();
                        let loaded =
                            tracing::Instrument::instrument(init(), self.load_span(false)).await;
                        self.record_load(loaded.is_ok(), started);
                        let v = loaded.map_err(Arc::new)?;
                        self.insert(key, v.clone());
                        Ok(v)
                    }
                    None => unreachable!("our loader ran, so the error has our type"),
                },
            },
        }
    }
}
