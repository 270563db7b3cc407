//! A keyed registry of breakers (one per downstream host) with bounded
//! memory.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Error;
use crate::breaker::{BreakerBuilder, CircuitBreaker, State};
use crate::time::nanos;
use pr_core::time::Clock;

struct Entry {
    breaker: CircuitBreaker,
    last_used: u64,
}

struct Inner<K> {
    template: BreakerBuilder,
    max_entries: usize,
    idle_nanos: u64,
    clock: Clock,
    entries: Mutex<HashMap<K, Entry>>,
}

/// Breakers by key (a downstream host, a tenant), made on first use from
/// one template, with bounded memory: at most `max_entries` breakers, those
/// unused for `idle` are evicted first, then the least recently used closed
/// one (a breaker that is not closed is kept while a closed one can go).
/// Clones share the registry.
///
/// A lookup takes a short lock; on a hot path, keep the returned
/// [`CircuitBreaker`](crate::breaker::CircuitBreaker) (a cheap clone sharing the state) rather than looking
/// it up per call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::breaker::{BreakerRegistry, CircuitBreaker};
///
/// # fn main() -> Result<(), pr_resilience::Error> {
/// let registry = BreakerRegistry::new(CircuitBreaker::builder("upstream"), 1_000, Duration::from_secs(600))?;
/// let breaker = registry.get(&"api.example.com");
/// assert_eq!(breaker.name(), "upstream:api.example.com");
/// assert_eq!(registry.len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct BreakerRegistry<K>(Arc<Inner<K>>);

impl<K> Clone for BreakerRegistry<K> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<K> fmt::Debug for BreakerRegistry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerRegistry")
            .field("max_entries", &self.0.max_entries)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone + fmt::Display> BreakerRegistry<K> {
    /// A registry making breakers from `template` (each named
    /// `<template name>:<key>`), holding at most `max_entries`, evicting
    /// those idle for `idle`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero `max_entries` or a template that
    /// does not build.
    pub fn new(
        template: BreakerBuilder,
        max_entries: usize,
        idle: Duration,
    ) -> Result<Self, Error> {
        Self::with_clock(template, max_entries, idle, Clock::default())
    }

    /// As [`new`](Self::new), measuring idleness on `clock`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_clock(
        template: BreakerBuilder,
        max_entries: usize,
        idle: Duration,
        clock: Clock,
    ) -> Result<Self, Error> {
        if max_entries == 0 {
            return Err(Error::invalid(
                "breaker_registry.max_entries",
                "must be at least 1",
            ));
        }
        // Check the template once, so that `get` cannot fail.
        template.clone().build()?;
        Ok(Self(Arc::new(Inner {
            template,
            max_entries,
            idle_nanos: nanos(idle),
            clock,
            entries: Mutex::new(HashMap::new()),
        })))
    }

    /// The breaker for `key`, made now if there is none.
    pub fn get(&self, key: &K) -> CircuitBreaker {
        let inner = &*self.0;
        let now = inner.clock.now_nanos();
        let mut entries = pr_core::sync::lock(&inner.entries);
        if let Some(entry) = entries.get_mut(key) {
            entry.last_used = now;
            return entry.breaker.clone();
        }
        if entries.len() >= inner.max_entries {
            entries.retain(|_, entry| now.saturating_sub(entry.last_used) < inner.idle_nanos);
        }
        if entries.len() >= inner.max_entries {
            let victim = entries
                .iter()
                .min_by_key(|(_, entry)| (entry.breaker.state() != State::Closed, entry.last_used))
                .map(|(key, _)| key.clone());
            if let Some(victim) = victim {
                entries.remove(&victim);
            }
        }
        let name = format!("{}:{key}", inner.template.name_ref());
        // The template was validated in `new`; a name never makes it invalid.
        let breaker = inner.template.clone().name(name).build_valid();
        entries.insert(
            key.clone(),
            Entry {
                breaker: breaker.clone(),
                last_used: now,
            },
        );
        breaker
    }

    /// The breaker for `key` if there is one, without making it.
    #[must_use]
    pub fn find(&self, key: &K) -> Option<CircuitBreaker> {
        let entries = pr_core::sync::lock(&self.0.entries);
        entries.get(key).map(|entry| entry.breaker.clone())
    }

    /// Breakers held now.
    #[must_use]
    pub fn len(&self) -> usize {
        pr_core::sync::lock(&self.0.entries).len()
    }

    /// Whether the registry holds no breaker.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every breaker held now, with its key.
    #[must_use]
    pub fn breakers(&self) -> Vec<(K, CircuitBreaker)> {
        let entries = pr_core::sync::lock(&self.0.entries);
        entries
            .iter()
            .map(|(key, entry)| (key.clone(), entry.breaker.clone()))
            .collect()
    }
}
