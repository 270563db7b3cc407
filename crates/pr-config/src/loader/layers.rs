//! The sources as layers, lowest first: the defaults, the files and profile
//! files, the figment providers and the overrides (the environment's layers
//! are in `environment`, the secret files' in `secrets`). Each layer keeps
//! where its keys came from, for problems and for `explain()`; that
//! provenance is what sets this part apart from merging.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use figment::Profile;
use figment::value::{Dict, Value};
use serde::Serialize;

use super::{ConfigLoader, FileSpec, REDACTED};
use crate::error::{FILE_MISSING, IO, PARSE_FAILED};
use crate::explain::{Explanation, ExplanationEntry};
use crate::format::{self, FileFormat};
use crate::{ConfigProblem, Source, tree};

#[derive(Debug)]
pub(super) enum LayerKind {
    Default,
    File(PathBuf),
    Other,
}

#[derive(Debug)]
pub(super) struct Layer {
    pub(super) kind: LayerKind,
    pub(super) dict: Dict,
    pub(super) lines: HashMap<String, u32>,
    pub(super) origins: HashMap<String, Source>,
    pub(super) fallback: Source,
}

impl Layer {
    pub(super) fn new(kind: LayerKind, fallback: Source) -> Self {
        Self {
            kind,
            dict: Dict::new(),
            lines: HashMap::new(),
            origins: HashMap::new(),
            fallback,
        }
    }

    pub(super) fn has(&self, key: &str) -> bool {
        tree::get(&self.dict, key).is_some()
    }

    pub(super) fn source(&self, key: &str) -> Source {
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

/// The defaults: the full tree (every known key) and the layer, which
/// leaves out redacted secrets (they would otherwise become their values)
/// and adds their keys to `secret_keys`.
pub(super) fn defaults<T: Serialize + Default>(
    changed: &Dict,
    secret_keys: &mut BTreeSet<String>,
) -> (Dict, Layer) {
    let mut known = match Value::serialize(T::default()) {
        Ok(Value::Dict(_, d)) => d,
        _ => Dict::new(),
    };
    tree::merge(&mut known, changed);
    let mut layer = Layer::new(LayerKind::Default, Source::Default);
    layer.dict = known.clone();
    for (key, value) in tree::leaves(&known) {
        if matches!(value, Value::String(_, s) if s == REDACTED) {
            tree::remove(&mut layer.dict, &key);
            secret_keys.insert(key);
        }
    }
    (known, layer)
}

impl<T> ConfigLoader<T> {
    /// The files, then the profile files (each optional), that could be read.
    pub(super) fn file_layers(
        &self,
        profile: Option<&str>,
        problems: &mut Vec<ConfigProblem>,
    ) -> Vec<Layer> {
        let mut specs = self.files.clone();
        if let Some(profile) = profile {
            specs.extend(self.files.iter().map(|f| FileSpec {
                path: profile_path(&f.path, profile),
                required: false,
            }));
        }
        specs
            .iter()
            .filter_map(|spec| file_layer(spec, problems))
            .collect()
    }

    /// One layer per provider, with its default, global and selected
    /// profile's data.
    pub(super) fn provider_layers(
        &self,
        profile: Option<&str>,
        problems: &mut Vec<ConfigProblem>,
    ) -> Vec<Layer> {
        let mut layers = Vec::new();
        for provider in &self.providers {
            let name = provider.metadata().name.to_string();
            let mut layer = Layer::new(LayerKind::Other, Source::Provider(name.clone()));
            match provider.data() {
                Ok(data) => {
                    for (p, dict) in data {
                        if p == Profile::Default
                            || p == Profile::Global
                            || profile.is_some_and(|want| p.as_str().as_str() == want)
                        {
                            tree::merge(&mut layer.dict, &dict);
                        }
                    }
                }
                Err(_) => problems.push(ConfigProblem::new(
                    "",
                    Source::Provider(name),
                    &PARSE_FAILED,
                    "the provider failed to produce data",
                )),
            }
            layers.push(layer);
        }
        layers
    }

    /// The values set with [`set`](super::ConfigLoaderBuilder::set), above
    /// everything.
    pub(super) fn override_layer(&self) -> Layer {
        let mut overrides = Layer::new(LayerKind::Other, Source::Override);
        overrides.dict = self.overrides.clone();
        overrides
    }
}

fn file_layer(spec: &FileSpec, problems: &mut Vec<ConfigProblem>) -> Option<Layer> {
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
                problems.push(ConfigProblem::new(
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
    let Some(format) = FileFormat::from_path(path) else {
        problems.push(ConfigProblem::new(
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
            problems.push(ConfigProblem::syntax(path, e));
            None
        }
    }
}

pub(super) fn profile_path(path: &Path, profile: &str) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}.{profile}.{ext}"),
        None => format!("{stem}.{profile}"),
    };
    path.with_file_name(name)
}

/// A file that could not be read: the operating system's reason (`Is a
/// directory (os error 21)`), beside the path in the source.
pub(super) fn io_problem(path: &Path, e: &std::io::Error) -> ConfigProblem {
    ConfigProblem::new(
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
pub(super) fn winner(layers: &[Layer], key: &str) -> Option<usize> {
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

/// Each key of `config` with the layer that won it and those it shadowed.
pub(super) fn explain<T: Serialize>(
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
        entries.push(ExplanationEntry {
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
