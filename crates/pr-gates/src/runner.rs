//! The runner: [`GatesBuilder`] assembles the gates of a workspace, [`Gates`] runs them, installs
//! their tools up front (`--install-tools`), or starts a workspace's adoption (`gates init`).
//!
//! Tool installs are timed apart from the gates: a gate's row is its own work, and what the run
//! spent installing shows in an `install` row.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::{self, Args, Selection};
use crate::builtin::{self, TidyExtras};
use crate::config::describe_source;
use crate::report::InstallReport;
use crate::tidy::TidyFinding;
use crate::{Config, Error, Gate, GateContext, GateReport, GateVerdict, Summary, Workspace};

/// Assembles the gates of a workspace: the built-in ones, plus the project's own gates, tidy
/// commands and tidy rules.
///
/// ```no_run
/// use pr_gates::{TidyFinding, Gates};
///
/// # fn main() -> Result<(), pr_gates::Error> {
/// let gates = Gates::builder()
///     .tidy_command("layering", ["cargo", "test", "-p", "xtask"])
///     .tidy_rule("no-build-scripts", |ws| {
///         ws.members()
///             .iter()
///             .filter(|p| p.targets.iter().any(|t| t.is_custom_build()))
///             .map(|p| TidyFinding::new("no-build-scripts", p.name.as_str(), "has a build script"))
///             .collect()
///     })
///     .build()?;
/// std::process::exit(if gates.run_and_report(&Default::default())?.success() { 0 } else { 1 });
/// # }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct GatesBuilder {
    root: Option<PathBuf>,
    config: Option<Config>,
    gates: Vec<Gate>,
    extras: TidyExtras,
}

impl std::fmt::Debug for TidyExtras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TidyExtras")
            .field(
                "rules",
                &self.rules.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("commands", &self.commands)
            .finish()
    }
}

impl GatesBuilder {
    /// A builder with the built-in gates, for the workspace of the current directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Any directory inside the workspace (default: the current directory).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Uses `config` instead of reading `[workspace.metadata.pr-gates]` / `gates.toml`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Adds a gate after the built-in ones.
    pub fn gate(mut self, gate: Gate) -> Self {
        self.gates.push(gate);
        self
    }

    /// Adds a command the tidy gate runs (from the workspace root) after its built-in rules; it
    /// must exit with status 0. A command whose program is `cargo` runs the cargo that runs us.
    pub fn tidy_command<I, S>(mut self, name: impl Into<String>, command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extras
            .commands
            .push((name.into(), command.into_iter().map(Into::into).collect()));
        self
    }

    /// Adds an in-process tidy rule: it reads the workspace and returns what it found wrong.
    pub fn tidy_rule(
        mut self,
        name: impl Into<String>,
        rule: impl Fn(&Workspace) -> Vec<TidyFinding> + Send + Sync + 'static,
    ) -> Self {
        self.extras.rules.push((name.into(), Arc::new(rule)));
        self
    }

    /// Reads the workspace and its configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Metadata`] when `cargo metadata` fails, [`Error::Config`] for a bad configuration,
    /// [`Error::Usage`] when two gates share a name.
    pub fn build(self) -> Result<Gates, Error> {
        let dir = match self.root {
            Some(dir) => dir,
            None => std::env::current_dir().map_err(|e| Error::io("read", ".", e))?,
        };
        let workspace = Workspace::load(&dir)?;
        let config = match self.config {
            Some(config) => config,
            None => Config::load(workspace.root())?,
        };
        let mut gates = builtin::gates(self.extras);
        for gate in self.gates {
            if gates.iter().any(|g| g.name() == gate.name()) {
                return Err(Error::Usage {
                    arg: gate.name().to_owned(),
                    reason: "a gate with this name is already registered".to_owned(),
                });
            }
            gates.push(gate);
        }
        Ok(Gates {
            workspace,
            config,
            gates,
        })
    }
}

/// The gates of one workspace, ready to run.
#[derive(Debug)]
pub struct Gates {
    workspace: Workspace,
    config: Config,
    gates: Vec<Gate>,
}

impl Gates {
    /// A [`GatesBuilder`].
    pub fn builder() -> GatesBuilder {
        GatesBuilder::new()
    }

    /// The workspace.
    #[must_use]
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The gates, in the order they run.
    pub fn gates(&self) -> &[Gate] {
        &self.gates
    }

    /// Runs the gates `args` selects, writing progress and command output to `log`.
    ///
    /// A failing gate does not stop the run: every selected gate runs and the [`Summary`] says
    /// which failed.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGate`] when `--only`, `--skip` or the configuration names an unknown gate;
    /// [`Error::Usage`] or [`Error::Spawn`] when `--changed-since` cannot be worked out;
    /// [`Error::SystemTools`] when a gate that runs needs system tools that are missing and could
    /// not be installed.
    pub fn run(&self, args: &Args, log: &mut dyn Write) -> Result<Summary, Error> {
        let selection = self.selection(args)?;
        let packages = match &args.changed_since {
            Some(git_ref) => {
                let packages = crate::changed::packages_changed_since(
                    &self.workspace,
                    git_ref,
                    &mut std::io::sink(),
                )?;
                let _ = match &packages {
                    None => writeln!(
                        log,
                        "==> changed since {git_ref}: workspace-wide files, every crate"
                    ),
                    Some(p) => writeln!(
                        log,
                        "==> changed since {git_ref} (with dependents): {}",
                        if p.is_empty() {
                            "no crate".to_owned()
                        } else {
                            p.join(", ")
                        }
                    ),
                };
                packages
            }
            None => None,
        };
        let needs_tools = self
            .gates
            .iter()
            .zip(&selection)
            .any(|(g, s)| *s == Selection::Run && crate::system::gate_needs_tools(g.name()));
        let mut summary = Summary::default();
        let search_path = if needs_tools {
            let started = Instant::now();
            let prepared =
                crate::system::prepare(&self.workspace, &self.config, !args.no_install, log)?;
            if !prepared.installed.is_empty() {
                summary.installs.push(InstallReport::new(
                    prepared.installed.join(", "),
                    started.elapsed(),
                    true,
                ));
            }
            prepared.path
        } else {
            None
        };
        let budget = self.config.time_budget_secs.map(Duration::from_secs);
        let started = Instant::now();
        for (gate, selected) in self.gates.iter().zip(selection) {
            let skip = match selected {
                Selection::Skip(reason) => Some(reason),
                Selection::Run if budget.is_some_and(|b| started.elapsed() >= b) => Some(format!(
                    "time budget of {}s used up",
                    budget.map_or(0, |b| b.as_secs())
                )),
                Selection::Run
                    if gate.is_per_crate() && packages.as_ref().is_some_and(Vec::is_empty) =>
                {
                    Some(format!(
                        "no crate changed since {}",
                        args.changed_since.as_deref().unwrap_or("the ref")
                    ))
                }
                Selection::Run => None,
            };
            if let Some(reason) = skip {
                summary.gates.push(GateReport::new(
                    gate.name(),
                    GateVerdict::skip(reason),
                    Duration::ZERO,
                ));
                continue;
            }
            let _ = writeln!(log, "==> {}: {}", gate.name(), gate.description());
            let _ = log.flush();
            let start = Instant::now();
            let (verdict, tools, installs) = {
                let mut ctx =
                    GateContext::new(&self.workspace, &self.config, log, packages.as_deref())
                        .with_search_path(search_path.clone())
                        .with_gate(gate.name())
                        .with_earlier(&summary.gates);
                let verdict = gate.check(&mut ctx);
                (verdict, ctx.tool_time(), ctx.installs().to_vec())
            };
            // What the gate spent installing tools is the install row's, not the gate's.
            let installing: Duration = installs.iter().map(|i| i.duration).sum();
            let duration = start.elapsed().saturating_sub(installing);
            summary.installs.extend(installs);
            let _ = writeln!(
                log,
                "<== {}: {} in {:.1}s{}",
                gate.name(),
                verdict.status,
                duration.as_secs_f64(),
                verdict
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
            summary
                .gates
                .push(GateReport::new(gate.name(), verdict, duration).with_tools(tools));
        }
        Ok(summary)
    }

    /// Whether each gate runs, as `args` and the configuration select them.
    fn selection(&self, args: &Args) -> Result<Vec<Selection>, Error> {
        let names: Vec<&str> = self.gates.iter().map(Gate::name).collect();
        let fast: Vec<String> = self.config.fast.clone().unwrap_or_else(|| {
            self.gates
                .iter()
                .filter(|g| g.is_fast())
                .map(|g| g.name().to_owned())
                .collect()
        });
        let source = describe_source(self.workspace.root()).display().to_string();
        args::select(&names, &fast, &self.config.disabled, &source, args)
    }

    /// The cargo tools the gates `args` selects will need here, each once, in the order of the
    /// gates (a gate that does not apply needs none: no `deny.toml`, no library crate to measure).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGate`] as [`Gates::run`].
    pub fn tools_needed(&self, args: &Args) -> Result<Vec<&'static str>, Error> {
        let selection = self.selection(args)?;
        let mut tools: Vec<&'static str> = Vec::new();
        for (gate, selected) in self.gates.iter().zip(selection) {
            if selected != Selection::Run {
                continue;
            }
            for tool in builtin::cargo_tools(gate.name(), &self.workspace, &self.config) {
                if !tools.contains(&tool) {
                    tools.push(tool);
                }
            }
        }
        Ok(tools)
    }

    /// `--install-tools`: installs what the gates `args` selects will need (the missing cargo tools
    /// at their pinned versions, [`tools_needed`](Gates::tools_needed), and the configured system
    /// tools), writing progress to `log`, and runs no gate. Returns what it installed; a tool that
    /// was there is not in the list.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGate`] as [`Gates::run`]; [`Error::ToolInstall`] for the first cargo tool
    /// that could not be installed (after trying each); [`Error::SystemTools`] as [`Gates::run`].
    pub fn install_tools(
        &self,
        args: &Args,
        log: &mut dyn Write,
    ) -> Result<Vec<InstallReport>, Error> {
        let selection = self.selection(args)?;
        let mut installs = Vec::new();
        let needs_system_tools = self
            .gates
            .iter()
            .zip(&selection)
            .any(|(g, s)| *s == Selection::Run && crate::system::gate_needs_tools(g.name()));
        let mut search_path = None;
        if needs_system_tools {
            let started = Instant::now();
            let prepared = crate::system::prepare(&self.workspace, &self.config, true, log)?;
            if !prepared.installed.is_empty() {
                installs.push(InstallReport::new(
                    prepared.installed.join(", "),
                    started.elapsed(),
                    true,
                ));
            }
            search_path = prepared.path;
        }
        let mut first_error = None;
        for tool in self.tools_needed(args)? {
            let _ = writeln!(log, "==> {tool}");
            let (install, result) = crate::tools::ensure(
                self.workspace.root(),
                &self.config,
                tool,
                search_path.as_ref(),
                log,
            );
            let _ = match (&install, &result) {
                (_, Err(e)) => writeln!(log, "<== {tool}: FAIL ({e})"),
                (Some(i), Ok(())) => writeln!(
                    log,
                    "<== {tool}: installed {} in {:.1}s",
                    i.what,
                    i.duration.as_secs_f64()
                ),
                (None, Ok(())) => writeln!(log, "<== {tool}: already installed"),
            };
            installs.extend(install);
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(installs),
        }
    }

    /// Runs the gates with progress on stderr, prints the table on stdout, and writes the JSON and
    /// `JUnit` reports `args` asks for.
    ///
    /// # Errors
    ///
    /// As [`Gates::run`], and [`Error::Io`] when a report cannot be written.
    pub fn run_and_report(&self, args: &Args) -> Result<Summary, Error> {
        let summary = self.run(args, &mut std::io::stderr())?;
        print_table(&summary.table());
        if let Some(path) = &args.json {
            std::fs::write(path, summary.to_json()).map_err(|e| Error::io("write", path, e))?;
        }
        if let Some(path) = &args.junit {
            std::fs::write(path, summary.to_junit()).map_err(|e| Error::io("write", path, e))?;
        }
        Ok(summary)
    }

    /// Parses `args` (what follows the program name; a leading `gates` is dropped), runs, reports,
    /// and returns the process exit code: 0 when every gate passed, 1 when one failed, 2 when the
    /// gates could not run.
    ///
    /// `gates init` writes the starter files into the workspace instead ([`crate::init`]), and
    /// `--install-tools` installs the tools the gates need and runs none; both exit with 0 when
    /// they did it and 2 when they could not.
    pub fn main_with<I, S>(&self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let args = match Args::parse(args) {
            Ok(args) => args,
            Err(e) => return fatal(&e),
        };
        if args.help {
            print_table(args::USAGE);
            return ExitCode::SUCCESS;
        }
        if args.list {
            let width = self.gates.iter().map(|g| g.name().len()).max().unwrap_or(0);
            let list: String = self
                .gates
                .iter()
                .map(|g| {
                    format!(
                        "{:<width$}  {}{}\n",
                        g.name(),
                        g.description(),
                        if g.is_fast() { " [fast]" } else { "" }
                    )
                })
                .collect();
            print_table(&list);
            return ExitCode::SUCCESS;
        }
        if args.init {
            let options = crate::init::InitOptions {
                pr_gates_path: args.pr_gates_path.clone(),
            };
            return match crate::init::run(&self.workspace, &options) {
                Ok(report) => {
                    print_table(&report.to_string());
                    ExitCode::SUCCESS
                }
                Err(e) => fatal(&e),
            };
        }
        if args.install_tools {
            return match self.install_tools(&args, &mut std::io::stderr()) {
                Ok(installs) => {
                    let installed = if installs.is_empty() {
                        "every tool the gates need is installed".to_owned()
                    } else {
                        let what: Vec<&str> = installs.iter().map(|i| i.what.as_str()).collect();
                        let seconds: f64 = installs.iter().map(|i| i.duration.as_secs_f64()).sum();
                        format!("installed {} in {seconds:.1}s", what.join(", "))
                    };
                    print_table(&format!("{installed}\n"));
                    ExitCode::SUCCESS
                }
                Err(e) => fatal(&e),
            };
        }
        match self.run_and_report(&args) {
            Ok(summary) if summary.success() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => fatal(&e),
        }
    }
}

/// Builds the gates with `builder` and runs them on `args`; the exit code as [`Gates::main_with`].
pub fn main_with<I, S>(builder: GatesBuilder, args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    match builder.build() {
        Ok(gates) => gates.main_with(args),
        Err(e) => fatal(&e),
    }
}

fn fatal(error: &Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {error}");
    ExitCode::from(2)
}

#[expect(
    clippy::print_stdout,
    reason = "the table on stdout is the point of the runner"
)]
fn print_table(text: &str) {
    print!("{text}");
}
