//! Validation: [`Validate`] run on the extracted configuration, each
//! violation a [`ConfigProblem`] with its key's source and the validation code.
//! Separate because a rule's message may quote the value, and is withheld
//! when it does (extraction's messages use the same test).

use std::collections::HashSet;

use figment::value::Value;

use super::layers::{Layer, winner};
use crate::error::VALIDATION_FAILED;
use crate::{ConfigProblem, Source, Validate, Validator, tree};

/// Runs `config`'s rules; a key already reported by extraction is not
/// reported again.
pub(super) fn validate<T: Validate>(
    config: &T,
    layers: &[Layer],
    reported: &HashSet<String>,
    problems: &mut Vec<ConfigProblem>,
) {
    let mut v = Validator::new();
    config.validate(&mut v);
    for pr_core::validate::Violation { key, message, .. } in v.into_problems() {
        if reported.contains(&key) {
            continue;
        }
        let found = winner(layers, &key);
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
        problems.push(ConfigProblem::new(key, source, &VALIDATION_FAILED, message));
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
pub(super) fn quotes_a_string_of(message: &str, value: &Value) -> bool {
    match value {
        Value::String(_, s) => quotes(message, s),
        Value::Dict(_, dict) => tree::leaves(dict)
            .into_iter()
            .any(|(_, leaf)| quotes_a_string_of(message, leaf)),
        Value::Array(_, items) => items.iter().any(|item| quotes_a_string_of(message, item)),
        _ => false,
    }
}
