//! The environment: the process's variables (or injected ones) over `.env`,
//! the profile they may name, and their layers. Separate because it is the
//! one source read before the profile is known, and the one whose names and
//! values may not be UTF-8.

use std::ffi::OsString;

use figment::value::{Dict, Value};

use super::ConfigLoader;
use super::layers::{Layer, LayerKind, io_problem};
use super::secrets::SecretFileRef;
use crate::error::INVALID_VALUE;
use crate::format::{self, DotEnvVar};
use crate::{ConfigProblem, Source, env, tree};

/// The variables as read, before any is turned into a key.
pub(super) struct Environment {
    /// The process's (or injected) variables that are UTF-8.
    vars: Vec<(String, String)>,
    /// The `.env` file's assignments (none without one).
    dotenv: Vec<DotEnvVar>,
    /// The variable that names the profile, if any.
    profile_var: Option<String>,
}

impl<T> ConfigLoader<T> {
    /// Reads the environment and the `.env` file; a variable of ours that is
    /// not UTF-8 and a `.env` file that cannot be read or parsed are problems.
    pub(super) fn read_environment(&self, problems: &mut Vec<ConfigProblem>) -> Environment {
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
        let vars: Vec<(String, String)> = match &self.env_vars {
            Some(vars) => utf8_vars(vars.iter().cloned(), ours, problems),
            None => utf8_vars(std::env::vars_os(), ours, problems),
        };
        let dotenv = match &self.dotenv {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => match format::parse_dotenv(&text) {
                    Ok(vars) => vars,
                    Err(e) => {
                        problems.push(ConfigProblem::syntax(path, e));
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
        Environment {
            vars,
            dotenv,
            profile_var,
        }
    }

    /// The profile: the one set on the builder, else the profile variable's
    /// non-empty value (the environment's over the `.env` file's).
    pub(super) fn profile_in_effect(&self, env: &Environment) -> Option<String> {
        self.profile.clone().or_else(|| {
            let var = env.profile_var.as_ref()?;
            env.vars
                .iter()
                .find(|(k, _)| k == var)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    env.dotenv
                        .iter()
                        .find(|d| d.name == *var)
                        .map(|d| d.value.clone())
                })
                .filter(|v| !v.is_empty())
        })
    }

    /// The `.env` layer (with a `.env` file), then the environment's layer,
    /// with the variables under `prefix`; the `<KEY>_FILE` ones naming secret
    /// files are set aside for the secrets layer, in the same order.
    pub(super) fn env_layers(
        &self,
        prefix: &str,
        env: &Environment,
        known: &Dict,
    ) -> (Vec<Layer>, Vec<SecretFileRef>) {
        let mut layers = Vec::new();
        let mut file_refs = Vec::new();
        if let Some(path) = &self.dotenv {
            let mut layer = Layer::new(LayerKind::Other, Source::Override);
            for var in &env.dotenv {
                if let Some(key) = env::key_for_env(prefix, &var.name) {
                    if let Some(target) = self.secret_file_target(&key, known) {
                        file_refs.push(SecretFileRef::new(target, &var.name, &var.value));
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
        for (name, value) in &env.vars {
            if let Some(key) = env::key_for_env(prefix, name) {
                if let Some(target) = self.secret_file_target(&key, known) {
                    file_refs.push(SecretFileRef::new(target, name, value));
                    continue;
                }
                tree::insert(&mut layer.dict, &key, Value::from(value.clone()));
                layer
                    .origins
                    .insert(key, Source::Env { name: name.clone() });
            }
        }
        layers.push(layer);
        (layers, file_refs)
    }
}

/// The variables whose names and values are UTF-8. One of ours (`ours` gives
/// the key it sets) that is not is a problem naming it, never its value;
/// anyone else's is skipped.
fn utf8_vars(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    ours: impl Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
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
            problems.push(ConfigProblem::new(
                key,
                Source::Env { name },
                &INVALID_VALUE,
                what,
            ));
        }
    }
    out
}
