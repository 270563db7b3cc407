//! Templates from one schema: a commented TOML file, a `.env.example`, and a
//! Markdown reference, all from `schemars::JsonSchema` (doc comments become
//! descriptions) and `T::default()` (the defaults).

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::env::env_name;
use crate::loader::REDACTED;

/// One key of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TemplateEntry {
    /// The dotted key path.
    pub key: String,
    /// The field's doc comment.
    pub description: Option<String>,
    /// The expected type, in words (`integer`, `string`, `boolean | null`).
    pub type_name: String,
    /// The default, as TOML text; `None` when there is none (or a secret).
    pub default: Option<String>,
    /// Whether a value must be given.
    pub required: bool,
    /// Whether the key holds a secret (never given a default).
    pub secret: bool,
    /// Whether the value is a list or table (not settable as one env var).
    pub compound: bool,
}

/// The keys of a configuration type, ready to render.
///
/// # Examples
///
/// ```
/// use pr_config::Template;
///
/// /// The service.
/// #[derive(Default, serde::Serialize, schemars::JsonSchema)]
/// #[serde(default)]
/// struct Config {
///     /// Listen port.
///     port: u16,
/// }
///
/// let template = Template::of::<Config>();
/// assert!(template.toml().contains("# Listen port.\n# (integer)\nport = 0\n"));
/// assert!(template.env_example("APP").contains("APP__PORT=0"));
/// assert!(template.markdown("APP").contains("| `port` | `APP__PORT` | integer | `0` |"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    entries: Vec<TemplateEntry>,
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let reference = schema.get("$ref").and_then(Value::as_str).or_else(|| {
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .filter(|a| a.len() == 1)
            .and_then(|a| a[0].get("$ref"))
            .and_then(Value::as_str)
    });
    match reference.and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => root.pointer(&format!("/{pointer}")).unwrap_or(schema),
        None => schema,
    }
}

fn type_name(schema: &Value, root: &Value) -> String {
    let schema = resolve(schema, root);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values.iter().map(ToString::to_string).collect();
        return format!("one of {}", names.join(", "));
    }
    // A documented enum variant: `{ "type": "string", "const": "never", "description": ... }`.
    if let Some(value) = schema.get("const") {
        return value.to_string();
    }
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => {
            let variants = schema
                .get("anyOf")
                .or_else(|| schema.get("oneOf"))
                .and_then(Value::as_array);
            match variants {
                Some(vs) => vs
                    .iter()
                    .map(|v| type_name(v, root))
                    .collect::<Vec<_>>()
                    .join(" | "),
                None => "any".to_owned(),
            }
        }
    }
}

fn toml_literal(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        other => {
            let v: toml::Value = serde_json::from_value(other.clone()).ok()?;
            Some(v.to_string())
        }
    }
}

impl Template {
    /// The template of `T`.
    #[must_use]
    pub fn of<T: JsonSchema + Serialize + Default>() -> Self {
        let schema = schemars::schema_for!(T);
        let root = schema.as_value();
        let defaults = serde_json::to_value(T::default()).unwrap_or(Value::Null);
        let mut entries = Vec::new();
        walk(root, root, &defaults, "", &mut entries);
        // Top-level keys first, then each table in order.
        entries.sort_by(|a, b| {
            let depth = |k: &str| k.matches('.').count();
            let parent = |k: &str| k.rsplit_once('.').map_or("", |(p, _)| p).to_owned();
            (depth(&a.key).min(1), parent(&a.key)).cmp(&(depth(&b.key).min(1), parent(&b.key)))
        });
        Self { entries }
    }

    /// Every key.
    #[must_use]
    pub fn entries(&self) -> &[TemplateEntry] {
        &self.entries
    }

    /// A commented TOML file with every key at its default; secrets and keys
    /// without a default are commented out.
    #[must_use]
    pub fn toml(&self) -> String {
        let mut out = String::new();
        let mut table = String::new();
        for e in &self.entries {
            let (parent, name) = e.key.rsplit_once('.').unwrap_or(("", &e.key));
            if parent != table {
                let _ = writeln!(out, "[{parent}]\n");
                table = parent.to_owned();
            }
            if let Some(description) = &e.description {
                for line in description.lines() {
                    let _ = writeln!(out, "# {line}");
                }
            }
            let mut notes = vec![e.type_name.clone()];
            if e.required {
                notes.push("required".to_owned());
            }
            if e.secret {
                notes.push("secret: prefer the environment or a _FILE".to_owned());
            }
            let _ = writeln!(out, "# ({})", notes.join("; "));
            match (&e.default, e.secret) {
                (Some(default), false) => {
                    let _ = writeln!(out, "{name} = {default}\n");
                }
                _ => {
                    let _ = writeln!(out, "# {name} =\n");
                }
            }
        }
        out
    }

    /// A `.env.example` with the exact variable names under `prefix`.
    #[must_use]
    pub fn env_example(&self, prefix: &str) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let name = env_name(prefix, &e.key);
            if let Some(description) = &e.description {
                let _ = writeln!(out, "# {}", description.lines().next().unwrap_or(""));
            }
            let mut notes = vec![e.type_name.clone()];
            if e.required {
                notes.push("required".to_owned());
            }
            if e.secret {
                notes.push(format!("secret; or {name}_FILE=/path/to/file"));
            }
            if e.compound {
                notes.push("set in a file".to_owned());
            }
            let _ = writeln!(out, "# ({})", notes.join("; "));
            let value = match (&e.default, e.secret || e.compound) {
                (Some(d), false) => d.trim_matches('"').to_owned(),
                _ => String::new(),
            };
            // An optional key with no default stays unset: an empty value
            // would be a value (and for most types a wrong one).
            let unset = e.default.is_none() && !e.required && !e.secret;
            if e.compound || unset {
                let _ = writeln!(out, "# {name}=\n");
            } else {
                let _ = writeln!(out, "{name}={value}\n");
            }
        }
        out
    }

    /// A Markdown reference table.
    #[must_use]
    pub fn markdown(&self, prefix: &str) -> String {
        let mut out = String::from(
            "| key | environment variable | type | default | description |\n|---|---|---|---|---|\n",
        );
        for e in &self.entries {
            let default = match (&e.default, e.secret, e.required) {
                (_, true, _) => "secret".to_owned(),
                (_, _, true) => "required".to_owned(),
                (Some(d), _, _) => format!("`{}`", d.replace('|', "\\|")),
                (None, _, _) => "—".to_owned(),
            };
            let description = e
                .description
                .as_deref()
                .unwrap_or("")
                .replace('\n', " ")
                .replace('|', "\\|");
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | {default} | {description} |",
                e.key,
                env_name(prefix, &e.key),
                e.type_name.replace('|', "\\|"),
            );
        }
        out
    }
}

fn walk(
    schema: &Value,
    root: &Value,
    defaults: &Value,
    prefix: &str,
    out: &mut Vec<TemplateEntry>,
) {
    let schema = resolve(schema, root);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let empty = Map::new();
    let default_map = defaults.as_object().unwrap_or(&empty);
    for (name, property) in properties {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let target = resolve(property, root);
        let default = default_map.get(name).unwrap_or(&Value::Null);
        if target.get("properties").is_some() {
            walk(target, root, default, &key, out);
            continue;
        }
        let description = property
            .get("description")
            .or_else(|| target.get("description"))
            .and_then(Value::as_str)
            .map(ToOwned::to_owned);
        // A secret serializes as the redaction marker, or not at all (`skip_serializing`, which
        // schemars marks `writeOnly`).
        let secret = matches!(default, Value::String(s) if s == REDACTED)
            || property.get("writeOnly") == Some(&Value::Bool(true));
        let kind = type_name(property, root);
        let compound = kind.contains("array") || kind.contains("object");
        let default_text = if secret { None } else { toml_literal(default) };
        out.push(TemplateEntry {
            required: required.contains(&name.as_str()) && default_text.is_none(),
            key,
            description,
            type_name: kind,
            default: default_text,
            secret,
            compound,
        });
    }
}
