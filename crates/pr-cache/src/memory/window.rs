//! The LRU window of [`Policy::WindowTinyLfu`]: new entries (inserted or
//! loaded) wait in it before they ask moka's `TinyLFU` for admission.
//!
//! Every move between the window and moka happens under the window's lock.
//! moka calls the removal listener on the thread that writes to it, so while
//! this thread holds that lock its notifications wait in a thread-local list
//! and are delivered once the lock is released: a listener may then call
//! back into the cache without deadlocking on the window.

use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;

use pr_core::sync::lock;

use super::{MemoryCache, Slot};
use crate::stats::RemovalCause;

/// Which entries the cache keeps when it is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Policy {
    /// Window `TinyLFU` (the default): new entries enter an LRU window of 20 %
    /// of the bound; the window's least recent entry then asks moka's
    /// `TinyLFU` (the other 80 %) for admission, which compares how often it
    /// and moka's victim were asked for. The window keeps recent entries
    /// that `TinyLFU` alone would reject too early; the frequency filter keeps
    /// scans and one-hit wonders out. On the ARC OLTP trace it beats exact
    /// LRU at every size measured (see `benches/benches/cache.rs`), where
    /// moka's plain `TinyLFU` falls below LRU at 2,000 entries. Loaded values
    /// enter through the window too, and an entry read while in the window
    /// moves on to moka (so a hot key is read at moka's cost).
    #[default]
    WindowTinyLfu,
    /// moka's `TinyLFU` alone: admission by frequency, LRU within.
    TinyLfu,
    /// Plain least-recently-used (moka's).
    Lru,
}

/// The share of the bound given to the window of [`Policy::WindowTinyLfu`], in percent.
const WINDOW_PERCENT: u64 = 20;

/// The window's share of a bound of `bound` under `policy` (0: no window).
pub(super) fn capacity(policy: Policy, bound: Option<u64>) -> u64 {
    match (policy, bound) {
        // n / 100 * 20 + the rest's share: no overflow for any n.
        (Policy::WindowTinyLfu, Some(n)) if n >= 5 => {
            n / 100 * WINDOW_PERCENT + n % 100 * WINDOW_PERCENT / 100
        }
        _ => 0,
    }
}

/// The LRU window in front of moka ([`Policy::WindowTinyLfu`]).
///
/// Every move of a key between the window and moka, and every write to moka
/// in window mode, happens under the window's lock: a key is never in both,
/// an insert is never overtaken by an older value spilling out of the window,
/// and an invalidated key is never put back by a spill.
pub(super) struct Window<K, V> {
    /// Key → (slot, LRU stamp, weight).
    pub(super) map: HashMap<K, (Slot<V>, u64, u64)>,
    pub(super) order: BTreeMap<u64, K>,
    next: u64,
    pub(super) weight: u64,
    capacity: u64,
}

impl<K: Hash + Eq + Clone, V> Window<K, V> {
    /// An empty window holding up to `capacity` (entries or weight).
    pub(super) fn new(capacity: u64) -> Self {
        Self {
            map: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            weight: 0,
            capacity,
        }
    }

    /// Removes `key`, returning it, its slot and its weight.
    pub(super) fn take<Q>(&mut self, key: &Q) -> Option<(K, Slot<V>, u64)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (k, (slot, stamp, weight)) = self.map.remove_entry(key)?;
        self.order.remove(&stamp);
        self.weight = self.weight.saturating_sub(weight);
        Some((k, slot, weight))
    }

    /// Puts `key` in as the most recent.
    fn push(&mut self, key: K, slot: Slot<V>, weight: u64) {
        let stamp = self.next;
        self.next += 1;
        self.order.insert(stamp, key.clone());
        self.map.insert(key, (slot, stamp, weight));
        self.weight = self.weight.saturating_add(weight);
    }

    /// Takes the least recent entry out while the window is over capacity.
    fn pop_overflow(&mut self) -> Option<(K, Slot<V>)> {
        if self.weight <= self.capacity {
            return None;
        }
        let (_, oldest) = self.order.pop_first()?;
        let (slot, _, weight) = self.map.remove(&oldest)?;
        self.weight = self.weight.saturating_sub(weight);
        Some((oldest, slot))
    }
}

thread_local! {
    /// Set while this thread holds a window lock: moka's removal
    /// notifications made meanwhile (our writes to moka happen under that
    /// lock) wait in `DEFERRED` until it is released, so that a listener
    /// may call back into the cache.
    static IN_WINDOW: Cell<bool> = const { Cell::new(false) };
    static DEFERRED: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

/// Clears `IN_WINDOW` when the window lock is released, even on a panic.
struct InWindow;

impl InWindow {
    fn enter() -> Self {
        IN_WINDOW.with(|f| f.set(true));
        Self
    }
}

impl Drop for InWindow {
    fn drop(&mut self) {
        IN_WINDOW.with(|f| f.set(false));
    }
}

/// Runs the notifications deferred while this thread held a window lock.
fn flush_deferred() {
    loop {
        let pending = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
        if pending.is_empty() {
            return;
        }
        for notify in pending {
            notify();
        }
    }
}

/// Whether this thread holds a window lock (moka's notifications must then
/// wait: see [`defer`]).
pub(super) fn holds_lock() -> bool {
    IN_WINDOW.with(Cell::get)
}

/// Keeps a removal notification until this thread releases its window lock.
pub(super) fn defer(notify: Box<dyn FnOnce()>) {
    DEFERRED.with(|d| d.borrow_mut().push(notify));
}

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Runs `f` under the window's lock; moka's notifications made
    /// meanwhile are delivered after it is released.
    pub(super) fn with_window<R>(
        window: &Mutex<Window<K, V>>,
        f: impl FnOnce(&mut Window<K, V>) -> R,
    ) -> R {
        let r = {
            let mut w = lock(window);
            let _in = InWindow::enter();
            f(&mut w)
        };
        flush_deferred();
        r
    }

    /// Stores a slot: in moka when the key is there or there is no window,
    /// else in the window, whose overflow then asks moka for admission.
    pub(super) fn store(&self, key: K, slot: Slot<V>) {
        let Some(window) = &self.inner.window else {
            self.engine_insert(key, slot);
            return;
        };
        let weight = self.weigh(&key, &slot.value);
        let replaced = Self::with_window(window, |w| {
            if self.engine_contains(&key) {
                self.engine_insert(key, slot);
                return None;
            }
            self.put_in_window(w, key, slot, weight)
        });
        if let Some((k, old, _)) = replaced {
            self.notify(&k, &old.value, RemovalCause::Replaced);
        }
    }

    /// Puts a slot in the window, moving what overflows it to moka (which
    /// admits or rejects it); returns the entry it replaced.
    pub(super) fn put_in_window(
        &self,
        w: &mut Window<K, V>,
        key: K,
        slot: Slot<V>,
        weight: u64,
    ) -> Option<(K, Slot<V>, u64)> {
        let replaced = w.take(&key);
        w.push(key, slot, weight);
        while let Some((k, s)) = w.pop_overflow() {
            self.engine_insert(k, s);
        }
        replaced
    }

    /// The window's slot for `key`: a hit in the window moves the entry to
    /// moka (whose `TinyLFU` has counted the misses that led here), so that a
    /// key read again is read at moka's cost.
    pub(super) fn window_get<Q>(&self, key: &Q) -> Option<Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Self::with_window(self.inner.window.as_ref()?, |w| {
            let (k, slot, _) = w.take(key)?;
            self.engine_insert(k, slot.clone());
            Some(slot)
        })
    }
}
