//! File formats: TOML (with the line of every key), JSON, and `.env`.

use std::collections::HashMap;

use figment::value::{Dict, Value};
use serde::Deserialize as _;
use toml::de::{DeTable, DeValue};

/// A configuration file format, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
    /// YAML (`.yaml`, `.yml`; feature `yaml`).
    #[cfg(feature = "yaml")]
    Yaml,
}

impl FileFormat {
    /// The format of a file name by its extension, if supported.
    #[must_use]
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "toml" => Some(Self::Toml),
            "json" => Some(Self::Json),
            #[cfg(feature = "yaml")]
            "yaml" | "yml" => Some(Self::Yaml),
            _ => None,
        }
    }
}

/// A parsed file: its tree and the 1-based line of each key path.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) dict: Dict,
    pub(crate) lines: HashMap<String, u32>,
}

/// A syntax error, without any of the file's text.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) line: Option<u32>,
    pub(crate) message: String,
}

fn line_of(text: &str, offset: usize) -> u32 {
    let upto = text.get(..offset.min(text.len())).unwrap_or("");
    u32::try_from(upto.bytes().filter(|b| *b == b'\n').count() + 1).unwrap_or(u32::MAX)
}

pub(crate) fn parse(format: FileFormat, text: &str) -> Result<Parsed, SyntaxError> {
    match format {
        FileFormat::Toml => parse_toml(text),
        FileFormat::Json => parse_json(text),
        #[cfg(feature = "yaml")]
        FileFormat::Yaml => parse_yaml(text),
    }
}

#[cfg(feature = "yaml")]
fn parse_yaml(text: &str) -> Result<Parsed, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Parsed::default());
    }
    let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| SyntaxError {
        line: e.location().and_then(|l| u32::try_from(l.line()).ok()),
        // The bare reason, without the location's text.
        message: "invalid YAML".to_owned(),
    })?;
    let Ok(Value::Dict(_, dict)) = Value::serialize(&yaml) else {
        return Err(SyntaxError {
            line: Some(1),
            message: "the top level must be a mapping".to_owned(),
        });
    };
    // Lines of block-mapping keys: indentation tells the nesting.
    let mut lines = HashMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        if key.is_empty() || key.contains(' ') {
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key.to_owned()));
        let path = stack
            .iter()
            .map(|(_, k)| k.as_str())
            .collect::<Vec<_>>()
            .join(".");
        lines
            .entry(path)
            .or_insert_with(|| u32::try_from(index + 1).unwrap_or(u32::MAX));
    }
    Ok(Parsed { dict, lines })
}

fn parse_toml(text: &str) -> Result<Parsed, SyntaxError> {
    let syntax = |e: &toml::de::Error| SyntaxError {
        line: e.span().map(|s| line_of(text, s.start)),
        // `message()` is the bare reason; Display would quote the file's text.
        message: e
            .message()
            .lines()
            .next()
            .unwrap_or("syntax error")
            .to_owned(),
    };
    // One parse: the spanned tree gives the lines, then the values.
    let spanned = DeTable::parse(text).map_err(|e| syntax(&e))?;
    let mut lines = HashMap::new();
    fn walk(prefix: &str, table: &DeTable<'_>, text: &str, out: &mut HashMap<String, u32>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            if let DeValue::Table(child) = value.get_ref() {
                walk(&path, child, text, out);
            }
            out.entry(path)
                .or_insert_with(|| line_of(text, key.span().start));
        }
    }
    walk("", spanned.get_ref(), text, &mut lines);
    let dict = Dict::deserialize(toml::de::Deserializer::from(spanned)).map_err(|e| syntax(&e))?;
    Ok(Parsed { dict, lines })
}

fn parse_json(text: &str) -> Result<Parsed, SyntaxError> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| SyntaxError {
        line: u32::try_from(e.line()).ok(),
        message: format!("invalid JSON ({:?})", e.classify()).to_lowercase(),
    })?;
    match Value::serialize(&json) {
        Ok(Value::Dict(_, dict)) => Ok(Parsed {
            dict,
            lines: HashMap::new(),
        }),
        _ => Err(SyntaxError {
            line: Some(1),
            message: "the top level must be an object".to_owned(),
        }),
    }
}

/// One `.env` assignment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DotEnvVar {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) line: u32,
}

/// Parses a `.env` file: `NAME=value`, optional `export `, `#` comments,
/// single quotes (literal), double quotes (with `\n`, `\"`, `\\` escapes).
pub(crate) fn parse_dotenv(text: &str) -> Result<Vec<DotEnvVar>, SyntaxError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((name, rest)) = trimmed.split_once('=') else {
            return Err(SyntaxError {
                line: Some(line),
                message: "expected NAME=value".to_owned(),
            });
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(SyntaxError {
                line: Some(line),
                message: "invalid variable name".to_owned(),
            });
        }
        let rest = rest.trim();
        let value = if let Some(body) = rest.strip_prefix('\'') {
            body.strip_suffix('\'')
                .ok_or_else(|| SyntaxError {
                    line: Some(line),
                    message: "unterminated single quote".to_owned(),
                })?
                .to_owned()
        } else if let Some(body) = rest.strip_prefix('"') {
            let body = body.strip_suffix('"').ok_or_else(|| SyntaxError {
                line: Some(line),
                message: "unterminated double quote".to_owned(),
            })?;
            let mut value = String::with_capacity(body.len());
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some(other) => value.push(other),
                        None => value.push('\\'),
                    }
                } else {
                    value.push(c);
                }
            }
            value
        } else {
            // An unquoted value ends at ` #`.
            rest.split(" #").next().unwrap_or("").trim_end().to_owned()
        };
        out.push(DotEnvVar {
            name: name.to_owned(),
            value,
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn toml_lines_are_found() {
        let text = "a = 1\n\n[server]\nport = 80\nhost = \"x\"\n";
        let parsed = parse(FileFormat::Toml, text).unwrap();
        assert_eq!(parsed.lines["a"], 1);
        assert_eq!(parsed.lines["server.port"], 4);
        assert_eq!(parsed.lines["server.host"], 5);
    }

    #[test]
    fn toml_syntax_error_has_a_line_and_no_text() {
        let err = parse(FileFormat::Toml, "a = 1\nb = \"hunter2\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(!err.message.contains("hunter2"), "{}", err.message);
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_values_and_lines() {
        let text = "# c\nport: 80\nserver:\n  host: x\n  tls:\n    enabled: true\nlist:\n  - a\n";
        let parsed = parse(FileFormat::Yaml, text).unwrap();
        assert_eq!(parsed.lines["port"], 2);
        assert_eq!(parsed.lines["server.host"], 4);
        assert_eq!(parsed.lines["server.tls.enabled"], 6);
        assert!(crate::tree::get(&parsed.dict, "server.tls.enabled").is_some());
        let err = parse(FileFormat::Yaml, "a: 1\nb: [\"hunter2\"\n").unwrap_err();
        assert!(err.line.is_some());
        assert!(!err.message.contains("hunter2"));
    }

    #[test]
    fn dotenv_forms() {
        let vars = parse_dotenv("# c\nexport A=1\nB='x y'\nC=\"a\\nb\"\nD=plain # comment\n\nE=\n")
            .unwrap();
        let got: Vec<_> = vars
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str(), v.line))
            .collect();
        assert_eq!(
            got,
            [
                ("A", "1", 2),
                ("B", "x y", 3),
                ("C", "a\nb", 4),
                ("D", "plain", 5),
                ("E", "", 7)
            ]
        );
        assert!(parse_dotenv("NOPE").is_err());
        assert!(parse_dotenv("A='x").is_err());
    }
}
