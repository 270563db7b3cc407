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
///
/// // Components of one kind share a section, each under its own name.
/// board.add_entry("breakers", "db", || serde_json::json!({"state": "closed"}))?;
/// board.add_entry("breakers", "search", || serde_json::json!({"state": "open"}))?;
/// assert_eq!(board.render()["breakers"]["search"]["state"], "open");
/// assert!(board.add_entry("breakers", "db", || serde_json::Value::Null).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct StatusBoard(Arc<RwLock<Vec<Contribution>>>);

/// One contribution: a whole section, or one named entry of a section.
struct Contribution {
    section: String,
    entry: Option<String>,
    render: Section,
}

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
        if RESERVED_SECTIONS.contains(&name.as_str()) || sections.iter().any(|c| c.section == name)
        {
            return Err(Error::DuplicateSection { name });
        }
        sections.push(Contribution {
            section: name,
            entry: None,
            render: Arc::new(section),
        });
        Ok(())
    }

    /// Adds the entry `entry` to the section `section` (an object of
    /// entries, `{"breakers": {"db": ..., "search": ...}}`), whose content
    /// `render` computes. What components of one kind use, each under its
    /// own name.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateSection`] when the section is reserved
    /// ([`RESERVED_SECTIONS`]) or added whole with [`add`](Self::add), or
    /// the entry is taken (named `section.entry`).
    pub fn add_entry(
        &self,
        section: &str,
        entry: &str,
        render: impl Fn() -> Value + Send + Sync + 'static,
    ) -> Result<(), Error> {
        let mut sections = pr_core::sync::write(&self.0);
        let taken = sections
            .iter()
            .any(|c| c.section == section && c.entry.as_deref().is_none_or(|e| e == entry));
        if RESERVED_SECTIONS.contains(&section) || taken {
            return Err(Error::DuplicateSection {
                name: format!("{section}.{entry}"),
            });
        }
        sections.push(Contribution {
            section: section.to_owned(),
            entry: Some(entry.to_owned()),
            render: Arc::new(render),
        });
        Ok(())
    }

    /// Removes the section `name`, with all its entries; returns whether it
    /// was there.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; whether it was there is informational"
    )]
    pub fn remove(&self, name: &str) -> bool {
        let mut sections = pr_core::sync::write(&self.0);
        let before = sections.len();
        sections.retain(|c| c.section != name);
        sections.len() != before
    }

    /// The sections' names, in the order they were added.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for c in pr_core::sync::read(&self.0).iter() {
            if !names.contains(&c.section) {
                names.push(c.section.clone());
            }
        }
        names
    }

    /// Every section, computed now, as one JSON object.
    #[must_use]
    pub fn render(&self) -> Map<String, Value> {
        // Run the closures outside the lock: a section may be slow or add one.
        let sections: Vec<(String, Option<String>, Section)> = pr_core::sync::read(&self.0)
            .iter()
            .map(|c| (c.section.clone(), c.entry.clone(), Arc::clone(&c.render)))
            .collect();
        let mut document = Map::new();
        for (section, entry, render) in sections {
            match entry {
                None => {
                    document.insert(section, render());
                }
                Some(entry) => {
                    let slot = document
                        .entry(section)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(entries) = slot {
                        entries.insert(entry, render());
                    }
                }
            }
        }
        document
    }
}
