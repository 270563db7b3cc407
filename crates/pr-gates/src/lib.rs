//! Quality gates for a Cargo workspace (fmt, clippy, tests, docs, features, deny, tidy, coverage, package, bench smoke) as a library your xtask calls.
//!
//! `pr-gates` is the quality-gate runner of the `pr` toolkit, published so that any workspace's
//! `cargo xtask gates` runs the same gates the toolkit runs on itself. It runs each gate in turn,
//! streams what the tools print, prints a table (gate, PASS / FAIL / SKIP, seconds, the reason) and
//! exits non-zero when a gate fails. Cargo tools a gate needs (cargo-nextest, cargo-hack, cargo-deny,
//! cargo-tarpaulin) are installed at pinned versions ([`PINNED_TOOLS`]) when missing.
//!
//! The gates, in order: `fmt`, `clippy`, `test`, `docs`, `features`, `deny`, `tidy`, `coverage`,
//! `package`, `bench` ([`BUILTIN_GATES`]). A gate that does not apply (no `deny.toml`, no bench
//! targets) is skipped with the reason. `docs/GATES.md` in the repository says what each checks.
//!
//! `cargo xtask gates init` ([`init`]) writes what a workspace needs to run the gates (a starter
//! `deny.toml`, the xtask crate and its alias, a CI workflow) without overwriting a file, so that a
//! workspace fresh from `cargo new` passes on its first run; `--install-tools` installs the cargo
//! tools as a step of its own, and a run charges what it installs to an `install` row of its table.
//! The `JUnit` report has one test case per test, read from nextest's own report.
//!
//! It depends on no other `pr-*` crate: it is a build tool, not a runtime library.
//!
//! # Examples
//!
//! The whole of an xtask that runs the gates with no configuration (`xtask/src/main.rs`):
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     pr_gates::main()
//! }
//! ```
//!
//! With the project's own tidy command and a gate of its own:
//!
//! ```no_run
//! use pr_gates::{Gate, Gates};
//!
//! fn main() -> std::process::ExitCode {
//!     let builder = Gates::builder()
//!         .tidy_command("layering", ["cargo", "test", "-p", "xtask"])
//!         .gate(Gate::new("typos", "spelling in the docs", |ctx| {
//!             let step = ctx.cargo().args(["run", "--quiet", "-p", "typos-check"]);
//!             ctx.run_all(vec![step])
//!         }));
//!     pr_gates::main_with(builder, std::env::args_os().skip(1))
//! }
//! ```
//!
//! The pure parts run anywhere, for instance the selection of gates from a command line:
//!
//! ```
//! use pr_gates::Args;
//!
//! # fn main() -> Result<(), pr_gates::Error> {
//! let args = Args::parse(["gates", "--skip", "coverage,package", "--json", "gates.json"])?;
//! assert_eq!(args.skip, ["coverage", "package"]);
//! # Ok(())
//! # }
//! ```
//!
//! # Configuration
//!
//! `[workspace.metadata.pr-gates]` in the root `Cargo.toml`, or the same keys in a `gates.toml`
//! beside it: see [`Config`].
//!
//! # Errors
//!
//! [`Error`] covers what stops the gates from running at all (a bad configuration, `cargo metadata`
//! failing, a tool that cannot be installed, a bad command line). A gate that fails is not an
//! error: it is a [`GateVerdict`] in the [`Summary`].

#![forbid(unsafe_code)]

mod args;
pub mod bench;
mod builtin;
mod changed;
mod config;
mod error;
mod gate;
pub mod init;
mod nextest;
mod report;
mod runner;
mod step;
mod system;
mod tidy;
mod tools;
mod workspace;

pub use args::{Args, USAGE};
pub use builtin::{BUILTIN_GATES, TidyRuleFn};
pub use config::{
    ADVISORY_DB_ENV, CONFIG_FILE, Config, CoverageConfig, DEFAULT_COVERAGE_THRESHOLD, DenyConfig,
    SystemToolConfig, TidyCommandConfig, TidyConfig,
};
pub use error::Error;
pub use gate::{CheckFn, Gate, GateContext, GateStatus, GateVerdict, TestCase};
pub use report::{GateReport, InstallReport, Summary};
pub use runner::{Gates, GatesBuilder, main_with};
pub use step::{Step, StepOutput, TAIL_LINES};
pub use tidy::{RULES as TIDY_RULES, TidyFinding, check as tidy_check};
pub use tools::PINNED_TOOLS;
pub use workspace::Workspace;

/// The `cargo_metadata` crate this one uses, so that tidy rules can name its types.
pub use cargo_metadata;

/// Runs the gates of the current directory's workspace with its configuration and nothing added,
/// on the process's command line (`cargo xtask gates [OPTIONS]`); returns the exit code.
///
/// 0 when every gate passed, 1 when one failed, 2 when the gates could not run (bad configuration,
/// bad command line).
#[must_use]
pub fn main() -> std::process::ExitCode {
    main_with(GatesBuilder::new(), std::env::args_os().skip(1))
}
