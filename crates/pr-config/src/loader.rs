//! [`ConfigLoader`]: layered loading, typed extraction, every problem at once.
//!
//! This module holds the public types and [`ConfigLoader::load`], which runs
//! the phases in order; each phase lives in its own part: `environment`
//! (variables, `.env`, the profile), `layers` (defaults, files, providers,
//! overrides, provenance), `secrets` (`<KEY>_FILE` secret files),
//! `unknown` (unknown keys), `extract` (figment, with repairs) and
//! `validate` (the [`Validate`] rules).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::OnceLock;

use figment::Provider;
use figment::value::{Dict, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::INVALID_VALUE;
use crate::explain::Explanation;
use crate::{ConfigProblem, Error, Source, Validate, Warning, tree};

mod environment;
mod extract;
mod layers;
mod secrets;
mod unknown;
mod validate;

use layers::{Layer, explain, profile_path};

/// What [`pr_core::secret::SecretString`] and friends serialize as.
pub(crate) const REDACTED: &str = "[redacted]";

/// What to do with a secret file (named by `<KEY>_FILE`) that its group or
/// others can read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretFilePolicy {
    /// Refuse it: a `config.insecure_secret_file` problem.
    #[default]
    Reject,
    /// Use it and report a warning.
    Warn,
}

#[derive(Clone, Debug)]
struct FileSpec {
    path: PathBuf,
    required: bool,
}

/// Loads a configuration of type `T` from layered sources, lowest first:
/// `T::default()` < files < profile files < `.env` < environment variables <
/// figment providers < overrides.
///
/// Built with [`ConfigLoader::builder`]; [`ConfigLoader::load`] can run again
/// (hot reload does).
pub struct ConfigLoader<T> {
    files: Vec<FileSpec>,
    env_prefix: Option<String>,
    env_vars: Option<Vec<(OsString, OsString)>>,
    dotenv: Option<PathBuf>,
    profile: Option<String>,
    profile_var: Option<String>,
    providers: Vec<Box<dyn Provider + Send + Sync>>,
    overrides: Dict,
    defaults: Dict,
    strict: bool,
    secret_policy: SecretFilePolicy,
    secret_keys: Vec<String>,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for ConfigLoader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("files", &self.files)
            .field("env_prefix", &self.env_prefix)
            .field("dotenv", &self.dotenv)
            .field("profile", &self.profile)
            .field("providers", &self.providers.len())
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ConfigLoader`].
#[must_use]
pub struct ConfigLoaderBuilder<T> {
    inner: ConfigLoader<T>,
}

impl<T> fmt::Debug for ConfigLoaderBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> ConfigLoader<T> {
    /// A builder with no sources but the defaults.
    pub fn builder() -> ConfigLoaderBuilder<T> {
        ConfigLoaderBuilder {
            inner: Self {
                files: Vec::new(),
                env_prefix: None,
                env_vars: None,
                dotenv: None,
                profile: None,
                profile_var: None,
                providers: Vec::new(),
                overrides: Dict::new(),
                defaults: Dict::new(),
                strict: false,
                secret_policy: SecretFilePolicy::Reject,
                secret_keys: Vec::new(),
                _type: PhantomData,
            },
        }
    }

    /// The configuration files (base files, in order), for watching.
    #[cfg_attr(
        not(feature = "watch"),
        allow(dead_code, reason = "used by the watch feature")
    )]
    pub(crate) fn watched_files(&self, profile: Option<&str>) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self.files.iter().map(|f| f.path.clone()).collect();
        if let Some(profile) = profile {
            out.extend(self.files.iter().map(|f| profile_path(&f.path, profile)));
        }
        out.extend(self.dotenv.clone());
        out
    }

    /// The environment prefix, if any.
    #[must_use]
    pub fn env_prefix(&self) -> Option<&str> {
        self.env_prefix.as_deref()
    }
}

impl<T> ConfigLoaderBuilder<T> {
    /// Adds a required file (TOML or JSON by extension).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.inner.files.push(FileSpec {
            path: path.into(),
            required: true,
        });
        self
    }

    /// Adds a file that may be absent.
    pub fn optional_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.inner.files.push(FileSpec {
            path: path.into(),
            required: false,
        });
        self
    }

    /// Reads environment variables `<prefix>__<KEY>__<SUB>` (and the profile
    /// from `<prefix>_PROFILE` unless [`profile_var`](Self::profile_var) says
    /// otherwise).
    pub fn env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.inner.env_prefix = Some(prefix.into());
        self
    }

    /// Uses these variables instead of the process environment (for tests
    /// and for embedding).
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env_vars_os(
            vars.into_iter()
                .map(|(k, v)| (OsString::from(k.into()), OsString::from(v.into()))),
        )
    }

    /// [`env_vars`](Self::env_vars) as the OS gives them, names and values
    /// perhaps not UTF-8 (the process environment goes the same way).
    pub(crate) fn env_vars_os(
        mut self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Self {
        self.inner.env_vars = Some(vars.into_iter().collect());
        self
    }

    /// Reads a `.env` file (if it exists); real environment variables win
    /// over it.
    pub fn dotenv(mut self, path: impl Into<PathBuf>) -> Self {
        self.inner.dotenv = Some(path.into());
        self
    }

    /// Selects the profile (`development`, `staging`, `production`,
    /// `testing`, or any name): each file `name.ext` is followed by an
    /// optional `name.{profile}.ext`.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.inner.profile = Some(profile.into());
        self
    }

    /// The environment variable that names the profile when
    /// [`profile`](Self::profile) is not set.
    pub fn profile_var(mut self, name: impl Into<String>) -> Self {
        self.inner.profile_var = Some(name.into());
        self
    }

    /// Adds any figment provider, above environment variables.
    pub fn provider(mut self, provider: impl Provider + Send + Sync + 'static) -> Self {
        self.inner.providers.push(Box::new(provider));
        self
    }

    /// Sets `key` (dotted path) to `value`, above every other source (for
    /// command-line flags). A value that does not serialize is ignored.
    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(value) = Value::serialize(value) {
            tree::insert(&mut self.inner.overrides, key, value);
        }
        self
    }

    /// Changes the default of `key` (dotted path) to `value`: the lowest
    /// source, as if `T::default()` had it, so every file and variable
    /// still overrides it. For a service that wants other defaults in a
    /// section it does not own (a log file, a drain deadline). A value that
    /// does not serialize is ignored.
    pub fn set_default(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(value) = Value::serialize(value) {
            tree::insert(&mut self.inner.defaults, key, value);
        }
        self
    }

    /// Strict mode: unknown keys are errors, not warnings.
    pub fn strict(mut self, strict: bool) -> Self {
        self.inner.strict = strict;
        self
    }

    /// What to do with secret files that others can read.
    pub fn secret_file_policy(mut self, policy: SecretFilePolicy) -> Self {
        self.inner.secret_policy = policy;
        self
    }

    /// Marks `key` as secret (masked in [`Explanation`]) even if its type
    /// is not a redacting secret type.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.inner.secret_keys.push(key.into());
        self
    }

    /// The loader.
    #[must_use]
    pub fn build(self) -> ConfigLoader<T> {
        self.inner
    }
}

/// A loaded configuration with its provenance.
#[non_exhaustive]
pub struct Loaded<T> {
    /// The configuration.
    pub config: T,
    /// The profile in effect.
    pub profile: Option<String>,
    /// Warnings (unknown keys, loose secret files under `Warn`).
    pub warnings: Vec<Warning>,
    // The sources as merged, for `explain()` (built on first use). They hold
    // raw values, secrets included: never printed.
    layers: Vec<Layer>,
    secret_keys: BTreeSet<String>,
    explanation: OnceLock<Explanation>,
}

impl<T: fmt::Debug> fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("config", &self.config)
            .field("profile", &self.profile)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize> Loaded<T> {
    /// Each key with its effective value (secrets masked), the source that
    /// won and the sources it shadowed. Built on the first call.
    #[must_use]
    pub fn explain(&self) -> &Explanation {
        self.explanation
            .get_or_init(|| explain(&self.config, &self.layers, &self.secret_keys))
    }
}

impl<T> Loaded<T> {
    /// The configuration, dropping the provenance.
    #[must_use]
    pub fn into_inner(self) -> T {
        self.config
    }
}

impl<T> ConfigLoader<T>
where
    T: DeserializeOwned + Serialize + Default + Validate,
{
    /// Loads, merges, extracts and validates.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] listing every problem found: unreadable or
    /// malformed files, values of the wrong type or form, missing keys,
    /// failed validation rules, unknown keys in strict mode, unsafe secret
    /// files, variables under the prefix that are not UTF-8. No message
    /// contains a value.
    pub fn load(&self) -> Result<Loaded<T>, Error> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();

        let env = self.read_environment(&mut problems);
        let profile = self.profile_in_effect(&env);
        let mut secret_keys: BTreeSet<String> = self.secret_keys.iter().cloned().collect();
        let (known, defaults) = layers::defaults::<T>(&self.defaults, &mut secret_keys);

        // The layers, lowest first.
        let mut layers = vec![defaults];
        layers.extend(self.file_layers(profile.as_deref(), &mut problems));
        if let Some(prefix) = &self.env_prefix {
            let (env_layers, file_refs) = self.env_layers(prefix, &env, &known);
            layers.extend(env_layers);
            layers.push(self.secret_layer(
                file_refs,
                &mut secret_keys,
                &mut problems,
                &mut warnings,
            ));
        }
        layers.extend(self.provider_layers(profile.as_deref(), &mut problems));
        layers.push(self.override_layer());

        self.check_unknown_keys(&mut layers, &known, &mut problems, &mut warnings);
        let (value, reported) = extract::extract::<T>(&mut layers, &mut problems);
        if let Some(config) = &value {
            validate::validate(config, &layers, &reported, &mut problems);
        }
        match value {
            Some(config) if problems.is_empty() => Ok(Loaded {
                config,
                profile,
                warnings,
                layers,
                secret_keys,
                explanation: OnceLock::new(),
            }),
            _ => Err(invalid(problems)),
        }
    }
}

/// The error for a load that failed: its problems, or one saying so when
/// none was found (figment built nothing, yet named no reason).
fn invalid(mut problems: Vec<ConfigProblem>) -> Error {
    if problems.is_empty() {
        problems.push(ConfigProblem::new(
            "",
            Source::Default,
            &INVALID_VALUE,
            "the configuration could not be built from its sources",
        ));
    }
    Error::Invalid { problems }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]
    use std::os::unix::ffi::OsStringExt;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct Config {
        port: u16,
        ops: Ops,
    }

    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct Ops {
        addr: String,
    }

    impl Validate for Config {}

    #[test]
    fn a_non_utf8_env_value_is_a_problem_naming_the_variable_not_the_value() {
        let err = ConfigLoader::<Config>::builder()
            .env_prefix("APP")
            .env_vars_os([
                (
                    OsString::from("APP__OPS__ADDR"),
                    OsString::from_vec(b"10.0.0.1-s3cr3t\xff".to_vec()),
                ),
                (OsString::from("APP__PORT"), OsString::from("eighty")),
                // Not ours: skipped, as before.
                (OsString::from("OTHER"), OsString::from_vec(vec![0xff])),
            ])
            .build()
            .load()
            .unwrap_err();
        let problems = err.problems();
        assert_eq!(problems.len(), 2, "{err}");
        let p = problems.iter().find(|p| p.key == "ops.addr").unwrap();
        assert_eq!(p.code().as_str(), "config.invalid_value");
        assert_eq!(
            p.source,
            Source::Env {
                name: "APP__OPS__ADDR".into()
            }
        );
        assert!(p.message.contains("UTF-8"), "{p}");
        assert!(problems.iter().any(|p| p.key == "port"), "{err}");
        let text = err.to_string();
        assert!(
            !text.contains("10.0.0.1") && !text.contains("s3cr3t"),
            "{text}"
        );
    }
}
