//! Nested key trees (figment `Dict`s): dotted paths, leaves, merging.

use figment::value::{Dict, Empty, Tag, Value};

/// Splits a dotted key path.
pub(crate) fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('.').filter(|s| !s.is_empty())
}

/// The value at `path`, if any.
pub(crate) fn get<'a>(dict: &'a Dict, path: &str) -> Option<&'a Value> {
    let mut parts = segments(path);
    let mut current = dict.get(parts.next()?)?;
    for part in parts {
        match current {
            Value::Dict(_, d) => current = d.get(part)?,
            _ => return None,
        }
    }
    Some(current)
}

/// Sets `path` to `value`, creating tables on the way (a non-table in the
/// way is replaced).
pub(crate) fn insert(dict: &mut Dict, path: &str, value: Value) {
    let parts: Vec<&str> = segments(path).collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut current = dict;
    for part in parents {
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Dict(Tag::Default, Dict::new()));
        if !matches!(entry, Value::Dict(..)) {
            *entry = Value::Dict(Tag::Default, Dict::new());
        }
        let Value::Dict(_, next) = entry else {
            return;
        };
        current = next;
    }
    current.insert((*last).to_owned(), value);
}

/// Removes `path` (and drops tables left empty). Returns whether it was there.
pub(crate) fn remove(dict: &mut Dict, path: &str) -> bool {
    fn go(dict: &mut Dict, parts: &[&str]) -> bool {
        match parts {
            [] => false,
            [last] => dict.remove(*last).is_some(),
            [first, rest @ ..] => {
                let Some(Value::Dict(_, child)) = dict.get_mut(*first) else {
                    return false;
                };
                let removed = go(child, rest);
                if removed && child.is_empty() {
                    dict.remove(*first);
                }
                removed
            }
        }
    }
    let parts: Vec<&str> = segments(path).collect();
    go(dict, &parts)
}

/// Every leaf (a non-table value, or an empty table) with its dotted path,
/// in key order.
pub(crate) fn leaves(dict: &Dict) -> Vec<(String, &Value)> {
    fn go<'a>(prefix: &str, dict: &'a Dict, out: &mut Vec<(String, &'a Value)>) {
        for (key, value) in dict {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Value::Dict(_, child) if !child.is_empty() => go(&path, child, out),
                _ => out.push((path, value)),
            }
        }
    }
    let mut out = Vec::new();
    go("", dict, &mut out);
    out
}

/// Merges `top` over `base`: tables merge key by key, anything else is
/// replaced.
pub(crate) fn merge(base: &mut Dict, top: &Dict) {
    for (key, value) in top {
        match (base.get_mut(key), value) {
            (Some(Value::Dict(_, b)), Value::Dict(_, t)) => merge(b, t),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Whether `path` is covered by the tree: it exists, or it sits under a
/// leaf that accepts anything (an empty table such as an empty map, or an
/// empty value such as `None`).
pub(crate) fn covers(dict: &Dict, path: &str) -> bool {
    let mut current = dict;
    let parts: Vec<&str> = segments(path).collect();
    for (i, part) in parts.iter().enumerate() {
        match current.get(*part) {
            None => return current.is_empty() && i > 0,
            Some(Value::Dict(_, child)) => {
                if child.is_empty() {
                    return true;
                }
                current = child;
            }
            Some(Value::Empty(..)) => return true,
            Some(_) => return i + 1 == parts.len(),
        }
    }
    true
}

/// A value safe to print: scalars as JSON, tables and arrays summarised.
pub(crate) fn display_value(value: &Value) -> String {
    match value {
        Value::String(_, s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Char(_, c) => format!("{c:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => n
            .to_i128()
            .map(|i| i.to_string())
            .or_else(|| n.to_u128().map(|u| u.to_string()))
            .or_else(|| n.to_f64().map(|f| f.to_string()))
            .unwrap_or_default(),
        Value::Empty(_, Empty::None) => "none".to_owned(),
        Value::Empty(_, Empty::Unit) => "()".to_owned(),
        Value::Dict(_, d) => format!("{{{} keys}}", d.len()),
        Value::Array(_, a) => serde_json::to_string(
            &a.iter()
                .map(|v| match v {
                    Value::String(_, s) => serde_json::Value::String(s.clone()),
                    other => serde_json::Value::String(display_value(other)),
                })
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
    }
}

/// The kind of a value, for messages that must not show it.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::String(..) => "a string",
        Value::Char(..) => "a character",
        Value::Bool(..) => "a boolean",
        Value::Num(_, n) if n.to_i128().is_some() || n.to_u128().is_some() => "an integer",
        Value::Num(..) => "a float",
        Value::Empty(..) => "an empty value",
        Value::Dict(..) => "a table",
        Value::Array(..) => "an array",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn insert_get_remove_roundtrip() {
        let mut d = Dict::new();
        insert(&mut d, "a.b.c", Value::from(1u32));
        insert(&mut d, "a.d", Value::from("x"));
        assert!(get(&d, "a.b.c").is_some());
        assert_eq!(leaves(&d).len(), 2);
        assert!(remove(&mut d, "a.b.c"));
        assert!(get(&d, "a.b").is_none(), "empty table dropped");
        assert!(!remove(&mut d, "a.zz"));
        assert!(covers(&d, "a.d"));
        assert!(!covers(&d, "a.e"));
    }
}
