//! Memoization: a function wrapped so that its results are cached by
//! argument in a [`MemoryCache`], sync or async, with one run per argument
//! among concurrent callers.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use crate::memory::MemoryCache;

/// A function whose results are cached by argument. Made by [`memoize`].
///
/// Which `call` method is available depends on the function's shape:
/// [`call`](Self::call) for `Fn(A) -> impl Future<Output = V>`,
/// [`try_call`](Self::try_call) for a future of a `Result`,
/// [`call_blocking`](Self::call_blocking) for `Fn(&A) -> V` and
/// [`try_call_blocking`](Self::try_call_blocking) for
/// `Fn(&A) -> Result<V, E>`. Errors are not cached.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use pr_cache::{MemoryCache, memoize};
///
/// # fn main() -> Result<(), pr_cache::Error> {
/// let runs = AtomicU32::new(0);
/// let square = memoize(MemoryCache::builder().max_entries(1_000).build()?, |n: &u64| {
///     runs.fetch_add(1, Ordering::Relaxed);
///     n * n
/// });
/// assert_eq!(square.call_blocking(12), 144);
/// assert_eq!(square.call_blocking(12), 144);
/// assert_eq!(runs.load(Ordering::Relaxed), 1);
/// # Ok(())
/// # }
/// ```
pub struct Memoized<A, V, F> {
    cache: MemoryCache<A, V>,
    f: F,
}

impl<A, V, F> fmt::Debug for Memoized<A, V, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memoized")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Wraps `f` so that its results are cached by argument in `cache`.
pub fn memoize<A, V, F>(cache: MemoryCache<A, V>, f: F) -> Memoized<A, V, F> {
    Memoized { cache, f }
}

impl<A, V, F> Memoized<A, V, F>
where
    A: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The cache behind it (for statistics, invalidation, ...).
    #[must_use]
    pub fn cache(&self) -> &MemoryCache<A, V> {
        &self.cache
    }

    /// `f(&arg)`, computed once per argument; concurrent callers with the
    /// same argument block until the one run returns.
    pub fn call_blocking(&self, arg: A) -> V
    where
        F: Fn(&A) -> V,
    {
        self.cache
            .get_or_insert_with_blocking(arg.clone(), move || (self.f)(&arg))
    }

    /// `f(&arg)` for a fallible `f`; an error is returned (shared with
    /// concurrent callers) and not cached.
    ///
    /// # Errors
    ///
    /// The function's error.
    pub fn try_call_blocking<E>(&self, arg: A) -> Result<V, Arc<E>>
    where
        F: Fn(&A) -> Result<V, E>,
        E: Send + Sync + 'static,
    {
        self.cache
            .try_get_or_insert_with_blocking(arg.clone(), move || (self.f)(&arg))
    }

    /// `f(arg).await`, computed once per argument.
    pub async fn call<Fut>(&self, arg: A) -> V
    where
        F: Fn(A) -> Fut,
        Fut: Future<Output = V>,
    {
        self.cache
            .get_or_insert_with(arg.clone(), || (self.f)(arg))
            .await
    }

    /// `f(arg).await` for a fallible `f`; an error is returned (shared with
    /// concurrent callers) and not cached.
    ///
    /// # Errors
    ///
    /// The function's error.
    pub async fn try_call<Fut, E>(&self, arg: A) -> Result<V, Arc<E>>
    where
        F: Fn(A) -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        self.cache
            .try_get_or_insert_with(arg.clone(), || (self.f)(arg))
            .await
    }
}
