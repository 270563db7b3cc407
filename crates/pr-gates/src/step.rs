//! One command a gate runs, and what came out of it.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// How many trailing output lines a [`StepOutput`] keeps for reports.
pub const TAIL_LINES: usize = 40;

/// A command a gate runs: program, arguments, environment, and whether its output is echoed.
///
/// Output (stdout and stderr, interleaved as written) is always captured; an echoed step also
/// streams it to the gates log as it arrives, so a long step (the tests) shows its own summary
/// lines in a CI log. A step that is not echoed prints its last lines only when it fails.
#[derive(Debug, Clone)]
#[must_use]
pub struct Step {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
    echo: bool,
    /// The `PATH` the gates give every command (system tools first); not shown in the command line.
    search_path: Option<OsString>,
}

impl Step {
    /// A step that runs `program`.
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
            dir: None,
            echo: false,
            search_path: None,
        }
    }

    /// A step that runs cargo: the one that runs us (`$CARGO`) when set, else `cargo` from `PATH`.
    pub fn cargo() -> Self {
        Self::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Runs the command in `dir` (default: the workspace root).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Streams the output to the log while it runs (default: only the tail, on failure).
    pub fn echo(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// Runs the command with `path` as its `PATH` (unless [`Step::env`] sets one), without showing
    /// it in the command line: the gates put the system tools' directory first this way.
    pub(crate) fn search_path(mut self, path: Option<OsString>) -> Self {
        if path.is_some() {
            self.search_path = path;
        }
        self
    }

    /// Whether the output is streamed.
    #[must_use]
    pub fn echoes(&self) -> bool {
        self.echo
    }

    /// The command line as a person would type it (environment first), for logs and reports.
    #[must_use]
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self
            .envs
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), quote(v)))
            .collect();
        let program = Path::new(&self.program);
        // `$CARGO` is an absolute path; people read `cargo`.
        let shown = if std::env::var_os("CARGO").is_some_and(|c| c == self.program) {
            OsString::from("cargo")
        } else {
            program.as_os_str().to_os_string()
        };
        parts.push(quote(&shown));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }

    /// Runs the command to completion in `default_dir` unless [`Step::dir`] was set, writing echoed
    /// output to `log`.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] when the command cannot be started or its output cannot be read; a command
    /// that runs and fails is a successful call returning `success == false`.
    pub fn run(&self, default_dir: &Path, log: &mut dyn Write) -> Result<StepOutput, Error> {
        let spawn_error = |source| Error::Spawn {
            command: self.display(),
            source,
        };
        let (reader, writer) = std::io::pipe().map_err(spawn_error)?;
        let mut command = Command::new(&self.program);
        if let Some(path) = &self.search_path {
            command.env("PATH", path);
        }
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.as_deref().unwrap_or(default_dir))
            .stdin(std::process::Stdio::null())
            .stdout(writer.try_clone().map_err(spawn_error)?)
            .stderr(writer);
        let mut child = command.spawn().map_err(spawn_error)?;
        // The command keeps copies of the pipe's write end; drop them so reading ends with the child.
        drop(command);
        let mut output = String::new();
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(spawn_error)?;
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            if self.echo {
                // A log that cannot be written to must not stop the gate.
                let _ = log.write_all(text.as_bytes());
            }
            output.push_str(&text);
        }
        let status = child.wait().map_err(spawn_error)?;
        if self.echo {
            let _ = log.flush();
        }
        Ok(StepOutput {
            command: self.display(),
            success: status.success(),
            status: status
                .code()
                .map_or_else(|| status.to_string(), |c| format!("exit status {c}")),
            output,
        })
    }
}

/// What one [`Step`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepOutput {
    /// The command line that ran.
    pub command: String,
    /// Whether it exited with status 0.
    pub success: bool,
    /// The exit status in words (`exit status 101`, `signal: 9`).
    pub status: String,
    /// Everything it wrote to stdout and stderr, interleaved.
    pub output: String,
}

impl StepOutput {
    /// The last `n` non-empty lines of the output.
    #[must_use]
    pub fn tail(&self, n: usize) -> Vec<String> {
        tail(&self.output, n)
    }
}

/// The last `n` non-empty lines of `text`, without terminal escape sequences.
pub(crate) fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .map(strip_ansi)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let skip = lines.len().saturating_sub(n);
    lines.into_iter().skip(skip).collect()
}

/// `line` without ANSI escape sequences (colours, charset switches) that tools print.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // Charset designation: one more character.
            Some('(' | ')') => {
                chars.next();
            }
            _ => {}
        }
    }
    out
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_needs_it() {
        let step = Step::new("cargo")
            .args(["clippy", "--", "-D", "warnings"])
            .arg("a b")
            .env("RUSTDOCFLAGS", "-D warnings");
        assert_eq!(
            step.display(),
            "RUSTDOCFLAGS='-D warnings' cargo clippy -- -D warnings 'a b'"
        );
    }

    #[test]
    fn run_captures_both_streams_and_status() {
        let step = Step::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]);
        let mut log = Vec::new();
        let out = step.run(Path::new("."), &mut log).unwrap();
        assert!(!out.success);
        assert_eq!(out.status, "exit status 3");
        assert!(out.output.contains("out\n"));
        assert!(out.output.contains("err\n"));
        assert!(log.is_empty(), "not echoed");
    }

    #[test]
    fn echoed_step_streams_to_the_log() {
        let step = Step::new("sh").args(["-c", "echo hello"]).echo(true);
        assert!(step.echoes());
        let mut log = Vec::new();
        let out = step.run(Path::new("."), &mut log).unwrap();
        assert!(out.success);
        assert_eq!(String::from_utf8(log).unwrap(), "hello\n");
    }

    #[test]
    fn env_and_dir_are_applied() {
        let dir = pr_test_support::temp_dir("gates-step-dir");
        let step = Step::new("sh")
            .args(["-c", "echo $PR_GATES_TEST_VAR; pwd"])
            .env("PR_GATES_TEST_VAR", "set")
            .dir(dir.path());
        let out = step.run(Path::new("/"), &mut Vec::new()).unwrap();
        assert!(out.output.starts_with("set\n"), "{}", out.output);
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(out.output.contains(&name), "{}", out.output);
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = Step::new("pr-gates-no-such-program")
            .run(Path::new("."), &mut Vec::new())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("could not start `pr-gates-no-such-program`"),
            "{err}"
        );
    }

    #[test]
    fn tail_keeps_last_non_empty_lines() {
        assert_eq!(tail("a\n\nb\nc\n\n", 2), ["b", "c"]);
        assert_eq!(tail("a\n", 5), ["a"]);
        assert!(tail("", 3).is_empty());
    }

    #[test]
    fn tail_strips_terminal_escapes() {
        let text = "\u{1b}[31m-    old\n\u{1b}(B\u{1b}[m\u{1b}[32m+    new\n";
        assert_eq!(tail(text, 5), ["-    old", "+    new"]);
    }
}
