//! [`Drain`]: refuses new work once shutdown begins and counts the work in
//! flight, so that [`App::run`](crate::app::App::run) can wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};

/// The shared shutdown state of a service: whether it is draining, and how
/// much work is in flight. Cheap to clone; every clone sees the same state.
///
/// Work that must finish before the process exits holds a [`WorkGuard`]
/// from [`try_start`](Self::try_start); servers stop accepting on
/// [`draining`](Self::draining).
///
/// # Examples
///
/// ```
/// use pr_facade::app::Drain;
///
/// let drain = Drain::new();
/// let guard = drain.try_start().expect("not draining yet");
/// assert_eq!(drain.in_flight(), 1);
/// drain.start();
/// assert!(drain.try_start().is_none(), "new work is refused");
/// drop(guard);
/// assert_eq!(drain.in_flight(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct Drain(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    draining: watch::Sender<bool>,
    // The flag `try_start` and `start` agree on, in one SeqCst order with
    // `in_flight` (the watch channel's lock does not order them): either a
    // new unit's count is seen by `start`, or the unit sees the flag and
    // backs out.
    closed: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    /// A state that is not draining, with nothing in flight.
    #[must_use]
    pub fn new() -> Self {
        Self(Arc::new(Inner {
            draining: watch::Sender::new(false),
            closed: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        }))
    }

    /// Whether draining has begun.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.0.closed.load(Ordering::SeqCst)
    }

    /// Begins draining: new work is refused from now on.
    pub fn start(&self) {
        self.0.closed.store(true, Ordering::SeqCst);
        let began = self.0.draining.send_if_modified(|draining| {
            let began = !*draining;
            *draining = true;
            began
        });
        if began && self.in_flight() == 0 {
            self.0.idle.notify_waiters();
        }
    }

    /// Resolves once draining begins (at once when it has): give it to a
    /// server's graceful shutdown so that it stops accepting.
    pub async fn draining(&self) {
        let mut rx = self.0.draining.subscribe();
        // The sender lives in `self`, so the channel cannot close here.
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// A guard for one unit of work, or `None` once draining has begun.
    #[must_use = "the work counts as in flight only while the guard lives"]
    pub fn try_start(&self) -> Option<WorkGuard> {
        // Count first, then look: a `start` that ran before the count saw
        // it (and waits for it), or this sees `closed` and backs out.
        self.0.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = WorkGuard(self.clone());
        if self.is_draining() {
            drop(guard);
            return None;
        }
        Some(guard)
    }

    /// Units of work in flight.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::SeqCst)
    }

    /// Resolves once nothing is in flight.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One unit of work in flight; see [`Drain::try_start`]. The work ends when
/// the guard is dropped.
#[must_use = "the work counts as in flight only while the guard lives"]
#[derive(Debug)]
pub struct WorkGuard(Drain);

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if (self.0).0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            (self.0).0.idle.notify_waiters();
        }
    }
}
