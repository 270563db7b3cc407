//! Unknown keys: keys a source sets that the defaults do not have, named
//! with the nearest known key. Separate because strict mode turns them from
//! warnings into problems and takes them out before extraction.

use figment::value::Dict;

use super::ConfigLoader;
use super::layers::Layer;
use crate::error::UNKNOWN_KEY;
use crate::{ConfigProblem, Warning, tree};

impl<T> ConfigLoader<T> {
    /// Reports each key of a layer above the defaults that `known` does not
    /// cover: a warning, or in strict mode a problem (and the key removed).
    pub(super) fn check_unknown_keys(
        &self,
        layers: &mut [Layer],
        known: &Dict,
        problems: &mut Vec<ConfigProblem>,
        warnings: &mut Vec<Warning>,
    ) {
        for layer in layers.iter_mut().skip(1) {
            let unknown: Vec<String> = tree::leaves(&layer.dict)
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !tree::covers(known, k))
                .collect();
            for key in unknown {
                let mut message = "unknown key".to_owned();
                if let Some(close) = did_you_mean(&key, known) {
                    message = format!("unknown key; did you mean `{close}`?");
                }
                let source = layer.source(&key);
                if self.strict {
                    problems.push(ConfigProblem::new(
                        key.clone(),
                        source,
                        &UNKNOWN_KEY,
                        message,
                    ));
                    tree::remove(&mut layer.dict, &key);
                } else {
                    tracing::warn!(event = "config.unknown_key", key = %key, source = %source, "{message}");
                    warnings.push(Warning {
                        event: "config.unknown_key",
                        key,
                        source,
                        message,
                    });
                }
            }
        }
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
