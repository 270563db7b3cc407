//! Extraction: the merged layers deserialized into `T` by figment, each bad
//! value reported at its key and source and taken out so that the next is
//! found too. Separate because turning figment's errors into problems must
//! never let a value through into a message.

use std::collections::HashSet;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;

use super::layers::{Layer, winner};
use super::validate::quotes_a_string_of;
use crate::error::{INVALID_TYPE, INVALID_VALUE, MISSING_VALUE, UNKNOWN_KEY};
use crate::{ConfigProblem, Source, tree};

/// The most extraction rounds: each removes at least one bad value.
const MAX_REPAIRS: usize = 256;

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

/// Extracts `T` from the merged layers, repairing each bad value so that
/// the next is found: the value (if one could be built) and the keys
/// already reported.
pub(super) fn extract<T: DeserializeOwned>(
    layers: &mut [Layer],
    problems: &mut Vec<ConfigProblem>,
) -> (Option<T>, HashSet<String>) {
    let mut reported: HashSet<String> = HashSet::new();
    let mut value: Option<T> = None;
    for _ in 0..MAX_REPAIRS {
        let mut merged = Dict::new();
        for layer in &*layers {
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
                    let (info, message) = describe(&err.kind, layers, &key);
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
                    let source =
                        winner(layers, &key).map_or(Source::Default, |i| layers[i].source(&key));
                    if reported.insert(key.clone()) {
                        problems.push(ConfigProblem::new(key.clone(), source, info, message));
                    }
                    repaired |= remove_bad_value(layers, &key);
                }
                if !repaired {
                    break;
                }
            }
        }
    }
    (value, reported)
}

/// Takes the bad value at `key` out of every source above the defaults,
/// falling back to its nearest ancestor; whether anything was removed.
fn remove_bad_value(layers: &mut [Layer], key: &str) -> bool {
    let mut target = key;
    loop {
        let mut removed = false;
        for layer in layers.iter_mut().skip(1) {
            removed |= tree::remove(&mut layer.dict, target);
        }
        if removed {
            return true;
        }
        match target.rsplit_once('.') {
            Some((parent, _)) => target = parent,
            None => return false,
        }
    }
}

fn join_key(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
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
                "expected {expected}, found {} (value not shown){}",
                actual_kind(actual),
                unit_type_hint(actual, &expected.to_string())
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

/// A hint for the commonest slip: a field of std's `Duration` (a struct of
/// seconds and nanoseconds to serde) given `"5s"`, for which the toolkit's
/// unit type exists.
fn unit_type_hint(actual: &figment::error::Actual, expected: &str) -> &'static str {
    let string = matches!(actual, figment::error::Actual::Str(_));
    if string && expected == "struct Duration" {
        "; a field of std::time::Duration takes no \"5s\": declare it as pr_config::Duration (pr_core::Duration), which does"
    } else {
        ""
    }
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
