//! Hot reload: [`ConfigHandle`] (lock-free reads, subscriptions, a reload
//! status) and file watching that keeps the last good configuration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use notify::Watcher as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ConfigLoader, Error, Explanation, Validate, Warning};

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
        let profile = loaded.profile.clone();
        let explanation = loaded.explain().clone();
        let warnings = Mutex::new(loaded.warnings.clone());
        let config = Arc::new(loaded.into_inner());
        let (tx, _) = tokio::sync::watch::channel(Arc::clone(&config));
        Ok(Self {
            inner: Arc::new(Inner {
                loader,
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
                self.inner.tx.send_replace(config);
                let mut status = pr_core::sync::lock(&self.inner.status);
                status.generation += 1;
                status.last_success = Some(SystemTime::now());
                status.last_error = None;
                status.last_failure = None;
                tracing::info!(
                    event = "config.reloaded",
                    generation = status.generation,
                    "configuration reloaded"
                );
                Ok(status.generation)
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

    /// Watches the configuration files' directories (so that atomic renames
    /// and the Kubernetes `ConfigMap` `..data` symlink swap are seen) and
    /// reloads after `mode`'s debounce. Dropping the [`Watcher`] stops it.
    ///
    /// # Errors
    ///
    /// [`Error::WatchFailed`] when no watcher can be set up.
    pub fn watch(&self, mode: WatchMode) -> Result<Watcher, Error> {
        let files = self
            .inner
            .loader
            .watched_files(self.inner.profile.as_deref());
        let names: BTreeSet<std::ffi::OsString> = files
            .iter()
            .filter_map(|f| f.file_name().map(ToOwned::to_owned))
            .collect();
        let dirs: BTreeSet<PathBuf> = files
            .iter()
            .map(|f| match f.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            })
            .collect();
        // `false`: something changed; `true`: stop.
        let (tx, rx) = mpsc::channel::<bool>();
        let stop = tx.clone();
        let relevant = move |event: &notify::Event| {
            event.paths.iter().any(|p| {
                p.file_name().is_some_and(|n| {
                    names.contains(n) || n.to_str().is_some_and(|s| s.starts_with(".."))
                })
            })
        };
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res
                && !event.kind.is_access()
                && relevant(&event)
            {
                let _ = tx.send(false);
            }
        };
        let (mut watcher, debounce): (Box<dyn notify::Watcher + Send>, Duration) = match mode {
            WatchMode::Native { debounce } => {
                match notify::RecommendedWatcher::new(handler.clone(), notify::Config::default()) {
                    Ok(w) => (Box::new(w), debounce),
                    Err(e) => {
                        tracing::warn!(event = "config.watch_fallback", error = %e, "native file watching unavailable; polling");
                        (poll(handler, Duration::from_secs(2), &dirs)?, debounce)
                    }
                }
            }
            WatchMode::Poll { interval, debounce } => (poll(handler, interval, &dirs)?, debounce),
        };
        for dir in &dirs {
            watcher
                .watch(dir, notify::RecursiveMode::NonRecursive)
                .map_err(|e| watch_failed(dir, &e))?;
        }
        let handle = self.clone();
        let thread = std::thread::Builder::new()
            .name("pr-config-reload".to_owned())
            .spawn(move || {
                while let Ok(false) = rx.recv() {
                    // Debounce: wait until the directory has been quiet.
                    loop {
                        match rx.recv_timeout(debounce) {
                            Ok(false) => {}
                            Ok(true) => return,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    let _ = handle.reload();
                }
            })
            .map_err(|e| Error::WatchFailed {
                path: PathBuf::new(),
                reason: format!("cannot start the reload thread ({})", e.kind()),
            })?;
        Ok(Watcher {
            stop,
            watcher: Some(watcher),
            thread: Some(thread),
        })
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

fn watch_failed(path: &Path, e: &notify::Error) -> Error {
    Error::WatchFailed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn poll<F: notify::EventHandler>(
    handler: F,
    interval: Duration,
    dirs: &BTreeSet<PathBuf>,
) -> Result<Box<dyn notify::Watcher + Send>, Error> {
    notify::PollWatcher::new(
        handler,
        notify::Config::default()
            .with_poll_interval(interval)
            .with_compare_contents(true),
    )
    .map(|w| Box::new(w) as Box<dyn notify::Watcher + Send>)
    .map_err(|e| watch_failed(dirs.first().map_or(Path::new("."), PathBuf::as_path), &e))
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

/// How to notice changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchMode {
    /// The platform's notifications (inotify), falling back to polling every
    /// 2 s when unavailable; reload once the directory has been quiet for
    /// `debounce`.
    Native {
        /// The quiet period before a reload.
        debounce: Duration,
    },
    /// Poll every `interval` (network file systems, some containers).
    Poll {
        /// How often to look.
        interval: Duration,
        /// The quiet period before a reload.
        debounce: Duration,
    },
}

impl Default for WatchMode {
    fn default() -> Self {
        Self::Native {
            debounce: Duration::from_millis(200),
        }
    }
}

/// A running watcher; dropping it stops watching.
#[must_use = "dropping the watcher stops watching"]
pub struct Watcher {
    stop: mpsc::Sender<bool>,
    watcher: Option<Box<dyn notify::Watcher + Send>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.watcher.take());
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
