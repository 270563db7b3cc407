//! File watching for [`ConfigHandle`] (feature `watch`, on notify): the
//! files' directories are watched rather than the files, so that atomic
//! renames and the Kubernetes `ConfigMap` `..data` symlink swap are seen,
//! and a reload runs once the directory has been quiet for the debounce.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::Watcher as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ConfigHandle;
use crate::{Error, Validate};

impl<T> ConfigHandle<T>
where
    T: DeserializeOwned + Serialize + Default + Validate + Send + Sync + 'static,
{
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
