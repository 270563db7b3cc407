//! [`StatusBoard`]: the sections components contribute to `/status`.

use std::fmt;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::app::Error;

/// Names [`App`](crate::app::App) fills in itself; a contributed section
/// may not use them.
pub const RESERVED_SECTIONS: &[&str] = &["service", "health", "resources", "config", "logging"];

type Section = Arc<dyn Fn() -> Value + Send + Sync>;

/// The sections of the `/status` document that components contribute:
/// breaker states (`breakers`), limiter stats (`limiters`), cache stats
/// (`caches`), dead-letter queue sizes (`dlq`), or anything else with a
/// cheap snapshot. Each section is a closure run on every `GET /status`.
///
/// Cheap to clone; every clone is the same board.
///
/// # Examples
///
/// ```
/// use pr_facade::app::StatusBoard;
///
/// # fn main() -> Result<(), pr_facade::app::Error> {
/// let board = StatusBoard::new();
/// board.add("caches", || serde_json::json!({"quotes": {"hits": 3, "misses": 1}}))?;
/// assert!(board.add("caches", || serde_json::Value::Null).is_err(), "one owner per name");
/// assert!(board.add("health", || serde_json::Value::Null).is_err(), "reserved");
/// assert_eq!(board.render()["caches"]["quotes"]["hits"], 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct StatusBoard(Arc<RwLock<Vec<(String, Section)>>>);

impl fmt::Debug for StatusBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusBoard")
            .field("sections", &self.names())
            .finish()
    }
}

impl StatusBoard {
    /// An empty board.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the section `name`, whose content `section` computes.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateSection`] when the name is taken or reserved
    /// ([`RESERVED_SECTIONS`]).
    pub fn add(
        &self,
        name: impl Into<String>,
        section: impl Fn() -> Value + Send + Sync + 'static,
    ) -> Result<(), Error> {
        let name = name.into();
        let mut sections = pr_core::sync::write(&self.0);
        if RESERVED_SECTIONS.contains(&name.as_str()) || sections.iter().any(|(n, _)| *n == name) {
            return Err(Error::DuplicateSection { name });
        }
        sections.push((name, Arc::new(section)));
        Ok(())
    }

    /// Removes the section `name`; returns whether it was there.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; whether it was there is informational"
    )]
    pub fn remove(&self, name: &str) -> bool {
        let mut sections = pr_core::sync::write(&self.0);
        let before = sections.len();
        sections.retain(|(n, _)| n != name);
        sections.len() != before
    }

    /// The sections' names, in the order they were added.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        pr_core::sync::read(&self.0)
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Every section, computed now, as one JSON object.
    #[must_use]
    pub fn render(&self) -> Map<String, Value> {
        // Run the closures outside the lock: a section may be slow or add one.
        let sections: Vec<(String, Section)> = pr_core::sync::read(&self.0)
            .iter()
            .map(|(n, s)| (n.clone(), Arc::clone(s)))
            .collect();
        sections.into_iter().map(|(n, s)| (n, s())).collect()
    }
}
