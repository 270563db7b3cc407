//! Reloading the configuration on SIGHUP, and what a reload changes: the
//! new configuration is what [`App::config`](super::App::config) returns
//! from then on (so the service's own settings, its feature flags among
//! them, read through it are new at once); of the toolkit's sections,
//! `logging.filter` is applied at once, and so are the `health` section
//! (pr-health's `HealthRegistry::reconfigure`: timeouts, cache, interval,
//! status codes, details), the `resources` section but `cgroups` and `gpu`
//! (`Sampler::reconfigure`: interval, disk paths and their free-space
//! rules, counting open files), and the named breakers' thresholds
//! (`resilience.breakers.<name>.<key>` and `resilience.defaults.breaker.
//! <key>` for the keys of `pr_resilience::breaker::RETUNABLE`: the breaker
//! keeps its state and window) and window shapes (`breaker::WINDOW_KEYS`:
//! a new, empty window of the new shape, logged `breaker.window_changed`);
//! every other changed key of a section set up at start (addresses,
//! limits, log outputs, the metrics registry, `resources.cgroups` and
//! `resources.gpu`, the HTTP stack, retries, bulkheads, pipelines), and of the API listener's settings (as
//! `AppBuilder::api` reads them, named `api.<key>`), is reported as
//! needing a restart, in the `app.reloaded` event and under `/status` →
//! `config` → `restart_required`, never silently ignored.

use std::sync::{Arc, Mutex};

use pr_config::ConfigHandle;
use pr_logging::LevelHandle;
use serde_json::Value;

use super::{AbortOnDrop, AppConfig, Error};

/// The keys a reload changed that only a restart applies, shared with
/// `/status`.
pub(super) type RestartRequired = Arc<Mutex<Vec<String>>>;

/// What keeps the configuration files watched (feature `watch`), held by
/// the reload task.
#[cfg(feature = "watch")]
pub(super) type Watcher = pr_config::Watcher;
/// Nothing to hold without the feature `watch`.
#[cfg(not(feature = "watch"))]
pub(super) type Watcher = std::convert::Infallible;

/// What a reload compares and applies besides the log filter.
pub(super) struct Live<C> {
    /// How the API listener's settings are read from a configuration, and
    /// those it was bound with (as JSON).
    pub(super) api: Option<(super::ApiSelector<C>, Value)>,
    /// The named policies, whose breakers take new thresholds.
    #[cfg(feature = "resilience")]
    pub(super) policies: Option<pr_resilience::policies::Policies>,
    /// The health registry, which takes a new `health` section.
    pub(super) health: Option<pr_health::HealthRegistry>,
    /// The resources sampler, which takes a new `resources` section.
    pub(super) sampler: Option<pr_resources::Sampler>,
}

impl<C> Default for Live<C> {
    fn default() -> Self {
        Self {
            api: None,
            health: None,
            sampler: None,
            #[cfg(feature = "resilience")]
            policies: None,
        }
    }
}

/// What one reload did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Applied {
    /// Keys applied at once.
    pub(super) applied: Vec<String>,
    /// Changed keys that need a restart.
    pub(super) restart_required: Vec<String>,
}

/// Reloads `handle` and applies what can change at run time.
///
/// # Errors
///
/// The reload's: the previous configuration stays in use.
#[cfg(test)]
pub(super) fn reload<C: AppConfig>(
    handle: &ConfigHandle<C>,
    levels: &LevelHandle,
    restart: &RestartRequired,
    live: &Live<C>,
) -> Result<(u64, Applied), pr_config::Error> {
    let before = handle.current();
    let generation = handle.reload()?;
    let done = apply(&*before, &*handle.current(), levels, restart, live);
    Ok((generation, done))
}

/// Applies what changed from `before` to `current` that can change at run
/// time, and lists (and keeps in `restart`) what needs a restart.
pub(super) fn apply<C: AppConfig>(
    before: &C,
    current: &C,
    levels: &LevelHandle,
    restart: &RestartRequired,
    live: &Live<C>,
) -> Applied {
    let before = toolkit_sections(before);
    let after = toolkit_sections(current);
    let mut changed = Vec::new();
    diff("", &before, &after, &mut changed);
    let mut done = Applied::default();
    #[cfg(feature = "resilience")]
    let retuned = retune(live, current, &changed);
    let health = reconfigure_health(live, current, &changed);
    let resources = reconfigure_resources(live, current, &changed);
    for key in changed {
        if (health && key.starts_with("health."))
            || (resources
                && key.starts_with("resources.")
                && !FIXED_RESOURCES.contains(&key.as_str()))
        {
            done.applied.push(key);
            continue;
        }
        if key == "logging.filter" {
            let filter = after["logging"]["filter"].as_str().unwrap_or_default();
            // Validated with the rest of the configuration, so it parses.
            if levels.set(filter).is_ok() {
                done.applied.push(key);
                continue;
            }
        }
        #[cfg(feature = "resilience")]
        if retuned && retunable(live.policies.as_ref(), &key) {
            done.applied.push(key);
            continue;
        }
        done.restart_required.push(key);
    }
    // The listener was bound at start: any difference from then needs a restart.
    if let Some((select, bound)) = &live.api {
        let now = serde_json::to_value(select(current)).unwrap_or_default();
        diff("api", bound, &now, &mut done.restart_required);
    }
    let mut pending = pr_core::sync::lock(restart);
    for key in &done.restart_required {
        if !pending.contains(key) {
            pending.push(key.clone());
        }
    }
    done
}

/// The `resources` keys a running sampler cannot take.
const FIXED_RESOURCES: [&str; 2] = ["resources.cgroups", "resources.gpu"];

/// Gives the health registry the new `health` section when a key of it
/// changed; whether it took it.
fn reconfigure_health<C: AppConfig>(live: &Live<C>, config: &C, changed: &[String]) -> bool {
    let Some(health) = &live.health else {
        return false;
    };
    if !changed.iter().any(|key| key.starts_with("health.")) {
        return false;
    }
    health
        .reconfigure(config.sections().health.clone())
        .map_err(|e| {
            tracing::warn!(event = "app.reconfigure_failed", section = "health", error = %pr_errors::chain(&e), "the health checks keep their settings");
        })
        .is_ok()
}

/// Gives the sampler the new `resources` section (with the readers it
/// chose at start) when a key it can take changed; whether it took it.
fn reconfigure_resources<C: AppConfig>(live: &Live<C>, config: &C, changed: &[String]) -> bool {
    let Some(sampler) = &live.sampler else {
        return false;
    };
    if !changed
        .iter()
        .any(|key| key.starts_with("resources.") && !FIXED_RESOURCES.contains(&key.as_str()))
    {
        return false;
    }
    let mut next = config.sections().resources.clone();
    let running = sampler.config();
    (next.cgroups, next.gpu) = (running.cgroups, running.gpu);
    sampler
        .reconfigure(next)
        .map_err(|e| {
            tracing::warn!(event = "app.reconfigure_failed", section = "resources", error = %pr_errors::chain(&e), "the resources sampler keeps its settings");
        })
        .is_ok()
}

/// Whether `key` is a breaker threshold or window shape a live breaker
/// takes.
#[cfg(feature = "resilience")]
fn retunable(policies: Option<&pr_resilience::policies::Policies>, key: &str) -> bool {
    let Some((path, field)) = key.rsplit_once('.') else {
        return false;
    };
    let known = match path.strip_prefix("resilience.breakers.") {
        Some(name) => policies.is_some_and(|p| p.breaker(name).is_some()),
        None => path == "resilience.defaults.breaker",
    };
    known
        && (pr_resilience::breaker::RETUNABLE.contains(&field)
            || pr_resilience::breaker::WINDOW_KEYS.contains(&field))
}

/// Gives the named breakers the thresholds of the new configuration when
/// one of theirs changed; whether they took them.
#[cfg(feature = "resilience")]
fn retune<C: AppConfig>(live: &Live<C>, config: &C, changed: &[String]) -> bool {
    let policies = live.policies.as_ref();
    match (policies, config.resilience()) {
        (Some(policies), Some(section))
            if changed.iter().any(|key| retunable(Some(policies), key)) =>
        {
            policies.retune(section).map_err(|e| {
                tracing::warn!(event = "app.retune_failed", error = %pr_errors::chain(&e), "the breakers keep their thresholds");
            }).is_ok()
        }
        _ => false,
    }
}

/// The toolkit's sections as JSON (secrets stay redacted, which hides a
/// changed token: it is read at start, like the rest of `ops`).
fn toolkit_sections<C: AppConfig>(config: &C) -> Value {
    let s = config.sections();
    let mut doc = serde_json::json!({
        "logging": s.logging, "metrics": s.metrics, "health": s.health,
        "resources": s.resources, "ops": s.ops, "shutdown": s.shutdown,
    });
    #[cfg(feature = "http")]
    if let Some(http) = config.http() {
        doc["http"] = serde_json::to_value(http).unwrap_or_default();
    }
    // The named policies are built at start.
    #[cfg(feature = "resilience")]
    if let Some(resilience) = config.resilience() {
        doc["resilience"] = serde_json::to_value(resilience).unwrap_or_default();
    }
    // Read at each shutdown, so a change applies without a restart.
    if let Some(sections) = doc.as_object_mut() {
        sections.remove("shutdown");
    }
    doc
}

/// The dotted keys whose values differ (a whole array is one key).
fn diff(prefix: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for key in keys {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                let null = Value::Null;
                diff(
                    &path,
                    b.get(key).unwrap_or(&null),
                    a.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if before != after => out.push(prefix.to_owned()),
        _ => {}
    }
}

/// Reloads the configuration on each SIGHUP (pr-config's reload: the files
/// and environment are read again and validated; a bad one leaves the
/// previous configuration in use), logging `app.reload_failed` when it
/// fails; applies each new configuration, from SIGHUP or from `watcher`'s
/// reloads, logging `app.reloaded` (with what was applied and what needs a
/// restart). SIGHUP no longer ends the process.
pub(super) fn spawn<C: AppConfig>(
    handle: ConfigHandle<C>,
    levels: LevelHandle,
    restart: RestartRequired,
    live: Live<C>,
    watcher: Option<Watcher>,
    dispatch: Option<tracing::Dispatch>,
) -> Result<AbortOnDrop, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    use tracing::instrument::WithSubscriber as _;
    let mut hangup = signal(SignalKind::hangup()).map_err(Error::Signal)?;
    // Every new configuration is applied, whether SIGHUP or the file
    // watcher reloaded it.
    let mut changes = handle.subscribe();
    let mut applied = handle.current();
    let reloads = async move {
        // Held by the task: aborting it stops the watching.
        let _watcher = watcher;
        loop {
            tokio::select! {
                signal = hangup.recv() => {
                    if signal.is_none() {
                        break;
                    }
                    if let Err(e) = handle.reload() {
                        tracing::warn!(
                            event = "app.reload_failed",
                            error = %pr_errors::chain(&e),
                            "configuration not reloaded; the previous one stays in use"
                        );
                    }
                }
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let next = changes.borrow_and_update().clone();
                    let done = apply(&*applied, &*next, &levels, &restart, &live);
                    applied = next;
                    let generation = handle.status().generation;
                    if done.restart_required.is_empty() {
                        tracing::info!(
                            event = "app.reloaded",
                            generation,
                            applied = %done.applied.join(","),
                            "configuration reloaded"
                        );
                    } else {
                        tracing::warn!(
                            event = "app.reloaded",
                            generation,
                            applied = %done.applied.join(","),
                            restart_required = %done.restart_required.join(","),
                            "configuration reloaded; some changes need a restart"
                        );
                    }
                }
            }
        }
    };
    Ok(AbortOnDrop(match dispatch {
        Some(dispatch) => tokio::spawn(reloads.with_subscriber(dispatch)),
        None => tokio::spawn(reloads),
    }))
}
