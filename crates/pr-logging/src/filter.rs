//! Level filters in `RUST_LOG` syntax, and [`LevelHandle`]: change them at
//! run time, permanently or for a while.
//!
//! Callsites are cached by tracing as always / never enabled, so a disabled
//! event costs what it costs in plain `tracing`; a change rebuilds that cache.
//! While a temporary override is active every callsite is asked on each event,
//! which is how the override notices its expiry on the injected clock.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::Targets;

use crate::Error;
use pr_core::time::Clock;

/// Parses a level name (case-insensitive).
pub(crate) fn parse_level(s: &str) -> Option<LevelFilter> {
    match s.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::TRACE),
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" | "warning" => Some(LevelFilter::WARN),
        "error" => Some(LevelFilter::ERROR),
        "off" | "none" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// A default level and per-target levels; the longest matching target wins.
///
/// Held as tracing-subscriber's [`Targets`], which does the matching; this
/// type parses the `RUST_LOG` subset itself so that a bad directive is
/// reported with its position and its source, and also reads `warning` and
/// `none`.
#[derive(Clone, Debug)]
pub(crate) struct Directives(Targets);

/// By what they enable: `Targets`' own equality also compares a level hint
/// that a replaced directive leaves behind.
impl PartialEq for Directives {
    fn eq(&self, other: &Self) -> bool {
        self.default() == other.default() && self.0.iter().eq(other.0.iter())
    }
}

impl Directives {
    /// Parses `info,my_crate=debug,my_crate::db=trace`. A bare target
    /// enables every level for it, as in `RUST_LOG`; a later directive for
    /// the same target replaces an earlier one.
    pub(crate) fn parse(s: &str, source_name: &'static str) -> Result<Self, Error> {
        let mut targets = Targets::new().with_default(LevelFilter::ERROR);
        for (i, directive) in s.split(',').map(str::trim).enumerate() {
            if directive.is_empty() {
                continue;
            }
            let bad = |reason: &str| Error::InvalidFilter {
                source_name,
                position: i + 1,
                reason: reason.to_owned(),
            };
            if directive.contains(['[', ']', '{', '}']) {
                return Err(bad("span and field filters are not supported"));
            }
            targets = match directive.split_once('=') {
                Some((target, level)) => {
                    let target = target.trim();
                    if target.is_empty() || target.contains(char::is_whitespace) {
                        return Err(bad("the target is empty or has spaces"));
                    }
                    let level = parse_level(level).ok_or_else(|| bad("unknown level"))?;
                    targets.with_target(target, level)
                }
                None => match parse_level(directive) {
                    Some(level) => targets.with_default(level),
                    None if directive.contains(char::is_whitespace) => {
                        return Err(bad("a target cannot contain spaces"));
                    }
                    None => targets.with_target(directive, LevelFilter::TRACE),
                },
            };
        }
        Ok(Self(targets))
    }

    /// Whether an event at `level` from `target` passes.
    fn enables(&self, target: &str, level: &tracing::Level) -> bool {
        self.0.would_enable(target, level)
    }

    /// The level for targets no directive names.
    fn default(&self) -> LevelFilter {
        self.0.default_level().unwrap_or(LevelFilter::ERROR)
    }

    /// The most verbose level of any directive.
    fn max(&self) -> LevelFilter {
        self.0
            .iter()
            .map(|(_, level)| level)
            .fold(self.default(), std::cmp::max)
    }
}

impl fmt::Display for Directives {
    /// The default level first, then the targets by name: equal filters print
    /// the same whatever order they were written in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", level_name(self.default()))?;
        let mut targets: Vec<_> = self.0.iter().collect();
        targets.sort_unstable();
        for (target, level) in targets {
            write!(f, ",{target}={}", level_name(level))?;
        }
        Ok(())
    }
}

fn level_name(level: LevelFilter) -> &'static str {
    match level.into_level() {
        None => "off",
        Some(tracing::Level::ERROR) => "error",
        Some(tracing::Level::WARN) => "warn",
        Some(tracing::Level::INFO) => "info",
        Some(tracing::Level::DEBUG) => "debug",
        Some(tracing::Level::TRACE) => "trace",
    }
}

#[derive(Debug)]
struct Filters {
    base: Directives,
    temporary: Option<(Directives, SystemTime)>,
}

/// The shared filter state behind a [`LevelHandle`] and the layer.
#[derive(Debug)]
pub(crate) struct LevelState {
    filters: RwLock<Filters>,
    temporary_active: AtomicBool,
    clock: Clock,
    /// The most verbose level any output writes.
    outputs_max: LevelFilter,
    /// Events with target `audit` bypass the filter when the audit log is on.
    audit: bool,
}

impl LevelState {
    pub(crate) fn new(
        base: Directives,
        clock: Clock,
        outputs_max: LevelFilter,
        audit: bool,
    ) -> Self {
        Self {
            filters: RwLock::new(Filters {
                base,
                temporary: None,
            }),
            temporary_active: AtomicBool::new(false),
            clock,
            outputs_max,
            audit,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Filters> {
        pr_core::sync::read(&self.filters)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Filters> {
        pr_core::sync::write(&self.filters)
    }

    pub(crate) fn is_audit(&self, meta: &Metadata<'_>) -> bool {
        self.audit && meta.target() == "audit"
    }

    pub(crate) fn interest(&self, meta: &Metadata<'_>) -> Interest {
        if self.is_audit(meta) {
            return Interest::always();
        }
        if self.temporary_active.load(Ordering::Acquire) {
            return Interest::sometimes();
        }
        if self.enabled_by(&self.read().base, meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled_by(&self, directives: &Directives, meta: &Metadata<'_>) -> bool {
        meta.level() <= &self.outputs_max && directives.enables(meta.target(), meta.level())
    }

    pub(crate) fn enabled(&self, meta: &Metadata<'_>) -> bool {
        if self.is_audit(meta) {
            return true;
        }
        if !self.temporary_active.load(Ordering::Acquire) {
            return self.enabled_by(&self.read().base, meta);
        }
        let expired = {
            let filters = self.read();
            match &filters.temporary {
                Some((directives, until)) if self.clock.wall() < *until => {
                    return self.enabled_by(directives, meta);
                }
                _ => self.enabled_by(&filters.base, meta),
            }
        };
        self.expire();
        expired
    }

    /// Drops an expired temporary override; true when one was dropped.
    pub(crate) fn expire(&self) -> bool {
        if !self.temporary_active.load(Ordering::Acquire) {
            return false;
        }
        let now = self.clock.wall();
        let dropped = {
            let mut filters = self.write();
            match &filters.temporary {
                Some((_, until)) if now >= *until => {
                    filters.temporary = None;
                    self.temporary_active.store(false, Ordering::Release);
                    true
                }
                _ => false,
            }
        };
        if dropped {
            tracing::callsite::rebuild_interest_cache();
        }
        dropped
    }

    pub(crate) fn max_level(&self) -> LevelFilter {
        if self.audit {
            return LevelFilter::TRACE;
        }
        let filters = self.read();
        let mut max = filters.base.max();
        if let Some((temporary, _)) = &filters.temporary {
            max = max.max(temporary.max());
        }
        max.min(self.outputs_max)
    }
}

/// Changes the level filter of a running logger. Clones share the state.
///
/// Filters use `RUST_LOG` syntax (`info,my_crate=debug`).
#[derive(Clone, Debug)]
pub struct LevelHandle {
    state: Arc<LevelState>,
}

impl LevelHandle {
    pub(crate) fn new(state: Arc<LevelState>) -> Self {
        Self { state }
    }

    /// Replaces the base filter. An active temporary override stays in
    /// force until it expires.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] when `filter` does not parse; the filter in
    /// force is unchanged.
    pub fn set(&self, filter: &str) -> Result<(), Error> {
        let directives = Directives::parse(filter, "runtime")?;
        self.state.write().base = directives;
        tracing::callsite::rebuild_interest_cache();
        tracing::info!(target: "pr_logging", event = "logging.filter_changed", filter = %filter, "log filter changed");
        Ok(())
    }

    /// Puts `filter` in force for `duration` on the logger's clock, after
    /// which the base filter applies again by itself.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] when `filter` does not parse.
    pub fn set_for(&self, filter: &str, duration: Duration) -> Result<(), Error> {
        let directives = Directives::parse(filter, "runtime")?;
        let until = self.state.clock.wall() + duration;
        {
            let mut filters = self.state.write();
            filters.temporary = Some((directives, until));
            self.state.temporary_active.store(true, Ordering::Release);
        }
        tracing::callsite::rebuild_interest_cache();
        tracing::info!(
            target: "pr_logging",
            event = "logging.temporary_filter_set",
            filter = %filter,
            seconds = duration.as_secs_f64(),
            "temporary log filter set"
        );
        Ok(())
    }

    /// Ends a temporary override now.
    pub fn clear_temporary(&self) {
        {
            let mut filters = self.state.write();
            filters.temporary = None;
            self.state.temporary_active.store(false, Ordering::Release);
        }
        tracing::callsite::rebuild_interest_cache();
    }

    /// The filter in force now (the temporary one while it lasts).
    #[must_use]
    pub fn current(&self) -> String {
        self.state.expire();
        let filters = self.state.read();
        match &filters.temporary {
            Some((temporary, _)) => temporary.to_string(),
            None => filters.base.to_string(),
        }
    }

    /// The base filter, in force when no temporary override is.
    #[must_use]
    pub fn base(&self) -> String {
        self.state.read().base.to_string()
    }

    /// When the temporary override ends, if one is active.
    #[must_use]
    pub fn temporary_until(&self) -> Option<SystemTime> {
        self.state.expire();
        self.state
            .read()
            .temporary
            .as_ref()
            .map(|(_, until)| *until)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]
    use super::*;
    use tracing::Level;

    #[test]
    fn parse_and_match() {
        let d =
            Directives::parse("warn, my_crate=debug ,my_crate::db=trace,noisy", "config").unwrap();
        let level = |target: &str| {
            [
                Level::TRACE,
                Level::DEBUG,
                Level::INFO,
                Level::WARN,
                Level::ERROR,
            ]
            .into_iter()
            .find(|level| d.enables(target, level))
        };
        assert_eq!(level("other"), Some(Level::WARN));
        assert_eq!(level("my_crate::http"), Some(Level::DEBUG));
        assert_eq!(level("my_crate::db::pool"), Some(Level::TRACE));
        assert_eq!(level("noisy"), Some(Level::TRACE));
        assert_eq!(d.max(), LevelFilter::TRACE);
        assert_eq!(
            d.to_string(),
            "warn,my_crate=debug,my_crate::db=trace,noisy=trace"
        );
        let none = Directives::parse("", "config").unwrap();
        assert_eq!(none.default(), LevelFilter::ERROR);
        assert!(none.enables("x", &Level::ERROR) && !none.enables("x", &Level::WARN));
        let replaced = Directives::parse("a=trace,a=info,trace,warn", "config").unwrap();
        assert_eq!(replaced.to_string(), "warn,a=info");
        assert_eq!(replaced.max(), LevelFilter::INFO);
    }

    #[test]
    fn equal_filters_compare_equal_whatever_their_order() {
        assert_eq!(
            Directives::parse("a,:", "config").unwrap(),
            Directives::parse(":,a", "config").unwrap()
        );
    }

    #[test]
    fn bad_directives_are_typed_errors() {
        for bad in ["info,a=loud", "a[span]=info", "=info", "a b"] {
            let err = Directives::parse(bad, "RUST_LOG").unwrap_err();
            assert!(matches!(err, Error::InvalidFilter { .. }), "{bad}");
            assert!(err.to_string().contains("RUST_LOG"));
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_filter_parser_never_panics_and_round_trips(s in "[a-z:_=,\\[\\] ]{0,40}") {
            if let Ok(d) = Directives::parse(&s, "config") {
                let again = Directives::parse(&d.to_string(), "config");
                prop_assert_eq!(again.ok(), Some(d));
            }
        }
    }
}

/// pr-logging's levels as a per-layer filter: beside other layers, its
/// directives decide what pr-logging writes and nothing else, so an
/// OpenTelemetry or console layer sees the spans and events its own filter
/// admits.
#[derive(Debug, Clone)]
pub(crate) struct LevelsFilter(pub(crate) Arc<LevelState>);

impl<S> tracing_subscriber::layer::Filter<S> for LevelsFilter {
    fn enabled(
        &self,
        meta: &Metadata<'_>,
        _cx: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        self.0.enabled(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        self.0.interest(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.0.max_level())
    }
}
