//! Named policies from configuration: a service's `[resilience]` section
//! ([`ResilienceConfig`]) names retry policies, breakers, bulkheads and
//! the pipelines made of them, and [`Policies`] builds each one once.
//!
//! The layout is Resilience4j's `configs.default` + `instances`: each kind
//! has a `defaults` table, and a named instance's unset keys take the
//! defaults' values (then the builders' own defaults). Every field of
//! [`RetryConfig`], [`BreakerConfig`], [`BulkheadConfig`] and
//! [`PipelineConfig`] is an `Option`, resolved field by field
//! ([`RetryConfig::or`]), rather than merging the tables before
//! deserializing: serde then reads each instance where it was written, so a
//! type error keeps its place in the file (pr-config reports it there), and
//! [`Validate`] checks each value where it was written
//! (`defaults.breaker.failure_rate_threshold` once, not in every instance
//! that inherits it; `breakers.quotes.window_buckets`).
//!
//! A pipeline refers to instances by name. Those names are resolved when
//! [`Policies`] is built: a breaker named by two pipelines is one
//! [`CircuitBreaker`], so both see it open (as a bulkhead named twice is
//! one set of places). An unknown name is a problem at its key
//! (`pipelines.quotes.breaker`), reported with every other problem.
//!
//! Thresholds apply at construction; reload is planned: changing the
//! section while the service runs does not change the policies built from
//! it.
//!
//! # Examples
//!
//! ```
//! use pr_resilience::Error;
//! use pr_resilience::policies::{Policies, ResilienceConfig};
//!
//! #[derive(serde::Deserialize)]
//! struct Settings {
//!     resilience: ResilienceConfig,
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings: Settings = toml::from_str(
//!     r#"
//!     [resilience.defaults.breaker]
//!     minimum_calls = 20
//!     wait_in_open = "10s"
//!
//!     [resilience.retries.standard]
//!     max_retries = 2
//!     backoff = "exponential"
//!     base_delay = "100ms"
//!
//!     [resilience.breakers.quotes]
//!     failure_rate_threshold = 25.0   # minimum_calls and wait_in_open from the defaults
//!
//!     [resilience.bulkheads.upstream]
//!     limit = 16
//!
//!     [resilience.pipelines.quotes]
//!     retry = "standard"
//!     breaker = "quotes"
//!     bulkhead = "upstream"
//!     total_timeout = "2s"
//!     attempt_timeout = "500ms"
//!     "#,
//! )?;
//!
//! let policies = Policies::from_config(&settings.resilience)?;
//! let quotes = policies.pipeline("quotes").expect("configured above");
//! let answer = quotes.run(|| async { Ok::<_, Error>(42) }).await;
//! assert_eq!(answer.ok(), Some(42));
//! assert!(policies.pipeline("payments").is_none());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use pr_core::time::Clock;
use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::breaker::{BreakerConfig, CircuitBreaker};
use crate::bulkhead::{Bulkhead, BulkheadConfig};
use crate::pipeline::Pipeline;
use crate::retry::{Retry, RetryConfig, Transient};

/// A pipeline's settings: the named instances it is made of and its
/// timeouts. Each unset field takes the `defaults.pipeline` value of its
/// [`ResilienceConfig`], or else the default stated here. The stages run
/// in the [`Pipeline`]'s order: bulkhead, total timeout, retry, breaker,
/// attempt timeout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// The retry policy, a name under `retries`; it retries transient
    /// errors. Default: no retry stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<String>,
    /// The circuit breaker, a name under `breakers`; pipelines naming the
    /// same breaker share it. Default: no breaker stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<String>,
    /// The bulkhead, a name under `bulkheads`; pipelines naming the same
    /// bulkhead share its places. Default: no bulkhead stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulkhead: Option<String>,
    /// The bound on the whole call, retries and their waits included
    /// (`"2s"`; a plain number is seconds; `"0s"`: none). Default `"30s"`,
    /// the standard pipeline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_timeout: Option<Duration>,
    /// The bound on each attempt (`"500ms"`; a plain number is seconds;
    /// `"0s"`: none). Default `"10s"`, the standard pipeline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_timeout: Option<Duration>,
}

/// [`PipelineConfig::total_timeout`]'s default.
const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// [`PipelineConfig::attempt_timeout`]'s default.
const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

impl PipelineConfig {
    /// These settings with each unset field taken from `defaults`: how a
    /// named pipeline inherits its section's `defaults.pipeline`.
    #[must_use]
    pub fn or(&self, defaults: &Self) -> Self {
        Self {
            retry: self.retry.clone().or_else(|| defaults.retry.clone()),
            breaker: self.breaker.clone().or_else(|| defaults.breaker.clone()),
            bulkhead: self.bulkhead.clone().or_else(|| defaults.bulkhead.clone()),
            total_timeout: self.total_timeout.or(defaults.total_timeout),
            attempt_timeout: self.attempt_timeout.or(defaults.attempt_timeout),
        }
    }

    /// Reports each reference to an instance missing from `config` at its
    /// key, naming the instance (a key of the section, not a secret).
    fn check_references(&self, v: &mut Validator, config: &ResilienceConfig) {
        let missing = |name: &str, section: &str| {
            format!("names `{name}`, which is not a key of `{section}`")
        };
        if let Some(name) = &self.retry {
            v.check(
                config.retries.contains_key(name),
                "retry",
                missing(name, "retries"),
            );
        }
        if let Some(name) = &self.breaker {
            v.check(
                config.breakers.contains_key(name),
                "breaker",
                missing(name, "breakers"),
            );
        }
        if let Some(name) = &self.bulkhead {
            v.check(
                config.bulkheads.contains_key(name),
                "bulkhead",
                missing(name, "bulkheads"),
            );
        }
    }
}

/// A pipeline's timeouts take any duration; the names it refers to are
/// checked against their sections by [`ResilienceConfig`]'s rules, at
/// `pipelines.<name>.retry` and the like.
impl Validate for PipelineConfig {}

/// Every problem of each kind's defaults, at `retry.factor`,
/// `breaker.window_buckets` and the like; the names `pipeline` refers to
/// are checked by [`ResilienceConfig`]'s rules.
impl Validate for PolicyDefaults {
    fn validate(&self, v: &mut Validator) {
        v.nested("retry", &self.retry);
        v.nested("breaker", &self.breaker);
        v.nested("bulkhead", &self.bulkhead);
        v.nested("pipeline", &self.pipeline);
    }
}

/// Each kind's defaults: the `defaults` table of a [`ResilienceConfig`].
/// A named instance's unset keys take these values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyDefaults {
    /// What every entry of `retries` starts from.
    pub retry: RetryConfig,
    /// What every entry of `breakers` starts from.
    pub breaker: BreakerConfig,
    /// What every entry of `bulkheads` starts from.
    pub bulkhead: BulkheadConfig,
    /// What every entry of `pipelines` starts from (its named instances
    /// included).
    pub pipeline: PipelineConfig,
}

/// The `resilience` section of a service's configuration: named retry
/// policies, breakers, bulkheads and pipelines, with each kind's defaults.
/// `Default` names nothing. [`Policies`] builds what it names.
///
/// ```toml
/// [resilience.defaults.retry]
/// max_retries = 3
///
/// [resilience.retries.standard]
/// base_delay = "100ms"
///
/// [resilience.breakers.quotes]
/// failure_rate_threshold = 25.0
///
/// [resilience.pipelines.quotes]
/// retry = "standard"
/// breaker = "quotes"
/// attempt_timeout = "500ms"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ResilienceConfig {
    /// Each kind's defaults (`defaults.retry`, `defaults.breaker`,
    /// `defaults.bulkhead`, `defaults.pipeline`).
    pub defaults: PolicyDefaults,
    /// Retry policies by name.
    pub retries: BTreeMap<String, RetryConfig>,
    /// Circuit breakers by name (the name is the breaker's, in errors,
    /// events and metrics).
    pub breakers: BTreeMap<String, BreakerConfig>,
    /// Bulkheads by name (the name is the bulkhead's, in errors and
    /// metrics).
    pub bulkheads: BTreeMap<String, BulkheadConfig>,
    /// Pipelines by name, each referring to the instances above by name.
    pub pipelines: BTreeMap<String, PipelineConfig>,
}

/// Every problem at once, each at its key relative to the section
/// (`defaults.retry.factor`, `breakers.quotes.failure_rate_threshold`,
/// `pipelines.quotes.breaker`); no message repeats a value, only the name
/// of a missing instance.
impl Validate for ResilienceConfig {
    fn validate(&self, v: &mut Validator) {
        v.nested("defaults", &self.defaults);
        v.nested(
            "defaults.pipeline",
            &References(&self.defaults.pipeline, self),
        );
        for (section, names) in [
            ("retries", self.retries.keys().collect::<Vec<_>>()),
            ("breakers", self.breakers.keys().collect()),
            ("bulkheads", self.bulkheads.keys().collect()),
            ("pipelines", self.pipelines.keys().collect()),
        ] {
            v.check(
                names.iter().all(|name| !name.trim().is_empty()),
                section,
                "names must not be empty",
            );
        }
        for (name, retry) in &self.retries {
            v.nested(&format!("retries.{name}"), retry);
        }
        for (name, breaker) in &self.breakers {
            v.nested(&format!("breakers.{name}"), breaker);
        }
        for (name, bulkhead) in &self.bulkheads {
            v.nested(&format!("bulkheads.{name}"), bulkhead);
        }
        for (name, pipeline) in &self.pipelines {
            v.nested(&format!("pipelines.{name}"), &References(pipeline, self));
        }
    }
}

/// A pipeline's settings with the section its names refer to.
struct References<'a>(&'a PipelineConfig, &'a ResilienceConfig);

impl Validate for References<'_> {
    fn validate(&self, v: &mut Validator) {
        self.0.check_references(v, self.1);
    }
}

/// The duration, or `None` for zero (off).
fn unless_zero(d: Duration) -> Option<std::time::Duration> {
    let d = d.as_std();
    (!d.is_zero()).then_some(d)
}

/// The policies a [`ResilienceConfig`] names, each built once: look a
/// pipeline up by name ([`pipeline`](Self::pipeline)) where a client is
/// made. Clones share every policy (a breaker's state, a bulkhead's
/// places).
#[derive(Clone)]
pub struct Policies(Arc<Inner>);

struct Inner {
    retries: BTreeMap<String, Retry>,
    breakers: BTreeMap<String, CircuitBreaker>,
    bulkheads: BTreeMap<String, Bulkhead>,
    pipelines: BTreeMap<String, Pipeline<Transient>>,
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies")
            .field("retries", &self.0.retries.keys())
            .field("breakers", &self.0.breakers.keys())
            .field("bulkheads", &self.0.bulkheads.keys())
            .field("pipelines", &self.0.pipelines.keys())
            .finish()
    }
}

impl Policies {
    /// A builder for the policies `config` names (to give them a clock).
    pub fn builder(config: &ResilienceConfig) -> PoliciesBuilder {
        PoliciesBuilder {
            config: config.clone(),
            clock: None,
        }
    }

    /// The policies `config` names, on the default clock.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem of `config`, each at
    /// its key relative to the section.
    pub fn from_config(config: &ResilienceConfig) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// The pipeline named `name`, or `None` when the configuration names
    /// none so. Its retry stage retries transient errors
    /// ([`Transient`]), and its breaker counts them as failures.
    #[must_use]
    pub fn pipeline(&self, name: &str) -> Option<Pipeline<Transient>> {
        self.0.pipelines.get(name).cloned()
    }

    /// The circuit breaker named `name` (shared with every pipeline naming
    /// it), for a health check or a manual state.
    #[must_use]
    pub fn breaker(&self, name: &str) -> Option<CircuitBreaker> {
        self.0.breakers.get(name).cloned()
    }

    /// The bulkhead named `name` (shared with every pipeline naming it).
    #[must_use]
    pub fn bulkhead(&self, name: &str) -> Option<Bulkhead> {
        self.0.bulkheads.get(name).cloned()
    }

    /// The retry policy named `name`.
    #[must_use]
    pub fn retry(&self, name: &str) -> Option<Retry> {
        self.0.retries.get(name).cloned()
    }

    /// Every breaker with its name, in name order (to register each as a
    /// health check).
    pub fn breakers(&self) -> impl Iterator<Item = (&str, &CircuitBreaker)> {
        self.0
            .breakers
            .iter()
            .map(|(name, breaker)| (name.as_str(), breaker))
    }

    /// The pipelines' names, in order.
    pub fn pipeline_names(&self) -> impl Iterator<Item = &str> {
        self.0.pipelines.keys().map(String::as_str)
    }

    /// Gives each live breaker that `config` still names its thresholds
    /// from `config` ([`CircuitBreaker::retune`]: its state, window and
    /// counts are kept; the keys in [`RETUNABLE`](crate::breaker::RETUNABLE)
    /// apply), as a configuration reload does, and returns the names of
    /// the breakers retuned. What `config` changes besides (a window, a new
    /// breaker, a retry, a bulkhead, a pipeline) applies to new `Policies`
    /// only, at a restart.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem of `config`; nothing
    /// changes then.
    pub fn retune(&self, config: &ResilienceConfig) -> Result<Vec<String>, Error> {
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        let settings: Vec<(&CircuitBreaker, _)> = self
            .0
            .breakers
            .iter()
            .filter_map(|(name, breaker)| {
                let set = config.breakers.get(name)?;
                Some((
                    breaker,
                    set.or(&config.defaults.breaker).to_builder(name.clone()),
                ))
            })
            .collect();
        // Checked together first, so that a bad one changes none.
        for (_, builder) in &settings {
            builder.check()?;
        }
        let mut retuned = Vec::new();
        for (breaker, builder) in &settings {
            breaker.retune(builder)?;
            retuned.push(breaker.name().to_owned());
        }
        Ok(retuned)
    }
}

/// Builds [`Policies`]; see [`Policies::builder`].
#[must_use]
#[derive(Debug)]
pub struct PoliciesBuilder {
    config: ResilienceConfig,
    clock: Option<Clock>,
}

impl PoliciesBuilder {
    /// The clock every retry policy and breaker reads (a
    /// [`ManualClock`](pr_core::time::ManualClock)'s or tokio's in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Every named policy, built once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] listing every problem of the configuration,
    /// each at its key relative to the section.
    pub fn build(self) -> Result<Policies, Error> {
        let config = &self.config;
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        let defaults = &config.defaults;
        let mut retries = BTreeMap::new();
        for (name, retry) in &config.retries {
            let mut builder = retry.or(&defaults.retry).to_builder(name.clone());
            if let Some(clock) = &self.clock {
                builder = builder.clock(clock.clone());
            }
            retries.insert(name.clone(), builder.build()?);
        }
        let mut breakers = BTreeMap::new();
        for (name, breaker) in &config.breakers {
            let mut builder = breaker.or(&defaults.breaker).to_builder(name.clone());
            if let Some(clock) = &self.clock {
                builder = builder.clock(clock.clone());
            }
            breakers.insert(name.clone(), builder.build()?);
        }
        let mut bulkheads = BTreeMap::new();
        for (name, bulkhead) in &config.bulkheads {
            let builder = bulkhead.or(&defaults.bulkhead).to_builder(name.clone());
            bulkheads.insert(name.clone(), builder.build()?);
        }
        let mut pipelines = BTreeMap::new();
        for (name, pipeline) in &config.pipelines {
            let pipeline = pipeline.or(&defaults.pipeline);
            // Every name was checked above: a lookup that fails is a name
            // that is not set.
            let retry = pipeline.retry.as_ref().and_then(|r| retries.get(r));
            let mut builder = Pipeline::builder()
                .name(name.clone())
                .total_timeout(unless_zero(
                    pipeline.total_timeout.unwrap_or(DEFAULT_TOTAL_TIMEOUT),
                ))
                .attempt_timeout(unless_zero(
                    pipeline.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT),
                ))
                .retry_stage(retry.cloned());
            if let Some(breaker) = pipeline.breaker.as_ref().and_then(|b| breakers.get(b)) {
                builder = builder.shared_breaker(breaker.clone());
            }
            if let Some(bulkhead) = pipeline.bulkhead.as_ref().and_then(|b| bulkheads.get(b)) {
                builder = builder.bulkhead(bulkhead.clone());
            }
            pipelines.insert(name.clone(), builder.build()?);
        }
        Ok(Policies(Arc::new(Inner {
            retries,
            breakers,
            bulkheads,
            pipelines,
        })))
    }
}
