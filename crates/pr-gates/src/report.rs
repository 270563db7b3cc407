//! The results of a run: the table for people, JSON and `JUnit` XML for machines.
//!
//! Tool installs are a row of their own (`install`), so a gate's seconds are the gate's work and a
//! first run on a fresh machine does not make `test` look slow. In the `JUnit` report a gate that
//! knows its tests (the test gate, from nextest's own report) shows one test case per test; the
//! others, and the test gate when nextest wrote no report, one test case per gate.

use std::fmt::Write as _;
use std::time::Duration;

use crate::{GateStatus, GateVerdict, TestCase};

/// One gate's result in a run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GateReport {
    /// The gate's name.
    pub name: String,
    /// What it reported.
    pub verdict: GateVerdict,
    /// How long it took (zero for a gate that did not run).
    pub duration: Duration,
    /// How much of `duration` went to the commands it ran (cargo, the tools); the rest is the
    /// runner's own time.
    pub tools: Duration,
}

impl GateReport {
    /// A report of `name`.
    #[must_use]
    pub fn new(name: impl Into<String>, verdict: GateVerdict, duration: Duration) -> Self {
        Self {
            name: name.into(),
            verdict,
            duration,
            tools: Duration::ZERO,
        }
    }

    /// The same report, with `tools` of its duration spent in the commands it ran.
    #[must_use]
    pub fn with_tools(mut self, tools: Duration) -> Self {
        self.tools = tools.min(self.duration);
        self
    }
}

/// One install of tools during a run: a cargo tool a gate needed (`cargo-nextest 0.9.143`), or the
/// system tools installed before the first gate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallReport {
    /// What was installed: a cargo tool and its version, or the system tools' names.
    pub what: String,
    /// The gate that needed it (`None`: installed before any gate, or by `--install-tools`).
    pub gate: Option<String>,
    /// How long the install took.
    pub duration: Duration,
    /// Whether it succeeded.
    pub success: bool,
}

impl InstallReport {
    /// An install of `what` that took `duration`.
    #[must_use]
    pub fn new(what: impl Into<String>, duration: Duration, success: bool) -> Self {
        Self {
            what: what.into(),
            gate: None,
            duration,
            success,
        }
    }

    /// The same report, naming the gate that needed the tool.
    #[must_use]
    pub fn for_gate(mut self, gate: impl Into<String>) -> Self {
        self.gate = Some(gate.into());
        self
    }
}

/// Every gate's result in one run, in the order they ran, and the tool installs the run made.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// One report per gate.
    pub gates: Vec<GateReport>,
    /// The tools the run installed, in order; their time is in no gate's.
    pub installs: Vec<InstallReport>,
}

#[derive(serde::Serialize)]
struct JsonGate<'a> {
    name: &'a str,
    status: GateStatus,
    seconds: f64,
    tool_seconds: f64,
    reason: Option<&'a str>,
    log_tail: &'a [String],
}

#[derive(serde::Serialize)]
struct JsonInstall<'a> {
    what: &'a str,
    gate: Option<&'a str>,
    seconds: f64,
    success: bool,
}

#[derive(serde::Serialize)]
struct JsonSummary<'a> {
    success: bool,
    seconds: f64,
    runner_seconds: f64,
    install_seconds: f64,
    gates: Vec<JsonGate<'a>>,
    installs: Vec<JsonInstall<'a>>,
}

impl Summary {
    /// Whether no gate failed. (A failed install fails the gate that needed the tool.)
    #[must_use]
    pub fn success(&self) -> bool {
        self.gates
            .iter()
            .all(|g| g.verdict.status != GateStatus::Fail)
    }

    /// The total time of the run: the gates that ran and the tool installs.
    #[must_use]
    pub fn total(&self) -> Duration {
        self.gates.iter().map(|g| g.duration).sum::<Duration>() + self.install_time()
    }

    /// The time the tool installs took, together.
    #[must_use]
    pub fn install_time(&self) -> Duration {
        self.installs.iter().map(|i| i.duration).sum()
    }

    /// The runner's own time: the gates' time less what the commands they ran took.
    #[must_use]
    pub fn runner_overhead(&self) -> Duration {
        self.gates.iter().map(|g| g.duration - g.tools).sum()
    }

    /// The gates that failed.
    #[must_use]
    pub fn failed(&self) -> Vec<&GateReport> {
        self.gates
            .iter()
            .filter(|g| g.verdict.status == GateStatus::Fail)
            .collect()
    }

    /// The table for people: gate, result, seconds, and the reason for a skip or failure (or a
    /// note); then an `install` row when the run installed tools (what, and for which gate).
    #[must_use]
    pub fn table(&self) -> String {
        let width = self
            .gates
            .iter()
            .map(|g| g.name.len())
            .chain([4])
            .chain((!self.installs.is_empty()).then_some("install".len()))
            .max()
            .unwrap_or(4);
        let mut out = String::new();
        let _ = writeln!(out, "{:<width$}  result  {:>8}  reason", "gate", "seconds");
        let _ = writeln!(out, "{:-<width$}  ------  {:->8}  ------", "", "");
        for g in &self.gates {
            let reason = g.verdict.reason.as_deref().unwrap_or("");
            let line = format!(
                "{:<width$}  {:<6}  {:>8.1}  {reason}",
                g.name,
                g.verdict.status.to_string(),
                g.duration.as_secs_f64()
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if !self.installs.is_empty() {
            let status = if self.installs.iter().all(|i| i.success) {
                GateStatus::Pass
            } else {
                GateStatus::Fail
            };
            let what: Vec<String> = self
                .installs
                .iter()
                .map(|i| {
                    let failed = if i.success { "" } else { ", failed" };
                    match &i.gate {
                        Some(gate) => format!("{} (for {gate}{failed})", i.what),
                        None if i.success => i.what.clone(),
                        None => format!("{} (failed)", i.what),
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{:<width$}  {:<6}  {:>8.1}  {}",
                "install",
                status.to_string(),
                self.install_time().as_secs_f64(),
                what.join(", ")
            );
        }
        let failed = self.failed().len();
        let verdict = if failed == 0 {
            "all gates passed".to_owned()
        } else {
            format!("{failed} gate(s) failed")
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:>8.1}  {verdict} (the runner's own time: {:.3}s)",
            "total",
            "",
            self.total().as_secs_f64(),
            self.runner_overhead().as_secs_f64()
        );
        out
    }

    /// The JSON report: `{ success, seconds, runner_seconds, install_seconds, gates: [{ name,
    /// status, seconds, tool_seconds, reason, log_tail }], installs: [{ what, gate, seconds,
    /// success }] }`.
    ///
    /// # Panics
    ///
    /// Never: the report holds only strings, numbers and booleans, which always serialize.
    #[must_use]
    pub fn to_json(&self) -> String {
        let summary = JsonSummary {
            success: self.success(),
            seconds: self.total().as_secs_f64(),
            runner_seconds: self.runner_overhead().as_secs_f64(),
            install_seconds: self.install_time().as_secs_f64(),
            installs: self
                .installs
                .iter()
                .map(|i| JsonInstall {
                    what: &i.what,
                    gate: i.gate.as_deref(),
                    seconds: i.duration.as_secs_f64(),
                    success: i.success,
                })
                .collect(),
            gates: self
                .gates
                .iter()
                .map(|g| JsonGate {
                    name: &g.name,
                    status: g.verdict.status,
                    seconds: g.duration.as_secs_f64(),
                    tool_seconds: g.tools.as_secs_f64(),
                    reason: g.verdict.reason.as_deref(),
                    log_tail: &g.verdict.log_tail,
                })
                .collect(),
        };
        serde_json::to_string_pretty(&summary)
            .expect("the report holds only strings, numbers and booleans")
    }

    /// The `JUnit` XML report.
    ///
    /// One `<testsuite name="gates">` with a `<testcase>` per gate: a `<failure>` holding the reason
    /// and the failing output's last lines, `<skipped>` with the reason. A gate whose verdict
    /// carries its tests (the test gate, from nextest's report) has instead a `<testsuite>` of its
    /// own, named after it, with one `<testcase>` per test (classname: the test binary); its own
    /// test case stays in `gates` only when it failed and no test did (a doc test or the build),
    /// so that every failure is counted once.
    #[must_use]
    pub fn to_junit(&self) -> String {
        let mut suites: Vec<Suite> = Vec::new();
        let mut gates = Suite::new("gates");
        for g in &self.gates {
            let tests = &g.verdict.tests;
            if !tests.is_empty() {
                let mut suite = Suite::new(&g.name);
                for test in tests {
                    suite.case(
                        &test.classname,
                        &test.name,
                        test.time,
                        test.status,
                        test.message.as_deref().unwrap_or(""),
                        &failure_body(test),
                        (&test.stdout, &test.stderr),
                    );
                }
                let a_test_failed = tests.iter().any(|t| t.status == GateStatus::Fail);
                if g.verdict.status == GateStatus::Fail && !a_test_failed {
                    gates.gate(g);
                }
                suites.push(suite);
            } else {
                gates.gate(g);
            }
        }
        suites.insert(0, gates);
        let tests: usize = suites.iter().map(|s| s.tests).sum();
        let failures: usize = suites.iter().map(|s| s.failures).sum();
        let skipped: usize = suites.iter().map(|s| s.skipped).sum();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"pr-gates\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            self.total().as_secs_f64()
        );
        for suite in &suites {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
                xml_escape(&suite.name),
                suite.tests,
                suite.failures,
                suite.skipped,
                suite.time.as_secs_f64()
            );
            out.push_str(&suite.body);
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// The text of a failing test's `<failure>`: the failure's own text, else what it wrote to stderr.
fn failure_body(test: &TestCase) -> String {
    if test.details.is_empty() {
        test.stderr.clone()
    } else {
        test.details.clone()
    }
}

/// One `<testsuite>` of the `JUnit` report, as it is built.
struct Suite {
    name: String,
    tests: usize,
    failures: usize,
    skipped: usize,
    time: Duration,
    body: String,
}

impl Suite {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            tests: 0,
            failures: 0,
            skipped: 0,
            time: Duration::ZERO,
            body: String::new(),
        }
    }

    /// The test case of a gate.
    fn gate(&mut self, g: &GateReport) {
        let tail = g.verdict.log_tail.join("\n");
        self.case(
            "gates",
            &g.name,
            g.duration,
            g.verdict.status,
            g.verdict.reason.as_deref().unwrap_or(""),
            &tail,
            ("", ""),
        );
    }

    /// Adds a `<testcase>`: `message` is the failure's or skip's reason, `body` the failure's text,
    /// `output` what a failing test wrote (stdout, stderr).
    #[expect(
        clippy::too_many_arguments,
        reason = "one test case's fields, each written as is"
    )]
    fn case(
        &mut self,
        classname: &str,
        name: &str,
        time: Duration,
        status: GateStatus,
        message: &str,
        body: &str,
        output: (&str, &str),
    ) {
        self.tests += 1;
        self.time += time;
        let head = format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            xml_escape(name),
            xml_escape(classname),
            time.as_secs_f64()
        );
        let message = xml_escape(message);
        match status {
            GateStatus::Pass => {
                let _ = writeln!(self.body, "{head}/>");
            }
            GateStatus::Fail => {
                self.failures += 1;
                let _ = writeln!(self.body, "{head}>");
                let _ = writeln!(
                    self.body,
                    "      <failure message=\"{message}\">{}</failure>",
                    xml_escape(body)
                );
                let (stdout, stderr) = output;
                if !stdout.is_empty() {
                    let _ = writeln!(
                        self.body,
                        "      <system-out>{}</system-out>",
                        xml_escape(stdout)
                    );
                }
                if !stderr.is_empty() {
                    let _ = writeln!(
                        self.body,
                        "      <system-err>{}</system-err>",
                        xml_escape(stderr)
                    );
                }
                let _ = writeln!(self.body, "    </testcase>");
            }
            GateStatus::Skip => {
                self.skipped += 1;
                let _ = writeln!(self.body, "{head}>");
                let _ = writeln!(self.body, "      <skipped message=\"{message}\"/>");
                let _ = writeln!(self.body, "    </testcase>");
            }
        }
    }
}

/// Escapes text for an XML attribute or element, dropping characters XML 1.0 cannot hold.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Summary {
        Summary {
            gates: vec![
                GateReport::new("fmt", GateVerdict::pass(), Duration::from_millis(1200))
                    .with_tools(Duration::from_millis(1150)),
                GateReport::new(
                    "clippy",
                    GateVerdict::fail("`cargo clippy` failed (exit status 101)")
                        .with_tail(vec!["error: unused <variable> & more".to_owned()]),
                    Duration::from_secs(30),
                )
                .with_tools(Duration::from_millis(29_900)),
                GateReport::new(
                    "deny",
                    GateVerdict::skip("no deny.toml at the workspace root"),
                    Duration::ZERO,
                ),
            ],
            installs: Vec::new(),
        }
    }

    fn test_case(name: &str, status: GateStatus, millis: u64) -> TestCase {
        let mut case = TestCase::new("calc", name, Duration::from_millis(millis));
        case.status = status;
        if status == GateStatus::Fail {
            case.message = Some("thread 'halves' panicked at src/lib.rs:9:5".to_owned());
            case.details = "assertion failed: 2 < 1".to_owned();
            case.stdout = "running 1 test".to_owned();
        }
        case
    }

    /// A run whose test gate knows its tests: `tests`, and the gate's own `status`.
    fn with_tests(status: GateStatus, tests: Vec<TestCase>) -> Summary {
        let verdict = match status {
            GateStatus::Fail => GateVerdict::fail("`cargo nextest run` failed (exit status 100)"),
            _ => GateVerdict::pass(),
        };
        Summary {
            gates: vec![
                GateReport::new("fmt", GateVerdict::pass(), Duration::from_secs(1)),
                GateReport::new("test", verdict.with_tests(tests), Duration::from_secs(20)),
                GateReport::new("coverage", GateVerdict::skip("test failed"), Duration::ZERO),
            ],
            installs: Vec::new(),
        }
    }

    #[test]
    fn installs_are_a_row_of_their_own_and_in_the_total() {
        let mut summary = sample();
        summary.installs = vec![
            InstallReport::new("cargo-nextest 0.9.143", Duration::from_secs(90), true)
                .for_gate("test"),
            InstallReport::new("redis-server", Duration::from_millis(5500), true),
        ];
        let table = summary.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[5],
            "install  PASS        95.5  cargo-nextest 0.9.143 (for test), redis-server"
        );
        assert_eq!(
            lines[6],
            "total               126.7  1 gate(s) failed (the runner's own time: 0.150s)"
        );
        summary.installs[0].success = false;
        assert!(
            summary
                .table()
                .contains("install  FAIL        95.5  cargo-nextest 0.9.143 (for test, failed)")
        );
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert!((json["install_seconds"].as_f64().unwrap() - 95.5).abs() < 1e-9);
        assert!((json["seconds"].as_f64().unwrap() - 126.7).abs() < 1e-9);
        assert_eq!(json["installs"][0]["what"], "cargo-nextest 0.9.143");
        assert_eq!(json["installs"][0]["gate"], "test");
        assert_eq!(json["installs"][0]["success"], false);
        assert_eq!(json["installs"][1]["gate"], serde_json::Value::Null);
        // A run that installed nothing has no row.
        assert!(!sample().table().contains("install"));
    }

    #[test]
    fn junit_has_one_test_case_per_test_when_the_gate_knows_them() {
        let tests = vec![
            test_case("doubles", GateStatus::Pass, 10),
            test_case("halves", GateStatus::Fail, 20),
            test_case("later", GateStatus::Skip, 0),
        ];
        let xml = with_tests(GateStatus::Fail, tests).to_junit();
        // The gates' suite has fmt and coverage; the failure is the test's, counted once.
        assert!(
            xml.contains("<testsuites name=\"pr-gates\" tests=\"5\" failures=\"1\" skipped=\"2\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testsuite name=\"gates\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"1\""
            ),
            "{xml}"
        );
        assert!(!xml.contains("<testcase name=\"test\""), "{xml}");
        assert!(
            xml.contains("<testsuite name=\"test\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"0.030\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<testcase name=\"doubles\" classname=\"calc\" time=\"0.010\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase name=\"halves\" classname=\"calc\" time=\"0.020\">\n      \
                 <failure message=\"thread &apos;halves&apos; panicked at src/lib.rs:9:5\">assertion failed: 2 &lt; 1</failure>\n      \
                 <system-out>running 1 test</system-out>\n    </testcase>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<skipped message=\"test failed\"/>"), "{xml}");
    }

    #[test]
    fn a_gate_failure_no_test_explains_keeps_its_own_test_case() {
        // Every test passed, the doc tests failed: the gate's failure must still show.
        let tests = vec![test_case("doubles", GateStatus::Pass, 10)];
        let xml = with_tests(GateStatus::Fail, tests.clone()).to_junit();
        assert!(
            xml.contains("<testcase name=\"test\" classname=\"gates\" time=\"20.000\">"),
            "{xml}"
        );
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("<testcase name=\"doubles\""), "{xml}");
        // A passing gate with its tests: the tests only.
        let xml = with_tests(GateStatus::Pass, tests).to_junit();
        assert!(!xml.contains("<testcase name=\"test\""), "{xml}");
        assert!(xml.contains("tests=\"3\" failures=\"0\""), "{xml}");
        // No tests known (nextest absent): one test case for the gate, as for any other.
        let xml = with_tests(GateStatus::Fail, Vec::new()).to_junit();
        assert!(
            xml.contains("<testcase name=\"test\" classname=\"gates\" time=\"20.000\">\n      <failure message=\"`cargo nextest run` failed (exit status 100)\">"),
            "{xml}"
        );
        assert!(!xml.contains("<testsuite name=\"test\""), "{xml}");
    }

    #[test]
    fn table_lists_every_gate_with_reason() {
        let table = sample().table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "gate    result   seconds  reason");
        assert_eq!(lines[2], "fmt     PASS         1.2");
        assert_eq!(
            lines[3],
            "clippy  FAIL        30.0  `cargo clippy` failed (exit status 101)"
        );
        assert_eq!(
            lines[4],
            "deny    SKIP         0.0  no deny.toml at the workspace root"
        );
        assert_eq!(
            lines[5],
            "total               31.2  1 gate(s) failed (the runner's own time: 0.150s)"
        );
    }

    #[test]
    fn success_means_no_failure() {
        let mut summary = sample();
        assert!(!summary.success());
        summary.gates.remove(1);
        assert!(summary.success());
        assert!(
            summary
                .table()
                .ends_with("all gates passed (the runner's own time: 0.050s)\n")
        );
    }

    #[test]
    fn json_report_round_trips() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(json["success"], false);
        assert_eq!(json["gates"][1]["name"], "clippy");
        assert!((json["runner_seconds"].as_f64().unwrap() - 0.15).abs() < 1e-9);
        assert!((json["gates"][1]["tool_seconds"].as_f64().unwrap() - 29.9).abs() < 1e-9);
        assert_eq!(json["gates"][1]["status"], "fail");
        assert_eq!(
            json["gates"][1]["log_tail"][0],
            "error: unused <variable> & more"
        );
        assert_eq!(json["gates"][2]["status"], "skip");
        assert_eq!(json["gates"][0]["reason"], serde_json::Value::Null);
    }

    #[test]
    fn junit_report_escapes_and_counts() {
        let xml = sample().to_junit();
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testcase name=\"fmt\" classname=\"gates\" time=\"1.200\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"`cargo clippy` failed (exit status 101)\">error: unused &lt;variable&gt; &amp; more</failure>"), "{xml}");
        assert!(
            xml.contains("<skipped message=\"no deny.toml at the workspace root\"/>"),
            "{xml}"
        );
    }

    #[test]
    fn xml_escape_drops_control_characters() {
        assert_eq!(xml_escape("a\u{1b}[31mb\"'"), "a[31mb&quot;&apos;");
    }
}
