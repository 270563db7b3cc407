//! pr-config's error type, codes, and the problems a load reports.

use std::fmt;
use std::path::PathBuf;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-config defines.
    pub static CODES;

    /// Loading the configuration found one or more problems; each is listed with its own code.
    pub INVALID = "config.invalid", INTERNAL_SERVER_ERROR, permanent;
    /// A value has the wrong type for its key (a string where a number is expected).
    pub INVALID_TYPE = "config.invalid_type", INTERNAL_SERVER_ERROR, permanent;
    /// A value has the right type but is not acceptable (a bad duration, an unknown variant).
    pub INVALID_VALUE = "config.invalid_value", INTERNAL_SERVER_ERROR, permanent;
    /// A required key has no value in any source.
    pub MISSING_VALUE = "config.missing_value", INTERNAL_SERVER_ERROR, permanent;
    /// A key that the configuration type does not know (an error in strict mode).
    pub UNKNOWN_KEY = "config.unknown_key", INTERNAL_SERVER_ERROR, permanent;
    /// A validation rule of the configuration type failed.
    pub VALIDATION_FAILED = "config.validation_failed", INTERNAL_SERVER_ERROR, permanent;
    /// A configuration file is not valid TOML / JSON / `.env` syntax.
    pub PARSE_FAILED = "config.parse_failed", INTERNAL_SERVER_ERROR, permanent;
    /// A required configuration file does not exist.
    pub FILE_MISSING = "config.file_missing", INTERNAL_SERVER_ERROR, permanent;
    /// A configuration or secret file could not be read.
    pub IO = "config.io", SERVICE_UNAVAILABLE, transient;
    /// A secret file is readable by its group or by others (or otherwise unsafe).
    pub INSECURE_SECRET_FILE = "config.insecure_secret_file", INTERNAL_SERVER_ERROR, permanent;
    /// Watching the configuration files for changes failed.
    pub WATCH_FAILED = "config.watch_failed", SERVICE_UNAVAILABLE, transient;
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The configuration type's `Default`.
    Default,
    /// A configuration file; `line` where the format tells it (TOML, `.env`).
    File {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the key, when known.
        line: Option<u32>,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        name: String,
    },
    /// A variable of a `.env` file.
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// The variable's name.
        name: String,
        /// The 1-based line.
        line: Option<u32>,
    },
    /// A secret file named by a `<KEY>_FILE` environment variable.
    SecretFile {
        /// The file.
        path: PathBuf,
        /// The variable that named it.
        var: String,
    },
    /// A programmatic override (a command-line flag, a test).
    Override,
    /// Another figment provider, by its metadata name.
    Provider(String),
}

impl Source {
    /// A short name of the kind of source: `default`, `file`, `env`,
    /// `dotenv`, `secret_file`, `override`, `provider`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::File { .. } => "file",
            Self::Env { .. } => "env",
            Self::DotEnv { .. } => "dotenv",
            Self::SecretFile { .. } => "secret_file",
            Self::Override => "override",
            Self::Provider(_) => "provider",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File { path, line } => {
                write!(f, "file {}", path.display())?;
                if let Some(line) = line {
                    write!(f, " line {line}")?;
                }
                Ok(())
            }
            Self::Env { name } => write!(f, "env var {name}"),
            Self::DotEnv { path, name, line } => {
                write!(f, "{} ({name}", path.display())?;
                if let Some(line) = line {
                    write!(f, ", line {line}")?;
                }
                f.write_str(")")
            }
            Self::SecretFile { path, var } => {
                write!(f, "secret file {} (from {var})", path.display())
            }
            Self::Override => f.write_str("override"),
            Self::Provider(name) => write!(f, "provider {name}"),
        }
    }
}

/// One problem found while loading: which key, from which source, what is
/// wrong. The message names the expected type and the kind of value found,
/// never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigProblem {
    /// The dotted key path (`database.url`); empty for a whole file.
    pub key: String,
    /// The source that supplied the offending value (or the file at fault).
    pub source: Source,
    /// The problem's catalogue entry.
    pub info: &'static CodeInfo,
    /// What is wrong, without the value.
    pub message: String,
}

impl ConfigProblem {
    pub(crate) fn new(
        key: impl Into<String>,
        source: Source,
        info: &'static CodeInfo,
        message: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            source,
            info,
            message: message.into(),
        }
    }

    /// A file (config or `.env`) that does not parse, at the line the parser names.
    pub(crate) fn syntax(path: &std::path::Path, error: crate::format::SyntaxError) -> Self {
        Self::new(
            "",
            Source::File {
                path: path.to_path_buf(),
                line: error.line,
            },
            &PARSE_FAILED,
            error.message,
        )
    }

    /// The problem's stable code.
    #[must_use]
    pub fn code(&self) -> pr_errors::Code {
        self.info.code
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "[{}] {}: {}", self.info.code, self.source, self.message)
        } else {
            write!(
                f,
                "[{}] `{}` from {}: {}",
                self.info.code, self.key, self.source, self.message
            )
        }
    }
}

/// A warning found while loading (an unknown key outside strict mode, a
/// secret file with loose permissions under the `warn` policy).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// What kind of warning, as the name of the event the loader logs it
    /// under: `config.unknown_key` or `config.insecure_secret_file`.
    pub event: &'static str,
    /// The dotted key path.
    pub key: String,
    /// Where it came from.
    pub source: Source,
    /// What is wrong, with a "did you mean" where a known key is close.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` from {}: {}", self.key, self.source, self.message)
    }
}

/// What can go wrong with configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading found problems; every one is listed, each with its source.
    #[error("invalid configuration ({} problem{}): {}", problems.len(), if problems.len() == 1 { "" } else { "s" }, join(problems))]
    Invalid {
        /// Every problem, in key order of discovery.
        problems: Vec<ConfigProblem>,
    },
    /// Watching for changes could not start.
    #[error("cannot watch {path} for configuration changes: {reason}")]
    WatchFailed {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn join(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The problems of an [`Error::Invalid`]; empty for other errors.
    #[must_use]
    pub fn problems(&self) -> &[ConfigProblem] {
        match self {
            Self::Invalid { problems } => problems,
            Self::WatchFailed { .. } => &[],
        }
    }
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::Invalid { .. } => &INVALID,
            Self::WatchFailed { .. } => &WATCH_FAILED,
        }
    }
}
