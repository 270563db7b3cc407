//! The [`Check`] trait, check groups, and checks made from closures.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::Outcome;

/// The future a [`Check`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A named set of checks that one probe evaluates.
///
/// Three groups are built in; any other name is a custom group that
/// [`HealthRegistry::report`](crate::HealthRegistry::report) can evaluate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group(Cow<'static, str>);

impl Group {
    /// Checks the liveness probe runs. Only checks of the process itself
    /// (a stuck event loop, a deadlock) belong here, never an external
    /// dependency: a failing liveness probe restarts the process.
    pub const LIVENESS: Self = Self(Cow::Borrowed("liveness"));
    /// Checks the readiness probe runs: the dependencies without which the
    /// instance should receive no traffic. The default group of a check.
    pub const READINESS: Self = Self(Cow::Borrowed("readiness"));
    /// Checks the startup probe runs, for slow starts (warming a cache,
    /// running migrations).
    pub const STARTUP: Self = Self(Cow::Borrowed("startup"));

    /// A custom group.
    #[must_use]
    pub fn custom(name: impl Into<Cow<'static, str>>) -> Self {
        Self(name.into())
    }

    /// The group's name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something whose health can be checked: a database, a queue, a disk, the
/// process itself.
///
/// `check` returns a boxed future so that checks of different types live in
/// one registry. The registry runs each check on its own task, bounded by
/// its timeout; a check that panics or times out is `Down`.
///
/// # Examples
///
/// ```
/// use pr_health::{Check, CheckFuture, Outcome};
///
/// struct Queue {
///     depth: fn() -> usize,
/// }
///
/// impl Check for Queue {
///     fn name(&self) -> &str {
///         "queue"
///     }
///     fn check(&self) -> CheckFuture<'_> {
///         Box::pin(async move {
///             match (self.depth)() {
///                 0..1000 => Outcome::up(),
///                 depth => Outcome::degraded(format!("{depth} messages waiting")),
///             }
///         })
///     }
///     fn critical(&self) -> bool {
///         false
///     }
/// }
/// ```
pub trait Check: Send + Sync + 'static {
    /// A unique, stable name (`postgres`, `disk:/var/lib/app`).
    fn name(&self) -> &str;

    /// Runs the check once.
    fn check(&self) -> CheckFuture<'_>;

    /// How long one run may take before it counts as `Down`; `None` uses the
    /// registry's default.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Whether the check decides `Down` for its groups. A failing
    /// non-critical check makes its groups at most `Degraded`.
    fn critical(&self) -> bool {
        true
    }

    /// The groups the check belongs to; by default readiness only.
    fn groups(&self) -> Vec<Group> {
        vec![Group::READINESS]
    }
}

/// A check made from an async closure, with its settings. Made by
/// [`check_fn`].
#[must_use = "a check does nothing until it is added to a registry"]
pub struct FnCheck<F> {
    name: String,
    run: F,
    timeout: Option<Duration>,
    critical: bool,
    groups: Vec<Group>,
}

/// A check from a closure returning a future of anything convertible into an
/// [`Outcome`] (an `Outcome`, or a `Result<(), E>`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pr_health::{Group, Outcome, check_fn};
///
/// let check = check_fn("cache", || async { Outcome::up() })
///     .timeout(Duration::from_millis(200))
///     .critical(false)
///     .groups([Group::READINESS, Group::STARTUP]);
/// ```
pub fn check_fn<F, Fut, O>(name: impl Into<String>, run: F) -> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: Into<Outcome>,
{
    FnCheck {
        name: name.into(),
        run,
        timeout: None,
        critical: true,
        groups: vec![Group::READINESS],
    }
}

impl<F> FnCheck<F> {
    /// Sets the timeout of one run.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets whether the check is critical (default true).
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// Sets the groups (default: readiness).
    pub fn groups(mut self, groups: impl IntoIterator<Item = Group>) -> Self {
        self.groups = groups.into_iter().collect();
        self
    }
}

impl<F> fmt::Debug for FnCheck<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCheck")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("critical", &self.critical)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl<F, Fut, O> Check for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: Into<Outcome>,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self) -> CheckFuture<'_> {
        let fut = (self.run)();
        Box::pin(async move { fut.await.into() })
    }
    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
    fn critical(&self) -> bool {
        self.critical
    }
    fn groups(&self) -> Vec<Group> {
        self.groups.clone()
    }
}

impl<C: Check + ?Sized> Check for Arc<C> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn check(&self) -> CheckFuture<'_> {
        (**self).check()
    }
    fn timeout(&self) -> Option<Duration> {
        (**self).timeout()
    }
    fn critical(&self) -> bool {
        (**self).critical()
    }
    fn groups(&self) -> Vec<Group> {
        (**self).groups()
    }
}
