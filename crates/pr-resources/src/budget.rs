//! A memory budget: reservations that grow and shrink against a limit,
//! accounted lock-free, released on drop.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Cgroups, Error};

/// A limit on memory that parts of a service reserve from before they
/// allocate (a request body, a cache, a batch), so that the service refuses
/// work with a coded error instead of being OOM-killed.
///
/// Accounting is one compare-and-swap loop on an atomic; a reservation is
/// released when dropped.
///
/// # Examples
///
/// ```
/// use pr_resources::MemoryBudget;
///
/// # fn main() -> Result<(), pr_resources::Error> {
/// let budget = MemoryBudget::new("uploads", 1024);
/// let mut body = budget.reserve(600)?;
/// assert!(budget.reserve(600).is_err()); // would pass the limit
/// body.shrink(400);
/// let other = budget.reserve(600)?;
/// assert_eq!(budget.used(), 800);
/// drop((body, other));
/// assert_eq!(budget.used(), 0);
/// # Ok(())
/// # }
/// ```
pub struct MemoryBudget {
    name: String,
    limit: AtomicU64,
    used: AtomicU64,
    peak: AtomicU64,
    rejected: AtomicU64,
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("name", &self.name)
            .field("limit", &self.limit())
            .field("used", &self.used())
            .finish_non_exhaustive()
    }
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(name: impl Into<String>, limit: u64) -> Self {
        Self {
            name: name.into(),
            limit: AtomicU64::new(limit),
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// A budget whose limit is the process's effective memory limit (the
    /// smallest cgroup limit over its ancestors, or the machine's memory
    /// when there is none) less `headroom` bytes for everything the budget
    /// does not account (code, stacks, allocator overhead).
    ///
    /// # Errors
    ///
    /// [`Error::Read`] or [`Error::Parse`] when neither cgroups nor
    /// `/proc/meminfo` can be read.
    pub fn from_cgroup(name: impl Into<String>, headroom: u64) -> Result<Self, Error> {
        let limit = effective_memory_limit()?;
        Ok(Self::new(name, limit.saturating_sub(headroom)))
    }

    /// The budget's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit, in bytes.
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Changes the limit (after the cgroup limit changed). Reservations
    /// already made are kept even if they now pass it; new ones fail until
    /// use drops below.
    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Bytes reserved now.
    #[must_use]
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// The most bytes ever reserved at once.
    #[must_use]
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Reservations refused so far.
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// `used / limit`, 0 for a zero limit with nothing used.
    #[must_use]
    pub fn used_ratio(&self) -> f64 {
        let (used, limit) = (self.used(), self.limit());
        #[expect(clippy::cast_precision_loss, reason = "a ratio")]
        match limit {
            0 if used == 0 => 0.0,
            0 => f64::INFINITY,
            _ => used as f64 / limit as f64,
        }
    }

    /// Reserves `bytes`, borrowing the budget.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] (`resources.budget_exceeded`) when the
    /// reservation would take use past the limit; nothing is reserved then.
    pub fn reserve(&self, bytes: u64) -> Result<Reservation<'_>, Error> {
        self.acquire(bytes)?;
        Ok(Reservation {
            budget: self,
            bytes,
        })
    }

    /// Reserves `bytes` with a reservation that owns a handle on the budget
    /// (for a reservation that moves into a task).
    ///
    /// # Errors
    ///
    /// As [`reserve`](Self::reserve).
    pub fn reserve_owned(self: &Arc<Self>, bytes: u64) -> Result<OwnedReservation, Error> {
        self.acquire(bytes)?;
        Ok(OwnedReservation {
            budget: Arc::clone(self),
            bytes,
        })
    }

    #[inline]
    fn acquire(&self, bytes: u64) -> Result<(), Error> {
        let limit = self.limit.load(Ordering::Relaxed);
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let next = match used.checked_add(bytes) {
                Some(next) if next <= limit => next,
                _ => return Err(self.exceeded(bytes, used, limit)),
            };
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if next > self.peak.load(Ordering::Relaxed) {
                        self.peak.fetch_max(next, Ordering::Relaxed);
                    }
                    return Ok(());
                }
                Err(actual) => used = actual,
            }
        }
    }

    #[cold]
    fn exceeded(&self, requested: u64, used: u64, limit: u64) -> Error {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            target: "pr_resources",
            event = "resources.budget_exceeded",
            budget = %self.name,
            requested,
            used,
            limit,
            "memory reservation refused"
        );
        Error::BudgetExceeded {
            budget: self.name.clone(),
            requested,
            used,
            limit,
        }
    }

    #[inline]
    fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

macro_rules! reservation_methods {
    () => {
        /// Bytes held.
        #[must_use]
        pub fn bytes(&self) -> u64 {
            self.bytes
        }

        /// Reserves `more` bytes in addition.
        ///
        /// # Errors
        ///
        /// [`Error::BudgetExceeded`] when the budget has no room; the
        /// reservation keeps its size then.
        pub fn grow(&mut self, more: u64) -> Result<(), Error> {
            self.budget.acquire(more)?;
            self.bytes += more;
            Ok(())
        }

        /// Gives back up to `less` bytes (all it holds at most).
        pub fn shrink(&mut self, less: u64) {
            let less = less.min(self.bytes);
            self.budget.release(less);
            self.bytes -= less;
        }

        /// Sets the held size to `bytes`, growing or shrinking.
        ///
        /// # Errors
        ///
        /// As [`grow`](Self::grow).
        pub fn resize(&mut self, bytes: u64) -> Result<(), Error> {
            if bytes > self.bytes {
                self.grow(bytes - self.bytes)
            } else {
                self.shrink(self.bytes - bytes);
                Ok(())
            }
        }
    };
}

/// Bytes reserved from a [`MemoryBudget`]; released on drop.
#[must_use = "a reservation is released as soon as it is dropped"]
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Reservation<'_> {
    reservation_methods!();
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

/// Like [`Reservation`], holding an `Arc` of the budget.
#[must_use = "a reservation is released as soon as it is dropped"]
#[derive(Debug)]
pub struct OwnedReservation {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl OwnedReservation {
    reservation_methods!();
}

impl Drop for OwnedReservation {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

/// The effective memory limit of the process: the smallest cgroup memory
/// limit over its ancestors, or the machine's memory where that is smaller
/// or there is no limit.
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Parse`] for `/proc/meminfo` or the cgroup
/// files.
pub fn effective_memory_limit() -> Result<u64, Error> {
    let machine = crate::system::read_parsed(
        std::path::Path::new("/proc/meminfo"),
        crate::procfs::parse_meminfo,
    )?
    .total;
    let cgroup = Cgroups::discover()?.read(1)?.memory_limit;
    Ok(cgroup.map_or(machine, |limit| limit.min(machine)))
}
