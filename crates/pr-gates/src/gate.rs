//! Gates: a name, a check, and the [`GateVerdict`] it reports; the [`GateContext`] a check runs in.
//!
//! A verdict may carry the [`TestCase`]s the gate ran (the test gate reads them from nextest's own
//! `JUnit` report), so that the `JUnit` report shows one test case per test. The context keeps the
//! time cargo tools took to install apart from the time the gate's commands took, so that an
//! install is charged to the run's `install` row and not to the gate that happened to need the
//! tool first.

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::report::{GateReport, InstallReport};
use crate::step::{Step, StepOutput, TAIL_LINES};
use crate::{Config, Error, Workspace};

/// The result of one gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GateStatus {
    /// Everything the gate checks holds.
    Pass,
    /// Something the gate checks does not hold.
    Fail,
    /// The gate did not run (not selected, not applicable, disabled, out of time).
    Skip,
}

impl fmt::Display for GateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        })
    }
}

/// One test a gate ran, as its test runner reported it (the test gate reads nextest's `JUnit`
/// report): the `JUnit` report of the gates carries one `<testcase>` per test.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestCase {
    /// Where the test lives: nextest's binary id (`my-crate`, `my-crate::it`).
    pub classname: String,
    /// The test's name (`tests::adds_one`).
    pub name: String,
    /// How long it ran.
    pub time: Duration,
    /// Pass, fail, or skip (an ignored test).
    pub status: GateStatus,
    /// The one-line message of a failure or skip (a panic's first line).
    pub message: Option<String>,
    /// The failure's text (the panic message and backtrace), empty when it passed.
    pub details: String,
    /// What the test wrote to stdout, when the runner kept it (for failures).
    pub stdout: String,
    /// What the test wrote to stderr, when the runner kept it (for failures).
    pub stderr: String,
}

impl TestCase {
    /// A passing test `name` of `classname` that ran for `time`.
    #[must_use]
    pub fn new(classname: impl Into<String>, name: impl Into<String>, time: Duration) -> Self {
        Self {
            classname: classname.into(),
            name: name.into(),
            time,
            status: GateStatus::Pass,
            message: None,
            details: String::new(),
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

/// What a gate reports: its [`GateStatus`], a short reason (why it failed or was skipped, or a note on
/// a pass), the last lines of the output that made it fail, and the tests it ran when it knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GateVerdict {
    /// Pass, fail or skip.
    pub status: GateStatus,
    /// One line: why it failed or was skipped; an optional note on a pass.
    pub reason: Option<String>,
    /// The last lines of the failing command's output (empty when there is none).
    pub log_tail: Vec<String>,
    /// The tests the gate ran, one per test (empty when the gate runs none, or its runner wrote no
    /// report): the `JUnit` report shows these instead of one test case for the gate.
    pub tests: Vec<TestCase>,
}

impl GateVerdict {
    /// A pass.
    #[must_use]
    pub fn pass() -> Self {
        Self {
            status: GateStatus::Pass,
            reason: None,
            log_tail: Vec::new(),
            tests: Vec::new(),
        }
    }

    /// A pass with a note (e.g. "advisories skipped: no offline database").
    #[must_use]
    pub fn pass_with(note: impl Into<String>) -> Self {
        Self {
            reason: Some(note.into()),
            ..Self::pass()
        }
    }

    /// A failure and why.
    #[must_use]
    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            status: GateStatus::Fail,
            reason: Some(reason.into()),
            log_tail: Vec::new(),
            tests: Vec::new(),
        }
    }

    /// A skip and why.
    #[must_use]
    pub fn skip(reason: impl Into<String>) -> Self {
        Self {
            status: GateStatus::Skip,
            reason: Some(reason.into()),
            log_tail: Vec::new(),
            tests: Vec::new(),
        }
    }

    /// Attaches the last lines of the output that explain the verdict.
    #[must_use]
    pub fn with_tail(mut self, tail: Vec<String>) -> Self {
        self.log_tail = tail;
        self
    }

    /// Attaches the tests the gate ran.
    #[must_use]
    pub fn with_tests(mut self, tests: Vec<TestCase>) -> Self {
        self.tests = tests;
        self
    }
}

impl From<Error> for GateVerdict {
    fn from(error: Error) -> Self {
        Self::fail(error.to_string())
    }
}

/// The check a gate runs.
pub type CheckFn = dyn Fn(&mut GateContext<'_>) -> GateVerdict + Send + Sync;

/// One quality gate: a name (what `--only` and `--skip` take), a one-line description, whether
/// `--fast` runs it, and the check.
///
/// ```
/// use pr_gates::{Gate, GateVerdict};
///
/// let gate = Gate::new("spelling", "typos in the docs", |ctx| {
///     let step = ctx.cargo().args(["run", "--quiet", "-p", "spellcheck"]);
///     ctx.run_all(vec![step])
/// });
/// assert_eq!(gate.name(), "spelling");
/// # let _ = GateVerdict::pass();
/// ```
#[must_use]
pub struct Gate {
    name: String,
    description: String,
    fast: bool,
    per_crate: bool,
    check: Box<CheckFn>,
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("fast", &self.fast)
            .field("per_crate", &self.per_crate)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate named `name` that runs `check`; not part of `--fast` unless [`Gate::fast`] says so.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        check: impl Fn(&mut GateContext<'_>) -> GateVerdict + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            fast: false,
            per_crate: false,
            check: Box::new(check),
        }
    }

    /// Whether `--fast` runs this gate (when the configuration does not list the fast set).
    pub fn fast(mut self, fast: bool) -> Self {
        self.fast = fast;
        self
    }

    /// Whether the gate works crate by crate (its check uses
    /// [`GateContext::package_args`]), so that `--changed-since` narrows it and skips it when no
    /// crate changed.
    pub fn per_crate(mut self, per_crate: bool) -> Self {
        self.per_crate = per_crate;
        self
    }

    /// Whether the gate works crate by crate.
    #[must_use]
    pub fn is_per_crate(&self) -> bool {
        self.per_crate
    }

    /// The gate's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The one-line description.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether it is in the default `--fast` set.
    #[must_use]
    pub fn is_fast(&self) -> bool {
        self.fast
    }

    /// Runs the check.
    pub fn check(&self, ctx: &mut GateContext<'_>) -> GateVerdict {
        (self.check)(ctx)
    }
}

/// What a gate's check can see and do: the workspace, the configuration, the log, the packages
/// selected by `--changed-since`, the verdicts of the gates that ran before it, running commands
/// and installing tools.
pub struct GateContext<'a> {
    workspace: &'a Workspace,
    config: &'a Config,
    log: &'a mut dyn Write,
    packages: Option<&'a [String]>,
    tools: Duration,
    search_path: Option<std::ffi::OsString>,
    gate: Option<String>,
    earlier: &'a [GateReport],
    installs: Vec<InstallReport>,
}

impl fmt::Debug for GateContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateContext")
            .field("root", &self.workspace.root())
            .field("packages", &self.packages)
            .finish_non_exhaustive()
    }
}

impl<'a> GateContext<'a> {
    /// A context over `workspace`; `packages` restricts the per-crate gates (`None`: all members).
    pub fn new(
        workspace: &'a Workspace,
        config: &'a Config,
        log: &'a mut dyn Write,
        packages: Option<&'a [String]>,
    ) -> Self {
        Self {
            workspace,
            config,
            log,
            packages,
            tools: Duration::ZERO,
            search_path: None,
            gate: None,
            earlier: &[],
            installs: Vec::new(),
        }
    }

    /// Gives every command run through this context `path` as its `PATH`.
    pub(crate) fn with_search_path(mut self, path: Option<std::ffi::OsString>) -> Self {
        self.search_path = path;
        self
    }

    /// Names the gate the context runs (for the install row: which gate needed a tool).
    pub(crate) fn with_gate(mut self, name: &str) -> Self {
        self.gate = Some(name.to_owned());
        self
    }

    /// The reports of the gates that ran (or were skipped) before this one in the same run.
    #[must_use]
    pub fn with_earlier(mut self, earlier: &'a [GateReport]) -> Self {
        self.earlier = earlier;
        self
    }

    /// The report of the gate `name` when it came earlier in this run (ran or was skipped).
    #[must_use]
    pub fn earlier(&self, name: &str) -> Option<&'a GateReport> {
        self.earlier.iter().find(|g| g.name == name)
    }

    /// How long the steps run through this context took, together; tool installs
    /// ([`GateContext::installs`]) are not part of it.
    #[must_use]
    pub fn tool_time(&self) -> Duration {
        self.tools
    }

    /// The cargo tools installed through this context, with how long each took.
    #[must_use]
    pub fn installs(&self) -> &[InstallReport] {
        &self.installs
    }

    /// The time the installs took, together.
    #[must_use]
    pub fn install_time(&self) -> Duration {
        self.installs.iter().map(|i| i.duration).sum()
    }

    /// The workspace.
    #[must_use]
    pub fn workspace(&self) -> &'a Workspace {
        self.workspace
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &'a Config {
        self.config
    }

    /// The log that command output and notes go to.
    pub fn log(&mut self) -> &mut dyn Write {
        self.log
    }

    /// Writes one line to the log.
    pub fn say(&mut self, line: impl fmt::Display) {
        // The log is for people; failing to write it must not fail a gate.
        let _ = writeln!(self.log, "{line}");
    }

    /// The members the per-crate gates cover: `None` means the whole workspace.
    #[must_use]
    pub fn packages(&self) -> Option<&'a [String]> {
        self.packages
    }

    /// `--workspace`, or `-p a -p b` when `--changed-since` narrowed the members.
    #[must_use]
    pub fn package_args(&self) -> Vec<String> {
        match self.packages {
            None => vec!["--workspace".to_owned()],
            Some(packages) => packages
                .iter()
                .flat_map(|p| ["-p".to_owned(), p.clone()])
                .collect(),
        }
    }

    /// A cargo [`Step`].
    pub fn cargo(&self) -> Step {
        Step::cargo()
    }

    /// Runs one step from the workspace root, after logging its command line.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] when it cannot be started.
    pub fn run(&mut self, step: &Step) -> Result<StepOutput, Error> {
        self.say(format_args!("  $ {}", step.display()));
        let started = Instant::now();
        let out = step
            .clone()
            .search_path(self.search_path.clone())
            .run(self.workspace.root(), self.log);
        self.tools += started.elapsed();
        out
    }

    /// Runs steps in order and stops at the first that fails: a pass when all succeed, otherwise a
    /// failure naming the command, with the tail of its output (also written to the log when the
    /// step was not echoed).
    pub fn run_all(&mut self, steps: Vec<Step>) -> GateVerdict {
        for step in steps {
            match self.run(&step) {
                Ok(out) if out.success => {}
                Ok(out) => return self.failed(&step, &out),
                Err(e) => return e.into(),
            }
        }
        GateVerdict::pass()
    }

    /// The failure verdict for a step that ran and failed; prints its tail unless it was echoed.
    pub fn failed(&mut self, step: &Step, out: &StepOutput) -> GateVerdict {
        let tail = out.tail(TAIL_LINES);
        if !step.echoes() {
            for line in &tail {
                self.say(format_args!("  | {line}"));
            }
        }
        GateVerdict::fail(format!("`{}` failed ({})", out.command, out.status)).with_tail(tail)
    }

    /// Makes sure the cargo tool `tool` (e.g. `cargo-hack`) is installed, installing its pinned
    /// version with `cargo install --locked` when it is missing. The install's time is kept apart
    /// ([`GateContext::installs`]): the run charges it to its `install` row, not to the gate.
    ///
    /// # Errors
    ///
    /// [`Error::ToolInstall`] when the tool has no pinned version or the install fails.
    pub fn ensure_tool(&mut self, tool: &str) -> Result<(), Error> {
        let (installed, result) = crate::tools::ensure(
            self.workspace.root(),
            self.config,
            tool,
            self.search_path.as_ref(),
            self.log,
        );
        if let Some(mut install) = installed {
            install.gate.clone_from(&self.gate);
            self.installs.push(install);
        }
        result
    }

    /// Whether the cargo tool `tool` is installed (`cargo <sub> --version` succeeds).
    #[must_use]
    pub fn has_tool(&mut self, tool: &str) -> bool {
        crate::tools::is_installed(self.workspace.root(), tool)
    }
}
