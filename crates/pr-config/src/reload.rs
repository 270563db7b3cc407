//! Hot reload: [`ConfigHandle`] (lock-free reads, subscriptions, a reload
//! status, reloading on SIGHUP) and, with feature `watch`, file watching
//! that keeps the last good configuration (its own part, so that a service
//! that reloads on SIGHUP alone compiles no notify).

#[cfg(feature = "watch")]
mod watch;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ConfigLoader, Error, Explanation, Validate, Warning};

#[cfg(feature = "watch")]
pub use watch::{WatchMode, Watcher};

/// How a reload went, for health checks and status pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadStatus {
    /// 1 after the initial load, plus one per applied reload.
    pub generation: u64,
    /// When the configuration in use was loaded.
    pub last_success: Option<SystemTime>,
    /// When the last reload failed, if the last attempt failed.
    pub last_failure: Option<SystemTime>,
    /// The last attempt's error (its problems, never a value), if it failed.
    pub last_error: Option<String>,
    /// Reloads that failed since the start.
    pub failures: u64,
}

impl ReloadStatus {
    /// Whether the last reload attempt succeeded (the service runs on the
    /// newest configuration).
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.last_error.is_none()
    }
}

struct Inner<T> {
    loader: ConfigLoader<T>,
    /// The profile of the first load, whose files are watched too.
    #[cfg(feature = "watch")]
    profile: Option<String>,
    current: Arc<ArcSwap<T>>,
    explanation: ArcSwap<Explanation>,
    warnings: Mutex<Vec<Warning>>,
    status: Mutex<ReloadStatus>,
    reloading: Mutex<()>,
    tx: tokio::sync::watch::Sender<Arc<T>>,
}

/// The live configuration: `current()` is a lock-free read of the last good
/// configuration; `reload()` builds and validates a new one completely
/// before swapping it in, and keeps the old one on failure.
///
/// Cloning is cheap (one `Arc`).
///
/// # Examples
///
/// ```
/// use pr_config::{ConfigHandle, ConfigLoader, Validate};
///
/// #[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
/// #[serde(default)]
/// struct Config { workers: u32 }
/// impl Validate for Config {}
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("pr-config-reload-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let file = dir.join("app.toml");
/// std::fs::write(&file, "workers = 4\n")?;
/// let handle = ConfigHandle::new(ConfigLoader::<Config>::builder().file(&file).build())?;
/// let mut changes = handle.subscribe();
///
/// std::fs::write(&file, "workers = \"many\"\n")?;
/// assert!(handle.reload().is_err()); // kept the last good configuration
/// assert_eq!(handle.current().workers, 4);
/// assert!(!handle.status().is_healthy());
///
/// std::fs::write(&file, "workers = 8\n")?;
/// handle.reload()?;
/// assert_eq!(handle.current().workers, 8);
/// assert_eq!(handle.peek().workers, 8);
/// let mut reader = handle.reader();
/// assert_eq!(reader.current().workers, 8);
/// assert!(changes.has_changed()?);
/// assert_eq!(handle.status().generation, 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct ConfigHandle<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for ConfigHandle<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> std::fmt::Debug for ConfigHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigHandle")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl<T> ConfigHandle<T> {
    /// The last good configuration (lock-free).
    #[must_use]
    pub fn current(&self) -> Arc<T> {
        self.inner.current.load_full()
    }

    /// A borrow of the last good configuration for a hot path: cheaper
    /// than [`current`](Self::current) (no reference-count traffic while
    /// few guards are alive on the thread); hold it briefly.
    #[must_use]
    pub fn peek(&self) -> Current<T> {
        Current(self.inner.current.load())
    }

    /// A per-thread reader for the hottest paths: its
    /// [`current`](Reader::current) costs one atomic load while the
    /// configuration is unchanged.
    #[must_use]
    pub fn reader(&self) -> Reader<T> {
        Reader(arc_swap::Cache::new(Arc::clone(&self.inner.current)))
    }

    /// A receiver that sees every applied configuration.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<T>> {
        self.inner.tx.subscribe()
    }

    /// How reloading goes.
    #[must_use]
    pub fn status(&self) -> ReloadStatus {
        pr_core::sync::lock(&self.inner.status).clone()
    }

    /// The warnings of the load that gave the configuration in use (unknown
    /// keys, loose secret files): for a caller that installs logging only
    /// after loading, as `App` does, to log them then.
    #[must_use]
    pub fn warnings(&self) -> Vec<Warning> {
        pr_core::sync::lock(&self.inner.warnings).clone()
    }

    /// The provenance of the configuration in use.
    #[must_use]
    pub fn explain(&self) -> Arc<Explanation> {
        self.inner.explanation.load_full()
    }
}

impl<T> ConfigHandle<T>
where
    T: DeserializeOwned + Serialize + Default + Validate + Send + Sync + 'static,
{
    /// Loads the configuration a first time.
    ///
    /// # Errors
    ///
    /// The loader's [`Error::Invalid`].
    pub fn new(loader: ConfigLoader<T>) -> Result<Self, Error> {
        let loaded = loader.load()?;
        #[cfg(feature = "watch")]
        let profile = loaded.profile.clone();
        let explanation = loaded.explain().clone();
        let warnings = Mutex::new(loaded.warnings.clone());
        let config = Arc::new(loaded.into_inner());
        let (tx, _) = tokio::sync::watch::channel(Arc::clone(&config));
        Ok(Self {
            inner: Arc::new(Inner {
                loader,
                #[cfg(feature = "watch")]
                profile,
                current: Arc::new(ArcSwap::new(config)),
                explanation: ArcSwap::from_pointee(explanation),
                warnings,
                status: Mutex::new(ReloadStatus {
                    generation: 1,
                    last_success: Some(SystemTime::now()),
                    ..ReloadStatus::default()
                }),
                reloading: Mutex::new(()),
                tx,
            }),
        })
    }

    /// Loads and validates the sources again; swaps the result in only when
    /// everything is valid. Returns the new generation.
    ///
    /// # Errors
    ///
    /// The loader's [`Error::Invalid`]; the previous configuration stays in
    /// use and [`status`](Self::status) reports the error.
    pub fn reload(&self) -> Result<u64, Error> {
        let _one_at_a_time = pr_core::sync::lock(&self.inner.reloading);
        match self.inner.loader.load() {
            Ok(loaded) => {
                self.inner
                    .explanation
                    .store(Arc::new(loaded.explain().clone()));
                *pr_core::sync::lock(&self.inner.warnings) = loaded.warnings.clone();
                let config = Arc::new(loaded.into_inner());
                self.inner.current.store(Arc::clone(&config));
                let generation = {
                    let mut status = pr_core::sync::lock(&self.inner.status);
                    status.generation += 1;
                    status.last_success = Some(SystemTime::now());
                    status.last_error = None;
                    status.last_failure = None;
                    status.generation
                };
                // After the status: a subscriber woken by it reads the new generation.
                self.inner.tx.send_replace(config);
                tracing::info!(
                    event = "config.reloaded",
                    generation,
                    "configuration reloaded"
                );
                Ok(generation)
            }
            Err(error) => {
                let mut status = pr_core::sync::lock(&self.inner.status);
                status.failures += 1;
                status.last_failure = Some(SystemTime::now());
                status.last_error = Some(error.to_string());
                tracing::warn!(event = "config.reload_failed", error = %error, "configuration reload failed; keeping the last good configuration");
                Err(error)
            }
        }
    }

    /// Reloads on every SIGHUP, on the current tokio runtime, until the
    /// returned task is aborted.
    ///
    /// # Errors
    ///
    /// [`Error::WatchFailed`] when the signal handler cannot be installed.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    #[cfg(unix)]
    pub fn reload_on_sighup(&self) -> Result<tokio::task::JoinHandle<()>, Error> {
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| Error::WatchFailed {
                path: PathBuf::from("SIGHUP"),
                reason: format!("cannot install the handler ({})", e.kind()),
            })?;
        let handle = self.clone();
        Ok(tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let _ = handle.reload();
            }
        }))
    }
}

/// A short-lived borrow of the configuration (see [`ConfigHandle::peek`]).
pub struct Current<T>(arc_swap::Guard<Arc<T>>);

impl<T> Current<T> {
    /// An owned reference that may be kept.
    #[must_use]
    pub fn into_arc(self) -> Arc<T> {
        arc_swap::Guard::into_inner(self.0)
    }
}

impl<T> std::ops::Deref for Current<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Current<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// A cached reader of the configuration (see [`ConfigHandle::reader`]);
/// one per thread or task.
pub struct Reader<T>(arc_swap::Cache<Arc<ArcSwap<T>>, Arc<T>>);

impl<T> Reader<T> {
    /// The last good configuration.
    pub fn current(&mut self) -> &Arc<T> {
        self.0.load()
    }
}

impl<T> std::fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}
