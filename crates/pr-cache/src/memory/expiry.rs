//! Expiry on the cache's injected clock: each timed entry carries its
//! deadline (see the [module](super) docs on time), a get checks it, and
//! moka's `Expiry` is handed the same deadlines so that it reclaims expired
//! entries' memory on its own schedule.

use std::borrow::Borrow;
use std::cell::Cell;
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pr_core::time::Clock;

use super::{MemoryCache, Slot};
use crate::stats::RemovalCause;

thread_local! {
    /// Set while this thread invalidates an entry its clock found expired, so
    /// that the listener reports `Expired` rather than `Explicit`.
    static EXPIRING: Cell<bool> = const { Cell::new(false) };
}

/// The cause to report for one of moka's removals: an invalidation this
/// thread makes of an entry its clock found expired is `Expired`.
pub(super) fn removal_cause(cause: moka::notification::RemovalCause) -> RemovalCause {
    match cause {
        moka::notification::RemovalCause::Expired => RemovalCause::Expired,
        moka::notification::RemovalCause::Explicit => {
            if EXPIRING.with(Cell::get) {
                RemovalCause::Expired
            } else {
                RemovalCause::Explicit
            }
        }
        moka::notification::RemovalCause::Replaced => RemovalCause::Replaced,
        moka::notification::RemovalCause::Size => RemovalCause::Size,
    }
}

/// Hands each entry's deadline (on our clock) to moka as a duration.
pub(super) struct MokaExpiry {
    clock: Clock,
    tti: Option<Duration>,
}

impl MokaExpiry {
    pub(super) fn new(clock: Clock, tti: Option<Duration>) -> Self {
        Self { clock, tti }
    }

    fn remaining<V>(&self, slot: &Slot<V>) -> Option<Duration> {
        let until_deadline = slot
            .meta
            .as_ref()
            .and_then(|m| m.expires)
            .map(|e| e.saturating_sub(self.clock.elapsed()));
        match (until_deadline, self.tti) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<K, V> moka::Expiry<K, Slot<V>> for MokaExpiry {
    fn expire_after_create(&self, _: &K, slot: &Slot<V>, _: Instant) -> Option<Duration> {
        self.remaining(slot)
    }

    fn expire_after_update(
        &self,
        _: &K,
        slot: &Slot<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.remaining(slot)
    }

    fn expire_after_read(
        &self,
        _: &K,
        slot: &Slot<V>,
        _: Instant,
        current: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        if self.tti.is_some() {
            self.remaining(slot)
        } else {
            current
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The slot if neither its deadline nor its idle time has passed on our
    /// clock (a read moves its idle time on); else the entry is invalidated,
    /// reported as `Expired`, and `None` comes back.
    #[cold]
    pub(super) fn check_times<Q>(&self, key: &Q, slot: Slot<V>) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let meta = slot.meta.as_deref()?;
        let now = self.inner.clock.elapsed();
        let born = meta.born;
        let mut expired = meta.expires.is_some_and(|e| now >= e);
        if let (Some(tti), Some(touched)) = (self.inner.tti, &meta.touched) {
            let last = born + Duration::from_nanos(touched.load(Ordering::Relaxed));
            if now.saturating_sub(last) >= tti {
                expired = true;
            } else {
                touched.fetch_max(nanos(now.saturating_sub(born)), Ordering::Relaxed);
            }
        }
        if expired {
            EXPIRING.with(|f| f.set(true));
            self.remove_key(key, RemovalCause::Expired);
            EXPIRING.with(|f| f.set(false));
            return None;
        }
        Some(slot)
    }
}
