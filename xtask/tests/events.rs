//! Every toolkit event has a stable name ([STYLE.md](../../docs/STYLE.md#naming)): each call of a
//! `tracing` event macro (`trace!`, `debug!`, `info!`, `warn!`, `error!`, `event!`, bare or as
//! `tracing::…`) in `crates/*/src/**/*.rs` carries a field `event = "area.what"` whose value is a
//! string literal, dotted and lowercase (`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`). The message is for
//! people and may change; the name is what dashboards, alerts and tests match, and may not.
//!
//! Calls are found in each file's tokens, as proc-macro2's lexer reads them: comments, strings and
//! doc examples are not code, and a call over many lines is one group of tokens. Calls inside other
//! macros' arguments and `macro_rules!` bodies count too (a syntax tree would leave those as
//! unparsed tokens). Items under `#[cfg(test)]`, and the files of modules declared under it, are
//! left out: a test's events are not the toolkit's; so is `pr-test-support`, a dev-dependency only.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};

mod common;

use common::rust_files;

/// The `tracing` macros that emit an event.
const EVENT_MACROS: &[&str] = &["trace", "debug", "info", "warn", "error", "event"];

/// Crates whose events are not the toolkit's.
const SKIPPED: &[&str] = &["pr-test-support"];

/// Calls that emit someone else's event, by file and `target:`, each with why.
const NOT_TOOLKIT_EVENTS: &[(&str, &str, &str)] = &[(
    "crates/pr-logging/src/lib.rs",
    "audit",
    "`audit!` emits the caller's own audit event, with the caller's fields",
)];

/// One event macro call.
#[derive(Debug)]
struct Call {
    /// `path:line` of the macro's name.
    at: String,
    /// The macro's name (`info`, `event`, ...).
    name: String,
    /// The value of its `target:`, when it is a string literal.
    target: Option<String>,
    /// Its `event = ...` field: the tokens after the `=`.
    event: Option<String>,
}

impl Call {
    /// What is wrong with the call's name, if anything.
    fn problem(&self) -> Option<String> {
        let Some(value) = &self.event else {
            return Some(format!(
                "{}: `{}!` has no `event = \"area.what\"` field",
                self.at, self.name
            ));
        };
        match literal(value) {
            Some(name) if is_stable_name(name) => None,
            Some(name) => Some(format!(
                "{}: `{}!`'s event name `{name}` is not dotted lowercase \
                 (`^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)+$`)",
                self.at, self.name
            )),
            None => Some(format!(
                "{}: `{}!`'s `event` is `{value}`, not a string literal",
                self.at, self.name
            )),
        }
    }
}

/// The text of a plain string literal token (`"a.b"`), without its quotes; `None` for anything
/// else (a raw string, an expression).
fn literal(token: &str) -> Option<&str> {
    token
        .strip_prefix('"')?
        .strip_suffix('"')
        .filter(|text| !text.contains(['"', '\\']))
}

/// Whether `name` matches `^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`.
fn is_stable_name(name: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    first.starts_with(|c: char| c.is_ascii_lowercase())
        && part(first)
        && !rest.is_empty()
        && rest.iter().all(|p| part(p))
}

/// Whether the attribute `#[...]` holding `group` is `cfg(test)` or `cfg(all(test, ...))`.
fn is_test_cfg(group: &Group) -> bool {
    let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
    let [TokenTree::Ident(cfg), TokenTree::Group(args)] = tokens.as_slice() else {
        return false;
    };
    if cfg != "cfg" {
        return false;
    }
    let args: Vec<TokenTree> = args.stream().into_iter().collect();
    match args.as_slice() {
        [TokenTree::Ident(test)] => test == "test",
        [TokenTree::Ident(all), TokenTree::Group(list)] if all == "all" => list
            .stream()
            .into_iter()
            .any(|t| matches!(&t, TokenTree::Ident(i) if i == "test")),
        _ => false,
    }
}

/// Whether `token` is the punctuation `c`.
fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// The calls found in a file's tokens, and the modules it declares under `#[cfg(test)]`
/// (`mod tests;`).
#[derive(Debug, Default)]
struct Scan {
    calls: Vec<Call>,
    test_modules: Vec<String>,
}

impl Scan {
    fn of(path: &str, text: &str) -> Self {
        let stream =
            TokenStream::from_str(text).unwrap_or_else(|e| panic!("{path} does not lex: {e:?}"));
        let mut scan = Self::default();
        scan.walk(path, stream, true);
        scan
    }

    /// Walks one level of tokens and every group under it; `items` is whether the level holds
    /// items (the file, a module's braces), where `mod name;` declares a module file.
    fn walk(&mut self, path: &str, stream: TokenStream, items: bool) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        let mut i = 0;
        while let Some(token) = tokens.get(i) {
            // `#[cfg(test)]`: skip the item it is on, through its body or its `;`.
            if is_punct(Some(token), '#')
                && let Some(TokenTree::Group(attribute)) = tokens.get(i + 1)
                && attribute.delimiter() == Delimiter::Bracket
                && is_test_cfg(attribute)
            {
                i += 2;
                let start = i;
                while let Some(next) = tokens.get(i) {
                    i += 1;
                    match next {
                        TokenTree::Group(body) if body.delimiter() == Delimiter::Brace => break,
                        TokenTree::Punct(p) if p.as_char() == ';' => {
                            if let [.., TokenTree::Ident(keyword), TokenTree::Ident(name), _] =
                                &tokens[start..i]
                                && items
                                && keyword == "mod"
                            {
                                self.test_modules.push(name.to_string());
                            }
                            break;
                        }
                        _ => {}
                    }
                }
                continue;
            }
            if let TokenTree::Ident(name) = token
                && EVENT_MACROS.iter().any(|m| name == m)
                && is_punct(tokens.get(i + 1), '!')
                && let Some(TokenTree::Group(args)) = tokens.get(i + 2)
                && tracing_path(&tokens[..i])
            {
                self.calls.push(call(path, name, args));
            }
            if let TokenTree::Group(group) = token {
                // A module's braces hold items: `mod name { ... }`.
                let module = i >= 2
                    && matches!(&tokens[i - 2], TokenTree::Ident(keyword) if keyword == "mod");
                self.walk(path, group.stream(), module);
            }
            i += 1;
        }
    }
}

/// Whether the tokens before a macro's name leave it `tracing`'s: no path (`info!`, imported), or
/// `tracing::` / `::tracing::` (not `log::info!`).
fn tracing_path(before: &[TokenTree]) -> bool {
    match before {
        [.., TokenTree::Punct(a), TokenTree::Punct(b)]
            if a.as_char() == ':' && b.as_char() == ':' =>
        {
            matches!(
                &before[..before.len() - 2],
                [.., TokenTree::Ident(krate)] if krate == "tracing"
            )
        }
        _ => true,
    }
}

/// The call of macro `name` with arguments `args`.
fn call(path: &str, name: &proc_macro2::Ident, args: &Group) -> Call {
    let mut found = Call {
        at: format!("{path}:{}", name.span().start().line),
        name: name.to_string(),
        target: None,
        event: None,
    };
    // The arguments, split at the commas of their own level.
    let mut segments: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for token in args.stream() {
        if is_punct(Some(&token), ',') {
            segments.push(Vec::new());
        } else if let Some(last) = segments.last_mut() {
            last.push(token);
        }
    }
    for segment in segments {
        match segment.as_slice() {
            [
                TokenTree::Ident(key),
                TokenTree::Punct(colon),
                TokenTree::Literal(value),
            ] if key == "target" && colon.as_char() == ':' => {
                found.target = literal(&value.to_string()).map(str::to_owned);
            }
            [TokenTree::Ident(key), TokenTree::Punct(equals), value @ ..]
                if key == "event" && equals.as_char() == '=' =>
            {
                let value: TokenStream = value.iter().cloned().collect();
                found.event = Some(value.to_string());
            }
            _ => {}
        }
    }
    found
}

/// The directory holding the files of the modules `file` declares: its own for `lib.rs`,
/// `main.rs` and `mod.rs`, else the folder named after it beside it.
fn module_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap().to_path_buf();
    match file.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "main.rs" | "mod.rs") => parent,
        _ => parent.join(file.file_stem().unwrap()),
    }
}

/// Every event macro call of the workspace's crates (paths relative to the workspace root), test
/// code left out.
fn calls() -> Vec<Call> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let krate = entry.file_name().to_string_lossy().into_owned();
        let src = entry.path().join("src");
        if !SKIPPED.contains(&krate.as_str()) && src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();
    let mut scans = Vec::new();
    let mut test_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for file in &files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let scan = Scan::of(&relative, &std::fs::read_to_string(file).unwrap());
        for module in &scan.test_modules {
            // `name.rs`, `name/mod.rs` and all under `name/`.
            test_dirs.insert(module_dir(file).join(module));
        }
        scans.push((file, scan));
    }
    scans
        .into_iter()
        .filter(|(file, _)| {
            !test_dirs
                .iter()
                .any(|dir| file.starts_with(dir) || dir.with_extension("rs") == **file)
        })
        .flat_map(|(_, scan)| scan.calls)
        .collect()
}

/// Whether `call` emits someone else's event ([`NOT_TOOLKIT_EVENTS`]).
fn not_the_toolkits(call: &Call) -> bool {
    NOT_TOOLKIT_EVENTS.iter().any(|(file, target, _)| {
        call.at.starts_with(&format!("{file}:")) && call.target.as_deref() == Some(*target)
    })
}

/// The file part of a call's `path:line`.
fn file_of(call: &Call) -> &str {
    call.at
        .rsplit_once(':')
        .map_or(call.at.as_str(), |(file, _)| file)
}

#[test]
fn every_toolkit_event_has_a_stable_name() {
    let calls = calls();
    // The scan sees the workspace: a broken walk would find nothing and pass.
    assert!(
        calls
            .iter()
            .any(|c| c.event.as_deref() == Some("\"health.check_status_changed\"")),
        "the scan missed pr-health's `health.check_status_changed`: {} calls",
        calls.len()
    );
    let problems: Vec<String> = calls
        .iter()
        .filter(|call| !not_the_toolkits(call))
        .filter_map(Call::problem)
        .collect();
    assert!(
        problems.is_empty(),
        "events without a stable name (add `event = \"area.what\"`, see docs/STYLE.md#naming):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_exception_still_matches_a_call() {
    let calls = calls();
    for (file, target, why) in NOT_TOOLKIT_EVENTS {
        assert!(
            calls
                .iter()
                .any(|call| file_of(call) == *file && call.target.as_deref() == Some(*target)),
            "no call with target `{target}` in {file} any more ({why}); remove it from \
             `NOT_TOOLKIT_EVENTS`"
        );
    }
}

#[test]
fn calls_are_read_from_tokens_over_many_lines_and_inside_macros() {
    let text = r#"
//! `info!("in a doc comment")` is not code.
use tracing::warn;

fn f() {
    tracing::info!(
        target: "pr_x",
        event = "x.started",
        port = 80,
        "started"
    );
    warn!("no name");
    let _ = "tracing::error!(\"in a string\")";
    log::info!("another crate's macro");
    tokio::select! { _ = g() => tracing::debug!(event = "x.selected", "selected") }
}

macro_rules! at {
    ($($fields:tt)*) => { ::tracing::event!(target: "pr_x", Level::INFO, $($fields)*) };
}

#[cfg(test)]
mod tests {
    fn t() { tracing::info!("a test's event"); }
}

#[cfg(test)]
mod more;
"#;
    let scan = Scan::of("src/x.rs", text);
    let found: Vec<(&str, &str, Option<&str>)> = scan
        .calls
        .iter()
        .map(|c| (c.at.as_str(), c.name.as_str(), c.event.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            ("src/x.rs:6", "info", Some("\"x.started\"")),
            ("src/x.rs:12", "warn", None),
            ("src/x.rs:15", "debug", Some("\"x.selected\"")),
            ("src/x.rs:19", "event", None),
        ]
    );
    assert_eq!(scan.calls[0].target.as_deref(), Some("pr_x"));
    assert_eq!(scan.test_modules, ["more"]);
}

#[test]
fn names_are_dotted_lowercase_string_literals() {
    let problem = |event: Option<&str>| {
        Call {
            at: "src/x.rs:1".into(),
            name: "info".into(),
            target: None,
            event: event.map(str::to_owned),
        }
        .problem()
    };
    assert_eq!(problem(Some("\"cache.redis.reconnected\"")), None);
    assert_eq!(problem(Some("\"pr_resilience.dlq.full\"")), None);
    assert_eq!(problem(Some("\"health.check2_failed\"")), None);
    for bad in [
        "\"started\"",
        "\"Cache.hit\"",
        "\"cache..hit\"",
        "\"cache.hit.\"",
        "\"1cache.hit\"",
        "\"cache.hit-miss\"",
        "r\"cache.hit\"",
        "% name",
        "NAME",
    ] {
        assert!(problem(Some(bad)).is_some(), "{bad} passed");
    }
    assert!(
        problem(None)
            .unwrap()
            .ends_with("has no `event = \"area.what\"` field")
    );
}

#[test]
fn a_module_declared_under_cfg_test_is_left_out_with_its_folder() {
    assert_eq!(
        module_dir(Path::new("crates/a/src/lib.rs")),
        Path::new("crates/a/src")
    );
    assert_eq!(
        module_dir(Path::new("crates/a/src/dlq.rs")),
        Path::new("crates/a/src/dlq")
    );
}
