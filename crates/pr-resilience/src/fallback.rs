//! Fallback: a value, or a function of the error, in place of a failure.

use std::fmt;

/// Answers a substitute when an operation fails: a fixed value
/// ([`Fallback::value`](crate::fallback::Fallback::value)) or one computed from the error
/// ([`Fallback::from_fn`](crate::fallback::Fallback::from_fn)), which may decline (`None`) to keep the error.
///
/// # Examples
///
/// ```
/// use pr_resilience::fallback::Fallback;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cached = Fallback::value(vec!["cached"]);
/// let answer = cached.call(async { Err::<Vec<&str>, _>("timeout") }).await;
/// assert_eq!(answer, Ok(vec!["cached"]));
///
/// let only_timeouts = Fallback::from_fn(|error: &&str| (*error == "timeout").then_some(0));
/// assert_eq!(only_timeouts.call(async { Err::<i32, _>("forbidden") }).await, Err("forbidden"));
/// # }
/// ```
#[derive(Clone)]
pub struct Fallback<H> {
    handler: H,
}

impl<H> fmt::Debug for Fallback<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fallback")
    }
}

/// The handler of [`Fallback::value`](crate::fallback::Fallback::value).
#[derive(Clone, Debug)]
pub struct Value<T>(T);

/// What a fallback does with an error.
pub trait Handle<T, E> {
    /// The substitute for `error`, or `None` to keep the error.
    fn handle(&self, error: &E) -> Option<T>;
}

impl<T: Clone, E> Handle<T, E> for Value<T> {
    fn handle(&self, _: &E) -> Option<T> {
        Some(self.0.clone())
    }
}

/// The handler of [`Fallback::from_fn`](crate::fallback::Fallback::from_fn).
#[derive(Clone, Debug)]
pub struct FromFn<F>(F);

impl<T, E, F: Fn(&E) -> Option<T>> Handle<T, E> for FromFn<F> {
    fn handle(&self, error: &E) -> Option<T> {
        (self.0)(error)
    }
}

impl<T> Fallback<Value<T>> {
    /// Every failure becomes `value`.
    pub fn value(value: T) -> Self {
        Self {
            handler: Value(value),
        }
    }
}

impl<F> Fallback<FromFn<F>> {
    /// A failure becomes `handler(&error)`, unless it answers `None`.
    pub fn from_fn(handler: F) -> Self {
        Self {
            handler: FromFn(handler),
        }
    }
}

impl<H> Fallback<H> {
    /// Applies the fallback to an outcome.
    ///
    /// # Errors
    ///
    /// The error, when the handler declines it.
    pub fn apply<T, E>(&self, outcome: Result<T, E>) -> Result<T, E>
    where
        H: Handle<T, E>,
    {
        match outcome {
            Ok(value) => Ok(value),
            Err(error) => match self.handler.handle(&error) {
                Some(value) => {
                    tracing::debug!(target: "pr_resilience::fallback", event = "fallback.used", "fallback used");
                    Ok(value)
                }
                None => Err(error),
            },
        }
    }

    /// Runs `fut` and applies the fallback to its outcome.
    ///
    /// # Errors
    ///
    /// The error, when the handler declines it.
    pub async fn call<T, E>(&self, fut: impl Future<Output = Result<T, E>>) -> Result<T, E>
    where
        H: Handle<T, E>,
    {
        self.apply(fut.await)
    }
}
