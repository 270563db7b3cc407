//! [`ConfigLoader`]: layered loading, typed extraction, every problem at once.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{
    FILE_MISSING, INSECURE_SECRET_FILE, INVALID_TYPE, INVALID_VALUE, IO, MISSING_VALUE,
    PARSE_FAILED, UNKNOWN_KEY, VALIDATION_FAILED,
};
use crate::explain::{Entry, Explanation};
use crate::format::{self, Format};
use crate::{Error, Problem, Source, Validate, Validator, Warning, env, tree};

/// What [`pr_core::secret::SecretString`] and friends serialize as.
pub(crate) const REDACTED: &str = "[redacted]";
const MAX_REPAIRS: usize = 256;

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
                strict: false,
                secret_policy: SecretFilePolicy::Reject,
                secret_keys: Vec::new(),
                _type: PhantomData,
            },
        }
    }

    /// The configuration files (base files, in order), for watching.
    #[cfg_attr(
        not(feature = "reload"),
        allow(dead_code, reason = "used by the reload feature")
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

#[derive(Debug)]
enum LayerKind {
    Default,
    File(PathBuf),
    Other,
}

#[derive(Debug)]
struct Layer {
    kind: LayerKind,
    dict: Dict,
    lines: HashMap<String, u32>,
    origins: HashMap<String, Source>,
    fallback: Source,
}

impl Layer {
    fn new(kind: LayerKind, fallback: Source) -> Self {
        Self {
            kind,
            dict: Dict::new(),
            lines: HashMap::new(),
            origins: HashMap::new(),
            fallback,
        }
    }

    fn has(&self, key: &str) -> bool {
        tree::get(&self.dict, key).is_some()
    }

    fn source(&self, key: &str) -> Source {
        if let Some(origin) = self.origins.get(key) {
            return origin.clone();
        }
        if let LayerKind::File(path) = &self.kind {
            let line = self.lines.get(key).copied().or_else(|| {
                // The nearest ancestor that has a line.
                let mut k = key;
                while let Some((parent, _)) = k.rsplit_once('.') {
                    if let Some(l) = self.lines.get(parent) {
                        return Some(*l);
                    }
                    k = parent;
                }
                None
            });
            return Source::File {
                path: path.clone(),
                line,
            };
        }
        // An origin recorded under a descendant (a table from env vars).
        let prefix = format!("{key}.");
        if let Some((_, origin)) = self.origins.iter().find(|(k, _)| k.starts_with(&prefix)) {
            return origin.clone();
        }
        self.fallback.clone()
    }
}

/// Hands the merged tree to figment without copying it (figment asks once).
struct DictProvider(std::cell::RefCell<Option<Dict>>);

impl Provider for DictProvider {
    fn metadata(&self) -> Metadata {
        Metadata::named("pr-config merged sources")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.0.borrow_mut().take().unwrap_or_default()))
    }
}

fn profile_path(path: &Path, profile: &str) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}.{profile}.{ext}"),
        None => format!("{stem}.{profile}"),
    };
    path.with_file_name(name)
}

fn actual_kind(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual as A;
    match actual {
        A::Bool(_) => "a boolean",
        A::Unsigned(_) | A::Signed(_) => "an integer",
        A::Float(_) => "a float",
        A::Char(_) => "a character",
        A::Str(_) => "a string",
        A::Bytes(_) => "bytes",
        A::Unit => "an empty value",
        A::Option => "an option",
        A::Seq => "an array",
        A::Map => "a table",
        _ => "a value of another kind",
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

        // The environment: the process's (or injected), over `.env`.
        let profile_var = self
            .profile_var
            .clone()
            .or_else(|| self.env_prefix.as_ref().map(|p| format!("{p}_PROFILE")));
        // The key a variable of ours sets (none for the profile variable).
        let ours = |name: &str| {
            let key = self
                .env_prefix
                .as_ref()
                .and_then(|p| env::key_for_env(p, name));
            (key.is_some() || profile_var.as_deref() == Some(name)).then(|| key.unwrap_or_default())
        };
        let real_env: Vec<(String, String)> = match &self.env_vars {
            Some(vars) => utf8_vars(vars.iter().cloned(), ours, &mut problems),
            None => utf8_vars(std::env::vars_os(), ours, &mut problems),
        };
        let dotenv_vars = match &self.dotenv {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => match format::parse_dotenv(&text) {
                    Ok(vars) => vars,
                    Err(e) => {
                        problems.push(Problem::syntax(path, e));
                        Vec::new()
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => {
                    problems.push(io_problem(path, &e));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };

        let profile = self.profile.clone().or_else(|| {
            let var = profile_var?;
            real_env
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    dotenv_vars
                        .iter()
                        .find(|d| d.name == var)
                        .map(|d| d.value.clone())
                })
                .filter(|v| !v.is_empty())
        });

        // Defaults: the full tree (for known keys) and the layer (without
        // redacted secrets, which would otherwise become their values).
        let defaults_full = match Value::serialize(T::default()) {
            Ok(Value::Dict(_, d)) => d,
            _ => Dict::new(),
        };
        let mut secret_keys: BTreeSet<String> = self.secret_keys.iter().cloned().collect();
        let mut default_layer = Layer::new(LayerKind::Default, Source::Default);
        default_layer.dict = defaults_full.clone();
        for (key, value) in tree::leaves(&defaults_full) {
            if matches!(value, Value::String(_, s) if s == REDACTED) {
                tree::remove(&mut default_layer.dict, &key);
                secret_keys.insert(key);
            }
        }
        let mut layers = vec![default_layer];

        // Files, then profile files.
        let mut specs = self.files.clone();
        if let Some(profile) = &profile {
            specs.extend(self.files.iter().map(|f| FileSpec {
                path: profile_path(&f.path, profile),
                required: false,
            }));
        }
        for spec in &specs {
            if let Some(layer) = self.file_layer(spec, &mut problems) {
                layers.push(layer);
            }
        }

        // `.env`, then the environment, then secret files.
        if let Some(prefix) = &self.env_prefix {
            let mut file_refs: Vec<(String, String, String)> = Vec::new(); // key, var, path
            if let Some(path) = &self.dotenv {
                let mut layer = Layer::new(LayerKind::Other, Source::Override);
                for var in &dotenv_vars {
                    if let Some(key) = env::key_for_env(prefix, &var.name) {
                        if let Some(target) = self.secret_file_target(&key, &defaults_full) {
                            file_refs.push((target, var.name.clone(), var.value.clone()));
                            continue;
                        }
                        tree::insert(&mut layer.dict, &key, Value::from(var.value.clone()));
                        layer.origins.insert(
                            key,
                            Source::DotEnv {
                                path: path.clone(),
                                name: var.name.clone(),
                                line: Some(var.line),
                            },
                        );
                    }
                }
                layers.push(layer);
            }
            let mut layer = Layer::new(LayerKind::Other, Source::Override);
            for (name, value) in &real_env {
                if let Some(key) = env::key_for_env(prefix, name) {
                    if let Some(target) = self.secret_file_target(&key, &defaults_full) {
                        file_refs.push((target, name.clone(), value.clone()));
                        continue;
                    }
                    tree::insert(&mut layer.dict, &key, Value::from(value.clone()));
                    layer
                        .origins
                        .insert(key, Source::Env { name: name.clone() });
                }
            }
            layers.push(layer);
            let mut secrets = Layer::new(LayerKind::Other, Source::Override);
            for (key, var, path) in file_refs {
                let path = PathBuf::from(path);
                let source = Source::SecretFile {
                    path: path.clone(),
                    var: var.clone(),
                };
                if let Some(value) =
                    self.read_secret_file(&key, &source, &path, &mut problems, &mut warnings)
                {
                    tree::insert(&mut secrets.dict, &key, Value::from(value));
                    secrets.origins.insert(key.clone(), source);
                    secret_keys.insert(key);
                }
            }
            layers.push(secrets);
        }

        for provider in &self.providers {
            let name = provider.metadata().name.to_string();
            let mut layer = Layer::new(LayerKind::Other, Source::Provider(name.clone()));
            match provider.data() {
                Ok(data) => {
                    for (p, dict) in data {
                        if p == Profile::Default
                            || p == Profile::Global
                            || profile
                                .as_deref()
                                .is_some_and(|want| p.as_str().as_str() == want)
                        {
                            tree::merge(&mut layer.dict, &dict);
                        }
                    }
                }
                Err(_) => problems.push(Problem::new(
                    "",
                    Source::Provider(name),
                    &PARSE_FAILED,
                    "the provider failed to produce data",
                )),
            }
            layers.push(layer);
        }

        let mut overrides = Layer::new(LayerKind::Other, Source::Override);
        overrides.dict = self.overrides.clone();
        layers.push(overrides);

        // Unknown keys.
        for layer in layers.iter_mut().skip(1) {
            let unknown: Vec<String> = tree::leaves(&layer.dict)
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !tree::covers(&defaults_full, k))
                .collect();
            for key in unknown {
                let mut message = "unknown key".to_owned();
                if let Some(close) = did_you_mean(&key, &defaults_full) {
                    message = format!("unknown key; did you mean `{close}`?");
                }
                let source = layer.source(&key);
                if self.strict {
                    problems.push(Problem::new(key.clone(), source, &UNKNOWN_KEY, message));
                    tree::remove(&mut layer.dict, &key);
                } else {
                    tracing::warn!(event = "config.unknown_key", key = %key, source = %source, "{message}");
                    warnings.push(Warning {
                        key,
                        source,
                        message,
                    });
                }
            }
        }

        // Extraction, repairing each bad value so that the next is found.
        let mut reported: HashSet<String> = HashSet::new();
        let mut value: Option<T> = None;
        for _ in 0..MAX_REPAIRS {
            let mut merged = Dict::new();
            for layer in &layers {
                tree::merge(&mut merged, &layer.dict);
            }
            match Figment::from(DictProvider(std::cell::RefCell::new(Some(merged))))
                .extract_lossy::<T>()
            {
                Ok(v) => {
                    value = Some(v);
                    break;
                }
                Err(errors) => {
                    let mut repaired = false;
                    for err in errors {
                        let mut key = err.path.join(".");
                        let (info, message) = describe(&err.kind, &layers, &key);
                        if let figment::error::Kind::MissingField(field) = &err.kind {
                            key = join_key(&key, field);
                        }
                        // figment's path already ends with an unknown field
                        // (it is prefixed as the map's key is read).
                        if let figment::error::Kind::UnknownField(field, _) = &err.kind
                            && err.path.last() != Some(field)
                        {
                            key = join_key(&key, field);
                        }
                        let source = winner(&layers, &key)
                            .map_or(Source::Default, |i| layers[i].source(&key));
                        if reported.insert(key.clone()) {
                            problems.push(Problem::new(key.clone(), source, info, message));
                        }
                        // Take the bad value out of every source above the
                        // defaults, falling back to its nearest ancestor.
                        let mut target = key.as_str();
                        loop {
                            let mut removed = false;
                            for layer in layers.iter_mut().skip(1) {
                                removed |= tree::remove(&mut layer.dict, target);
                            }
                            if removed {
                                repaired = true;
                                break;
                            }
                            match target.rsplit_once('.') {
                                Some((parent, _)) => target = parent,
                                None => break,
                            }
                        }
                    }
                    if !repaired {
                        break;
                    }
                }
            }
        }

        if let Some(config) = &value {
            let mut v = Validator::new();
            config.validate(&mut v);
            for pr_core::validate::Violation { key, message, .. } in v.into_problems() {
                if reported.contains(&key) {
                    continue;
                }
                let found = winner(&layers, &key);
                let source = found.map_or(Source::Default, |i| layers[i].source(&key));
                // A rule's message may quote the value: withhold it if so.
                let quoted = found
                    .and_then(|i| tree::get(&layers[i].dict, &key))
                    .is_some_and(|raw| quotes_a_string_of(&message, raw));
                let message = if quoted {
                    "failed a validation rule (message withheld: it quotes the value)".to_owned()
                } else {
                    message
                };
                problems.push(Problem::new(key, source, &VALIDATION_FAILED, message));
            }
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
            _ => {
                if problems.is_empty() {
                    problems.push(Problem::new(
                        "",
                        Source::Default,
                        &INVALID_VALUE,
                        "the configuration could not be built from its sources",
                    ));
                }
                Err(Error::Invalid { problems })
            }
        }
    }

    fn file_layer(&self, spec: &FileSpec, problems: &mut Vec<Problem>) -> Option<Layer> {
        let path = &spec.path;
        let whole = Source::File {
            path: path.clone(),
            line: None,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if spec.required {
                    // The operating system's reason; the path is in the source.
                    problems.push(Problem::new(
                        "",
                        whole,
                        &FILE_MISSING,
                        format!("required file does not exist: {e}"),
                    ));
                }
                return None;
            }
            Err(e) => {
                problems.push(io_problem(path, &e));
                return None;
            }
        };
        let Some(format) = Format::from_path(path) else {
            problems.push(Problem::new(
                "",
                whole,
                &PARSE_FAILED,
                "unsupported file extension (expected .toml, .json, or .yaml / .yml with the `yaml` feature)",
            ));
            return None;
        };
        match format::parse(format, &text) {
            Ok(parsed) => {
                let mut layer = Layer::new(LayerKind::File(path.clone()), whole);
                layer.dict = parsed.dict;
                layer.lines = parsed.lines;
                Some(layer)
            }
            Err(e) => {
                problems.push(Problem::syntax(path, e));
                None
            }
        }
    }

    /// `key` is `<secret>_file` for a known `<secret>` that is not itself a
    /// known key: the target key.
    fn secret_file_target(&self, key: &str, defaults: &Dict) -> Option<String> {
        let target = key.strip_suffix("_file")?;
        (!target.is_empty() && tree::covers(defaults, target) && !tree::covers(defaults, key))
            .then(|| target.to_owned())
    }

    fn read_secret_file(
        &self,
        key: &str,
        source: &Source,
        path: &Path,
        problems: &mut Vec<Problem>,
        warnings: &mut Vec<Warning>,
    ) -> Option<String> {
        #[cfg(unix)]
        match pr_security::files::PermissionPolicy::secret().check(path) {
            Ok(report) => {
                let bad: Vec<String> = report
                    .findings
                    .iter()
                    .filter(|f| f.severity >= pr_security::Severity::Warning)
                    .map(|f| f.code.to_string())
                    .collect();
                if !bad.is_empty() {
                    let message = format!(
                        "secret file permissions are unsafe ({}); use mode 0600",
                        bad.join(", ")
                    );
                    match self.secret_policy {
                        SecretFilePolicy::Reject => {
                            problems.push(Problem::new(
                                key,
                                source.clone(),
                                &INSECURE_SECRET_FILE,
                                message,
                            ));
                            return None;
                        }
                        SecretFilePolicy::Warn => {
                            tracing::warn!(event = "config.insecure_secret_file", key = %key, source = %source, "{message}");
                            warnings.push(Warning {
                                key: key.to_owned(),
                                source: source.clone(),
                                message,
                            });
                        }
                    }
                }
            }
            Err(e) => {
                // The operating system's reason; the path is in the source.
                let message = match &e {
                    pr_security::Error::Io { op, source, .. } => {
                        format!("cannot examine the secret file: {op} failed: {source}")
                    }
                    _ => "cannot examine the secret file".to_owned(),
                };
                problems.push(Problem::new(key, source.clone(), &IO, message));
                return None;
            }
        }
        match std::fs::read_to_string(path) {
            Ok(mut text) => {
                while text.ends_with('\n') || text.ends_with('\r') {
                    text.pop();
                }
                Some(text)
            }
            Err(e) => {
                problems.push(Problem::new(
                    key,
                    source.clone(),
                    &IO,
                    format!("cannot read the secret file: {e}"),
                ));
                None
            }
        }
    }
}

/// The variables whose names and values are UTF-8. One of ours (`ours` gives
/// the key it sets) that is not is a problem naming it, never its value;
/// anyone else's is skipped.
fn utf8_vars(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    ours: impl Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in vars {
        let (name, what) = match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => {
                out.push((name, value));
                continue;
            }
            (Ok(name), Err(_)) => (name, "the value is not valid UTF-8 (value not shown)"),
            (Err(name), _) => (
                name.to_string_lossy().into_owned(),
                "the variable's name is not valid UTF-8",
            ),
        };
        if let Some(key) = ours(&name) {
            problems.push(Problem::new(
                key,
                Source::Env { name },
                &INVALID_VALUE,
                what,
            ));
        }
    }
    out
}

fn join_key(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// A file that could not be read: the operating system's reason (`Is a
/// directory (os error 21)`), beside the path in the source.
fn io_problem(path: &Path, e: &std::io::Error) -> Problem {
    Problem::new(
        "",
        Source::File {
            path: path.to_path_buf(),
            line: None,
        },
        &IO,
        format!("cannot read the file: {e}"),
    )
}

/// The index of the highest layer that has `key` (or an ancestor leaf of it).
fn winner(layers: &[Layer], key: &str) -> Option<usize> {
    layers.iter().rposition(|l| {
        l.has(key) || {
            let mut k = key;
            let mut found = false;
            while let Some((parent, _)) = k.rsplit_once('.') {
                if matches!(tree::get(&l.dict, parent), Some(v) if !matches!(v, Value::Dict(..))) {
                    found = true;
                    break;
                }
                k = parent;
            }
            found
        }
    })
}

fn describe(
    kind: &figment::error::Kind,
    layers: &[Layer],
    key: &str,
) -> (&'static pr_errors::CodeInfo, String) {
    use figment::error::Kind as K;
    match kind {
        K::InvalidType(actual, expected) => (
            &INVALID_TYPE,
            format!(
                "expected {expected}, found {} (value not shown)",
                actual_kind(actual)
            ),
        ),
        K::InvalidValue(actual, expected) => (
            &INVALID_VALUE,
            format!(
                "expected {expected}, found {} that is not (value not shown)",
                actual_kind(actual)
            ),
        ),
        K::InvalidLength(len, expected) => (
            &INVALID_VALUE,
            format!("expected {expected}, found {len} elements"),
        ),
        K::UnknownVariant(_, expected) => (
            &INVALID_VALUE,
            format!(
                "unknown variant (value not shown), expected one of: {}",
                expected.join(", ")
            ),
        ),
        K::UnknownField(_, expected) => (
            &UNKNOWN_KEY,
            format!("unknown key, expected one of: {}", expected.join(", ")),
        ),
        K::MissingField(_) => (
            &MISSING_VALUE,
            "required key has no value in any source".to_owned(),
        ),
        K::DuplicateField(_) => (&INVALID_VALUE, "key given twice".to_owned()),
        K::Message(message) => {
            // A custom message may quote the value: keep it only when it
            // does not.
            let raw = winner(layers, key).and_then(|i| tree::get(&layers[i].dict, key));
            let leaks = match raw {
                Some(v @ (Value::String(..) | Value::Dict(..) | Value::Array(..))) => {
                    quotes_a_string_of(message, v)
                }
                Some(other) => message.contains(&tree::display_value(other)),
                None => false,
            };
            if leaks {
                (
                    &INVALID_VALUE,
                    format!(
                        "invalid value: {} (value not shown)",
                        raw.map_or("a value", tree::kind_of)
                    ),
                )
            } else {
                (&INVALID_VALUE, format!("invalid value: {message}"))
            }
        }
        _ => (
            &INVALID_VALUE,
            "unsupported value (value not shown)".to_owned(),
        ),
    }
}

/// Whether `message` quotes any piece of `raw`. A value of 4 characters or
/// more counts as quoted when any 4 consecutive characters of it appear, in
/// any case (parsers and rules trim, cut or re-case what they echo); a
/// shorter one when it appears whole.
fn quotes(message: &str, raw: &str) -> bool {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() < 4 {
        return !raw.is_empty() && message.contains(raw);
    }
    let message = message.to_lowercase();
    chars
        .windows(4)
        .any(|piece| message.contains(&piece.iter().collect::<String>().to_lowercase()))
}

/// Whether `message` quotes a piece of `value`, a string or any string
/// in it (a rule may report at a table's or an array's key).
fn quotes_a_string_of(message: &str, value: &Value) -> bool {
    match value {
        Value::String(_, s) => quotes(message, s),
        Value::Dict(_, dict) => tree::leaves(dict)
            .into_iter()
            .any(|(_, leaf)| quotes_a_string_of(message, leaf)),
        Value::Array(_, items) => items.iter().any(|item| quotes_a_string_of(message, item)),
        _ => false,
    }
}

fn did_you_mean(key: &str, known: &Dict) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for (candidate, _) in tree::leaves(known) {
        let distance = strsim::damerau_levenshtein(key, &candidate);
        let limit = (candidate.len() / 4).max(2);
        if distance <= limit && best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, k)| k)
}

fn explain<T: Serialize>(
    config: &T,
    layers: &[Layer],
    secret_keys: &BTreeSet<String>,
) -> Explanation {
    let effective = match Value::serialize(config) {
        Ok(Value::Dict(_, d)) => d,
        _ => Dict::new(),
    };
    let mut entries = Vec::new();
    for (key, value) in tree::leaves(&effective) {
        let secret =
            secret_keys.contains(&key) || matches!(value, Value::String(_, s) if s == REDACTED);
        let mut sources: Vec<Source> = layers
            .iter()
            .filter(|l| l.has(&key))
            .map(|l| l.source(&key))
            .collect();
        let source = sources.pop().unwrap_or(Source::Default);
        entries.push(Entry {
            key,
            value: if secret {
                REDACTED.to_owned()
            } else {
                tree::display_value(value)
            },
            secret,
            source,
            shadowed: sources,
        });
    }
    Explanation { entries }
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
