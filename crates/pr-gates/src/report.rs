//! The results of a run: the table for people, JSON and `JUnit` XML for machines.

use std::fmt::Write as _;
use std::time::Duration;

use crate::{GateStatus, GateVerdict};

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

/// Every gate's result in one run, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// One report per gate.
    pub gates: Vec<GateReport>,
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
struct JsonSummary<'a> {
    success: bool,
    seconds: f64,
    runner_seconds: f64,
    gates: Vec<JsonGate<'a>>,
}

impl Summary {
    /// Whether no gate failed.
    #[must_use]
    pub fn success(&self) -> bool {
        self.gates
            .iter()
            .all(|g| g.verdict.status != GateStatus::Fail)
    }

    /// The total time of the gates that ran.
    #[must_use]
    pub fn total(&self) -> Duration {
        self.gates.iter().map(|g| g.duration).sum()
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

    /// The table for people: gate, result, seconds, and the reason for a skip or failure (or a note).
    #[must_use]
    pub fn table(&self) -> String {
        let width = self
            .gates
            .iter()
            .map(|g| g.name.len())
            .chain([4])
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

    /// The JSON report: `{ success, seconds, runner_seconds, gates: [{ name, status, seconds,
    /// tool_seconds, reason, log_tail }] }`.
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

    /// The `JUnit` XML report: one `<testsuite name="gates">` with a `<testcase>` per gate, a
    /// `<failure>` holding the reason and the failing output's last lines, `<skipped>` with the reason.
    #[must_use]
    pub fn to_junit(&self) -> String {
        let failures = self.failed().len();
        let skipped = self
            .gates
            .iter()
            .filter(|g| g.verdict.status == GateStatus::Skip)
            .count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"pr-gates\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            self.gates.len(),
            self.total().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"gates\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
            self.gates.len(),
            self.total().as_secs_f64()
        );
        for g in &self.gates {
            let name = xml_escape(&g.name);
            let time = g.duration.as_secs_f64();
            let reason = xml_escape(g.verdict.reason.as_deref().unwrap_or(""));
            match g.verdict.status {
                GateStatus::Pass => {
                    let _ = writeln!(
                        out,
                        "    <testcase name=\"{name}\" classname=\"gates\" time=\"{time:.3}\"/>"
                    );
                }
                GateStatus::Fail => {
                    let _ = writeln!(
                        out,
                        "    <testcase name=\"{name}\" classname=\"gates\" time=\"{time:.3}\">"
                    );
                    let body = xml_escape(&g.verdict.log_tail.join("\n"));
                    let _ = writeln!(out, "      <failure message=\"{reason}\">{body}</failure>");
                    let _ = writeln!(out, "    </testcase>");
                }
                GateStatus::Skip => {
                    let _ = writeln!(
                        out,
                        "    <testcase name=\"{name}\" classname=\"gates\" time=\"{time:.3}\">"
                    );
                    let _ = writeln!(out, "      <skipped message=\"{reason}\"/>");
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
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
        }
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
