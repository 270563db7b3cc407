//! The bulkhead: a concurrency limit with a bounded wait queue and a
//! maximum wait.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::{CallError, Error};

mod config;
#[cfg(feature = "tower")]
mod layer;

pub use config::BulkheadConfig;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{BulkheadLayer, BulkheadService};

struct Inner {
    name: String,
    limit: usize,
    max_queue: usize,
    max_wait: Option<Duration>,
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::BulkheadMetrics,
}

/// A concurrency limit: at most `limit` calls run at once, at most
/// `max_queue` more wait (each at most `max_wait`), the rest are refused
/// with [`Error::BulkheadFull`] (`resilience.bulkhead_full`). Clones share
/// the limit.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_resilience::bulkhead::Bulkhead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pr_resilience::Error> {
/// let bulkhead = Bulkhead::builder("reports").limit(2).max_queue(0).build()?;
/// let first = bulkhead.try_acquire()?;
/// let second = bulkhead.try_acquire()?;
/// assert!(bulkhead.try_acquire().is_err());
/// drop((first, second));
/// let answer = bulkhead.call(async { Ok::<_, std::io::Error>(7) }).await;
/// assert_eq!(answer.ok(), Some(7));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Bulkhead(Arc<Inner>);

impl fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulkhead")
            .field("name", &self.0.name)
            .field("limit", &self.0.limit)
            .field("in_use", &self.in_use())
            .finish_non_exhaustive()
    }
}

/// A running call's place in a [`Bulkhead`]; freed on drop.
#[must_use = "the place is freed when the permit is dropped"]
pub struct BulkheadPermit<'a> {
    _permit: SemaphorePermit<'a>,
    #[cfg(feature = "metrics")]
    bulkhead: &'a Bulkhead,
}

impl fmt::Debug for BulkheadPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BulkheadPermit")
    }
}

#[cfg(feature = "metrics")]
impl Drop for BulkheadPermit<'_> {
    fn drop(&mut self) {
        self.bulkhead.0.metrics.in_use.decrement(1.0);
    }
}

/// An owned [`BulkheadPermit`], for `'static` futures.
#[must_use = "the place is freed when the permit is dropped"]
pub struct OwnedBulkheadPermit {
    _permit: OwnedSemaphorePermit,
    #[cfg(feature = "metrics")]
    bulkhead: Bulkhead,
}

impl fmt::Debug for OwnedBulkheadPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedBulkheadPermit")
    }
}

#[cfg(feature = "metrics")]
impl Drop for OwnedBulkheadPermit {
    fn drop(&mut self) {
        self.bulkhead.0.metrics.in_use.decrement(1.0);
    }
}

/// A bulkhead's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct BulkheadSnapshot {
    /// The limit.
    pub limit: usize,
    /// Calls running now.
    pub in_use: usize,
    /// Calls waiting for a place.
    pub waiting: usize,
}

impl Bulkhead {
    /// A builder: 25 concurrent calls, no queue (Resilience4j's default).
    pub fn builder(name: impl Into<String>) -> BulkheadBuilder {
        BulkheadBuilder {
            name: name.into(),
            limit: 25,
            max_queue: 0,
            max_wait: None,
        }
    }

    /// The bulkhead's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Calls running now.
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.0.limit - self.0.semaphore.available_permits()
    }

    /// The bulkhead's figures now.
    #[must_use]
    pub fn snapshot(&self) -> BulkheadSnapshot {
        BulkheadSnapshot {
            limit: self.0.limit,
            in_use: self.in_use(),
            waiting: self.0.waiting.load(Ordering::Acquire),
        }
    }

    fn full(&self) -> Error {
        #[cfg(feature = "metrics")]
        self.0.metrics.rejected.increment(1);
        tracing::debug!(target: "pr_resilience::bulkhead", event = "bulkhead.rejected", bulkhead = %self.0.name, "bulkhead full; call refused");
        Error::BulkheadFull {
            name: self.0.name.clone(),
            limit: self.0.limit,
        }
    }

    fn admitted(&self) {
        #[cfg(feature = "metrics")]
        self.0.metrics.in_use.increment(1.0);
    }

    /// Takes a place now, without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::BulkheadFull`] when every place is taken.
    #[inline]
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_>, Error> {
        match self.0.semaphore.try_acquire() {
            Ok(permit) => {
                self.admitted();
                Ok(BulkheadPermit {
                    _permit: permit,
                    #[cfg(feature = "metrics")]
                    bulkhead: self,
                })
            }
            Err(_) => Err(self.full()),
        }
    }

    /// Takes a place, waiting in the queue if there is room in it.
    ///
    /// # Errors
    ///
    /// [`Error::BulkheadFull`] when the queue is full or the wait is over.
    #[inline]
    pub async fn acquire(&self) -> Result<BulkheadPermit<'_>, Error> {
        if let Ok(permit) = self.0.semaphore.try_acquire() {
            self.admitted();
            return Ok(BulkheadPermit {
                _permit: permit,
                #[cfg(feature = "metrics")]
                bulkhead: self,
            });
        }
        let _queued = self.enqueue()?;
        let permit = match self.0.max_wait {
            Some(wait) => tokio::time::timeout(wait, self.0.semaphore.acquire())
                .await
                .map_err(|_| self.full())?,
            None => self.0.semaphore.acquire().await,
        }
        .map_err(|_| self.full())?;
        self.admitted();
        Ok(BulkheadPermit {
            _permit: permit,
            #[cfg(feature = "metrics")]
            bulkhead: self,
        })
    }

    /// [`acquire`](Self::acquire), owning its place.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_owned(&self) -> Result<OwnedBulkheadPermit, Error> {
        let semaphore = Arc::clone(&self.0.semaphore);
        let permit = match semaphore.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let _queued = self.enqueue()?;
                match self.0.max_wait {
                    Some(wait) => tokio::time::timeout(wait, semaphore.acquire_owned())
                        .await
                        .map_err(|_| self.full())?,
                    None => semaphore.acquire_owned().await,
                }
                .map_err(|_| self.full())?
            }
        };
        self.admitted();
        Ok(OwnedBulkheadPermit {
            _permit: permit,
            #[cfg(feature = "metrics")]
            bulkhead: self.clone(),
        })
    }

    fn enqueue(&self) -> Result<Queued<'_>, Error> {
        let before = self.0.waiting.fetch_add(1, Ordering::AcqRel);
        let queued = Queued(&self.0.waiting);
        if before >= self.0.max_queue {
            drop(queued);
            return Err(self.full());
        }
        Ok(queued)
    }

    /// Runs `fut` in a place.
    ///
    /// # Errors
    ///
    /// [`CallError::Rejected`] with [`Error::BulkheadFull`], or the
    /// operation's error.
    pub async fn call<T, E>(
        &self,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, CallError<E>> {
        let _permit = self.acquire().await?;
        fut.await.map_err(CallError::Inner)
    }
}

struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Builds a [`Bulkhead`].
#[must_use]
#[derive(Clone, Debug)]
pub struct BulkheadBuilder {
    name: String,
    limit: usize,
    max_queue: usize,
    max_wait: Option<Duration>,
}

impl BulkheadBuilder {
    /// The most calls running at once.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The most calls waiting for a place (0: refuse at once when full).
    pub fn max_queue(mut self, max_queue: usize) -> Self {
        self.max_queue = max_queue;
        self
    }

    /// The longest a call waits for a place (`None`: as long as it takes).
    pub fn max_wait(mut self, max_wait: Option<Duration>) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The bulkhead.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero limit or one above tokio's
    /// semaphore maximum.
    pub fn build(self) -> Result<Bulkhead, Error> {
        if self.limit == 0 || self.limit > Semaphore::MAX_PERMITS {
            return Err(Error::invalid(
                "bulkhead.limit",
                format!(
                    "must be 1 to {}, got {}",
                    Semaphore::MAX_PERMITS,
                    self.limit
                ),
            ));
        }
        Ok(Bulkhead(Arc::new(Inner {
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::BulkheadMetrics::new(&self.name),
            semaphore: Arc::new(Semaphore::new(self.limit)),
            limit: self.limit,
            max_queue: self.max_queue,
            max_wait: self.max_wait,
            waiting: AtomicUsize::new(0),
            name: self.name,
        })))
    }
}
