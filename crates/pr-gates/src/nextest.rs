//! nextest's own `JUnit` report, read back into [`TestCase`]s so that the gates' `JUnit` report has
//! one test case per test.
//!
//! nextest writes a `JUnit` report when the profile it runs has `junit.path`. The gates do not ask
//! the project for a `.config/nextest.toml`: they write a tool configuration file of their own under
//! the target directory (`target/pr-gates/nextest-<run>.toml`) defining a profile `pr-gates`, and
//! run `cargo nextest run --tool-config-file pr-gates:FILE --profile pr-gates`. nextest layers a tool
//! file under the repository's own configuration, and a custom profile over the repository's
//! `default` profile, so the project's settings (timeouts, retries, test groups) still apply. The
//! report's path is absolute: nextest would otherwise put it under `target/nextest` of the
//! workspace root even when the target directory is elsewhere. Both files are named for the run
//! (process id and a counter), since two runs may share a target directory, and removed once read.
//!
//! The report is read with a small XML reader of our own: nextest writes plain elements, attributes
//! and escaped text (the Jenkins flavour of `JUnit`), nothing a general XML parser is needed for.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::{Error, GateStatus, TestCase};

/// The nextest profile the gates run, defined in their tool configuration file.
pub(crate) const PROFILE: &str = "pr-gates";

/// The files of one run: the tool configuration the gates hand nextest and the report it writes.
#[derive(Debug, Clone)]
pub(crate) struct NextestFiles {
    /// The tool configuration file (`--tool-config-file pr-gates:<this>`).
    pub(crate) config: PathBuf,
    /// Where nextest writes its `JUnit` report.
    pub(crate) junit: PathBuf,
}

/// Tells apart the runs of one process.
static RUNS: AtomicUsize = AtomicUsize::new(0);

impl NextestFiles {
    /// Writes the tool configuration of a new run under `target_dir/pr-gates`; no report of an
    /// earlier run is left where this one's goes, so a run that writes none is not read as this one.
    pub(crate) fn prepare(target_dir: &Path) -> Result<Self, Error> {
        let dir = target_dir.join("pr-gates");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let run = format!(
            "{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let config = dir.join(format!("nextest-{run}.toml"));
        let junit = dir.join(format!("nextest-{run}-junit.xml"));
        match std::fs::remove_file(&junit) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &junit, e)),
        }
        std::fs::write(&config, tool_config(&junit)).map_err(|e| Error::io("write", &config, e))?;
        Ok(Self { config, junit })
    }

    /// The arguments that select the profile: `--tool-config-file pr-gates:FILE --profile pr-gates`.
    pub(crate) fn args(&self) -> Vec<std::ffi::OsString> {
        let mut tool = std::ffi::OsString::from(format!("{PROFILE}:"));
        tool.push(&self.config);
        vec![
            "--tool-config-file".into(),
            tool,
            "--profile".into(),
            PROFILE.into(),
        ]
    }

    /// The tests of the report nextest wrote, `None` when it wrote none (it did not get as far as
    /// running tests) or it cannot be read; both files are removed.
    pub(crate) fn take(self) -> Option<Vec<TestCase>> {
        let text = std::fs::read_to_string(&self.junit).ok();
        let _ = std::fs::remove_file(&self.junit);
        let _ = std::fs::remove_file(&self.config);
        parse_junit(&text?).ok()
    }
}

/// The tool configuration: a profile that writes a `JUnit` report to `junit` and runs every test
/// (the gates want every failure, not the first).
pub(crate) fn tool_config(junit: &Path) -> String {
    let path = toml::Value::String(junit.to_string_lossy().into_owned());
    format!(
        "# Written by pr-gates for `cargo nextest run --tool-config-file {PROFILE}:<this file>`;\n\
         # rewritten on every run.\n\n\
         [profile.{PROFILE}]\nfail-fast = false\n\n\
         [profile.{PROFILE}.junit]\npath = {path}\n"
    )
}

/// The test cases of a `JUnit` report as nextest writes it.
///
/// # Errors
///
/// A message when the text is not well-formed enough to read (an unclosed tag or quote).
pub(crate) fn parse_junit(xml: &str) -> Result<Vec<TestCase>, String> {
    let mut cases = Vec::new();
    let mut current: Option<TestCase> = None;
    // The open elements below the current test case (`failure`, `system-out`, `flakyFailure`, ...).
    let mut inside: Vec<String> = Vec::new();
    for event in Reader::new(xml) {
        match event? {
            Event::Start { name, attrs, empty } => {
                if name == "testcase" && current.is_none() {
                    let attr =
                        |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
                    let time = attr("time")
                        .and_then(|t| t.parse::<f64>().ok())
                        .filter(|t| t.is_finite() && *t >= 0.0)
                        .map_or(Duration::ZERO, Duration::from_secs_f64);
                    let case = TestCase::new(
                        attr("classname").unwrap_or_default(),
                        attr("name").unwrap_or_default(),
                        time,
                    );
                    if empty {
                        cases.push(case);
                    } else {
                        current = Some(case);
                    }
                    continue;
                }
                let Some(case) = current.as_mut() else {
                    continue;
                };
                // Only the test case's own children count: nextest nests the output of retried
                // runs inside `flakyFailure` and `rerunFailure`.
                if inside.is_empty() {
                    let message = attrs
                        .iter()
                        .find(|(k, _)| k == "message")
                        .map(|(_, v)| v.clone());
                    match name.as_str() {
                        "failure" | "error" => {
                            case.status = GateStatus::Fail;
                            case.message = message;
                        }
                        "skipped" if case.status != GateStatus::Fail => {
                            case.status = GateStatus::Skip;
                            case.message = message;
                        }
                        _ => {}
                    }
                }
                if !empty {
                    inside.push(name);
                }
            }
            Event::End { name } => {
                if name == "testcase" && inside.is_empty() {
                    cases.extend(current.take());
                } else if current.is_some() && inside.last() == Some(&name) {
                    inside.pop();
                }
            }
            Event::Text(text) => {
                let (Some(case), [element]) = (current.as_mut(), inside.as_slice()) else {
                    continue;
                };
                match element.as_str() {
                    "failure" | "error" => case.details.push_str(&text),
                    "system-out" => case.stdout.push_str(&text),
                    "system-err" => case.stderr.push_str(&text),
                    _ => {}
                }
            }
        }
    }
    if current.is_some() {
        return Err("the report ends inside a <testcase>".to_owned());
    }
    Ok(cases)
}

/// What the XML reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// `<name a="v">`, or `<name a="v"/>` when `empty`.
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        empty: bool,
    },
    /// `</name>`.
    End { name: String },
    /// Text between tags (entities and CDATA resolved).
    Text(String),
}

/// A reader of the XML subset `JUnit` reports use: elements, attributes, text, entities, CDATA;
/// the declaration, comments and doctype are skipped.
struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    fn new(xml: &'a str) -> Self {
        Self { rest: xml }
    }

    /// Skips past `end`, or fails naming `what` when it never comes.
    fn skip_past(&mut self, end: &str, what: &str) -> Result<(), String> {
        match self.rest.find(end) {
            Some(at) => {
                self.rest = &self.rest[at + end.len()..];
                Ok(())
            }
            None => {
                self.rest = "";
                Err(format!("unterminated {what}"))
            }
        }
    }

    fn next_event(&mut self) -> Option<Result<Event, String>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            if !self.rest.starts_with('<') {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                let raw = &self.rest[..end];
                self.rest = &self.rest[end..];
                return Some(Ok(Event::Text(unescape(raw))));
            }
            if let Some(rest) = self.rest.strip_prefix("<![CDATA[") {
                let Some(end) = rest.find("]]>") else {
                    self.rest = "";
                    return Some(Err("unterminated CDATA section".to_owned()));
                };
                let text = rest[..end].to_owned();
                self.rest = &rest[end + 3..];
                return Some(Ok(Event::Text(text)));
            }
            let skipped = if self.rest.starts_with("<?") {
                self.skip_past("?>", "declaration")
            } else if self.rest.starts_with("<!--") {
                self.skip_past("-->", "comment")
            } else if self.rest.starts_with("<!") {
                self.skip_past(">", "doctype")
            } else {
                return Some(self.tag());
            };
            if let Err(e) = skipped {
                return Some(Err(e));
            }
        }
    }

    /// Reads the tag at the start of `rest`.
    fn tag(&mut self) -> Result<Event, String> {
        let end = tag_end(self.rest).ok_or_else(|| {
            self.rest = "";
            "unterminated tag".to_owned()
        })?;
        let inner = &self.rest[1..end];
        self.rest = &self.rest[end + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            return Ok(Event::End {
                name: name.trim().to_owned(),
            });
        }
        let (inner, empty) = match inner.strip_suffix('/') {
            Some(inner) => (inner, true),
            None => (inner, false),
        };
        let name_end = inner
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(inner.len());
        let name = inner[..name_end].to_owned();
        let attrs = attributes(&inner[name_end..])?;
        Ok(Event::Start { name, attrs, empty })
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Event, String>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

/// The index of the `>` that closes the tag `text` starts with, outside quoted attribute values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The `key="value"` pairs of a tag, values unescaped.
fn attributes(mut text: &str) -> Result<Vec<(String, String)>, String> {
    let mut attrs = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(attrs);
        }
        let eq = text
            .find('=')
            .ok_or_else(|| format!("attribute without a value: {text}"))?;
        let key = text[..eq].trim().to_owned();
        let value = text[eq + 1..].trim_start();
        let quote = value
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| format!("unquoted value of attribute {key}"))?;
        let body = &value[1..];
        let close = body
            .find(quote)
            .ok_or_else(|| format!("unterminated value of attribute {key}"))?;
        attrs.push((key, unescape(&body[..close])));
        text = &body[close + 1..];
    }
}

/// Resolves XML's five named entities and numeric character references; anything else is kept as
/// written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let resolved = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match resolved {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as cargo-nextest 0.9 writes it: one passing, one failing (with its output), one
    /// ignored test, and a flaky one whose retried failure is nested in `flakyFailure`.
    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="4" skipped="1" failures="1" errors="0" uuid="7bba002d-484d-4545-a15d-cac2a4f182b1" timestamp="2026-12-02T21:56:53.869+00:00" time="0.147">
    <testsuite name="calc" tests="3" skipped="1" errors="0" failures="1">
        <testcase name="tests::ok" classname="calc" timestamp="2026-12-02T21:56:53.869+00:00" time="0.008"/>
        <testcase name="tests::bad" classname="calc" timestamp="2026-12-02T21:56:53.871+00:00" time="0.143">
            <failure message="thread &apos;tests::bad&apos; (4225) panicked at src/lib.rs:5:56" type="test failure with exit code 101">thread &apos;tests::bad&apos; (4225) panicked at src/lib.rs:5:56:
assertion `left == right` failed: nope
  left: 1
 right: 2</failure>
            <system-out>
running 1 test
some &lt;out&gt; &amp; stuff &#x263A;
</system-out>
            <system-err>thread &apos;tests::bad&apos; panicked</system-err>
        </testcase>
        <testcase name="tests::later" classname="calc" time="0.000">
            <skipped message="ignored"/>
        </testcase>
    </testsuite>
    <testsuite name="calc::it" tests="1" skipped="0" errors="0" failures="0">
        <testcase name="flaky" classname="calc::it" time="1.500">
            <flakyFailure message="first try" type="test failure"><system-out>retry output</system-out></flakyFailure>
        </testcase>
    </testsuite>
</testsuites>
"#;

    #[test]
    fn every_test_of_a_nextest_report_is_read() {
        let cases = parse_junit(SAMPLE).unwrap();
        let names: Vec<(&str, &str, GateStatus)> = cases
            .iter()
            .map(|c| (c.classname.as_str(), c.name.as_str(), c.status))
            .collect();
        assert_eq!(
            names,
            [
                ("calc", "tests::ok", GateStatus::Pass),
                ("calc", "tests::bad", GateStatus::Fail),
                ("calc", "tests::later", GateStatus::Skip),
                ("calc::it", "flaky", GateStatus::Pass),
            ]
        );
        assert_eq!(cases[0].time, Duration::from_millis(8));
        assert_eq!(cases[3].time, Duration::from_millis(1500));
        let bad = &cases[1];
        assert_eq!(
            bad.message.as_deref(),
            Some("thread 'tests::bad' (4225) panicked at src/lib.rs:5:56")
        );
        assert!(
            bad.details
                .contains("assertion `left == right` failed: nope\n  left: 1")
        );
        assert!(
            bad.stdout.contains("some <out> & stuff \u{263A}"),
            "{}",
            bad.stdout
        );
        assert_eq!(bad.stderr, "thread 'tests::bad' panicked");
        assert_eq!(cases[2].message.as_deref(), Some("ignored"));
        // The retried run's output belongs to the retry, not to the test's own output.
        assert_eq!(cases[3].stdout, "");
        assert_eq!(cases[3].message, None);
    }

    #[test]
    fn a_broken_report_is_an_error_and_an_empty_one_has_no_tests() {
        assert!(parse_junit("<testsuites><testsuite><testcase name=\"x\">").is_err());
        assert!(parse_junit("<testsuites><testcase name=\"x").is_err());
        assert!(parse_junit("<testcase name=x/>").is_err());
        let empty = "<?xml version=\"1.0\"?><!-- none --><testsuites name=\"nextest-run\" tests=\"0\"></testsuites>";
        assert_eq!(parse_junit(empty).unwrap(), []);
    }

    #[test]
    fn text_is_unescaped_and_cdata_kept_as_is() {
        assert_eq!(
            unescape("a &lt;b&gt; &amp;&quot;&apos; &#65;&#x42;"),
            "a <b> &\"' AB"
        );
        // Unknown or broken entities stay as written.
        assert_eq!(unescape("&nbsp; & &#xZZ; &"), "&nbsp; & &#xZZ; &");
        let xml = "<testcase name=\"t\" classname=\"c\"><failure message=\"m\"><![CDATA[a <raw> & text]]></failure></testcase>";
        let cases = parse_junit(xml).unwrap();
        assert_eq!(cases[0].details, "a <raw> & text");
        assert_eq!(cases[0].time, Duration::ZERO);
    }

    #[test]
    fn the_tool_configuration_names_an_absolute_report_of_its_own_run() {
        let dir = pr_test_support::temp_dir("gates-nextest-files");
        let files = NextestFiles::prepare(dir.path()).unwrap();
        let other = NextestFiles::prepare(dir.path()).unwrap();
        assert_ne!(files.junit, other.junit, "each run has its own report");
        assert_ne!(files.config, other.config);
        assert!(files.junit.starts_with(dir.path().join("pr-gates")));
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(&files.config).unwrap()).unwrap();
        assert_eq!(
            config["profile"]["pr-gates"]["junit"]["path"].as_str(),
            Some(files.junit.to_str().unwrap())
        );
        assert_eq!(
            config["profile"]["pr-gates"]["fail-fast"].as_bool(),
            Some(false)
        );
        let args: Vec<String> = files
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--tool-config-file".to_owned(),
                format!("pr-gates:{}", files.config.display()),
                "--profile".to_owned(),
                "pr-gates".to_owned(),
            ]
        );
        // No report: no tests, and the configuration is gone all the same.
        let config_path = other.config.clone();
        assert_eq!(other.take(), None);
        assert!(!config_path.exists());
        std::fs::write(&files.junit, SAMPLE).unwrap();
        let (junit, config_path) = (files.junit.clone(), files.config.clone());
        assert_eq!(files.take().map(|t| t.len()), Some(4));
        assert!(
            !junit.exists() && !config_path.exists(),
            "both removed once read"
        );
    }
}
