//! The reload status as a pr-health check (feature `health`).
//!
//! A failed reload leaves the service on its last good configuration, so the
//! check reports Degraded rather than Down, and it is not critical: a bad
//! edit of a config file should page someone, not take the instance out of
//! rotation.

use pr_health::{Check, CheckFuture, Group, Outcome};

use crate::ConfigHandle;

/// A [`Check`] over a [`ConfigHandle`]'s reload status: Up while the last
/// reload attempt succeeded, Degraded (with the error, which never holds a
/// value) while the last attempt failed and the last good configuration is
/// in use.
///
/// ```
/// use pr_config::{ConfigHandle, ConfigLoader, ReloadCheck, Validate};
/// use pr_health::{Check, Status};
///
/// #[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
/// #[serde(default)]
/// struct Settings { workers: u32 }
/// impl Validate for Settings {}
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("pr-config-health-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let file = dir.join("app.toml");
/// std::fs::write(&file, "workers = 4\n")?;
/// let handle = ConfigHandle::new(ConfigLoader::<Settings>::builder().file(&file).build())?;
/// let check = ReloadCheck::new(handle.clone());
/// assert_eq!(check.evaluate().status(), Status::Up);
///
/// std::fs::write(&file, "workers = \"many\"\n")?;
/// assert!(handle.reload().is_err());
/// let outcome = check.evaluate();
/// assert_eq!(outcome.status(), Status::Degraded);
/// assert!(!outcome.message().unwrap_or_default().contains("many")); // never the value
/// assert!(!check.critical());
///
/// std::fs::write(&file, "workers = 8\n")?;
/// handle.reload()?;
/// assert_eq!(check.evaluate().status(), Status::Up);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a check does nothing until it is added to a registry"]
pub struct ReloadCheck<T> {
    handle: ConfigHandle<T>,
    name: String,
}

impl<T> ReloadCheck<T> {
    /// A check named `config` over `handle`.
    pub fn new(handle: ConfigHandle<T>) -> Self {
        Self {
            handle,
            name: "config".to_owned(),
        }
    }

    /// The same check under another name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The outcome now.
    #[must_use]
    pub fn evaluate(&self) -> Outcome {
        let status = self.handle.status();
        match status.last_error {
            None => Outcome::up().with_message(format!("generation {}", status.generation)),
            Some(error) => Outcome::degraded(format!(
                "the last reload failed ({} failure(s) so far); serving generation {}: {error}",
                status.failures, status.generation
            )),
        }
    }
}

impl<T: Send + Sync + 'static> Check for ReloadCheck<T> {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        let outcome = self.evaluate();
        Box::pin(async move { outcome })
    }

    fn critical(&self) -> bool {
        false
    }

    fn groups(&self) -> Vec<Group> {
        vec![Group::READINESS]
    }
}
