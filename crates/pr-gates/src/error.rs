//! The one error type of pr-gates: what went wrong before or around the gates (never a gate failing,
//! which is a [`GateVerdict`](crate::GateVerdict), not an error).

use std::path::PathBuf;

/// Everything that stops pr-gates from running the gates at all.
///
/// A gate that fails is not an error: it is reported in the [`Summary`](crate::Summary). These are
/// the problems around the gates: a bad configuration, a workspace `cargo metadata` cannot read, a
/// tool that cannot be installed, a command line that does not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (`[workspace.metadata.pr-gates]` or `gates.toml`) is invalid.
    #[error("invalid pr-gates configuration in {}: {message}", path.display())]
    Config {
        /// The file that holds the bad configuration.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// `cargo metadata` failed for the workspace.
    #[error("`cargo metadata` failed for the workspace at {}: {source}", dir.display())]
    Metadata {
        /// The directory cargo metadata ran in.
        dir: PathBuf,
        /// The underlying failure.
        #[source]
        source: cargo_metadata::Error,
    },
    /// A cargo tool was missing and `cargo install` could not install it.
    #[error(
        "could not install {tool} {version} with `cargo install --locked {tool}@{version}`: {reason}"
    )]
    ToolInstall {
        /// The cargo tool, e.g. `cargo-hack`.
        tool: String,
        /// The pinned version.
        version: String,
        /// Why the install failed (exit status and the last lines of its output).
        reason: String,
    },
    /// Programs the gates need (`[system-tools]` of the configuration) are missing and could not
    /// be installed.
    #[error(
        "the gates need programs that are missing; install them and run again:\n{}",
        missing.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n")
    )]
    SystemTools {
        /// One line per missing program: its name, how to install it, and why installing failed.
        missing: Vec<String>,
    },
    /// The command line given to the gates runner does not parse.
    #[error("invalid command line argument `{arg}`: {reason}")]
    Usage {
        /// The offending argument.
        arg: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A gate name (from the command line or the configuration) is not known.
    #[error("unknown gate `{name}` in {source_name}; known gates: {known}")]
    UnknownGate {
        /// The unknown name.
        name: String,
        /// Where the name came from (`--only`, `--skip`, a config key).
        source_name: String,
        /// The gates this runner knows, comma-separated.
        known: String,
    },
    /// A file or directory could not be read or written.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `list`).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// A command could not be started at all (not: it ran and failed).
    #[error("could not start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// Criterion's output could not be understood.
    #[error("unreadable criterion output {}: {message}", path.display())]
    BenchData {
        /// The file that could not be understood.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
