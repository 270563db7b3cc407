//! The crash child: a child process that runs one test of the current test
//! binary (its "child entry", which writes until it is killed) so that the
//! parent test can kill it with SIGKILL in the middle of a write and check
//! what it left behind.
//!
//! The child entry is an ordinary `#[test]` that does its bounded work when
//! run by itself and writes forever when the parent's environment variable
//! says it is the child; it prints a marker line (`ready`) once it is
//! writing, and whatever else the parent should learn (records it
//! acknowledged) as lines on stdout.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A child process running one test of this test binary; killed (SIGKILL)
/// and reaped when dropped.
#[derive(Debug)]
#[must_use = "the child is killed when this is dropped"]
pub struct CrashChild {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl CrashChild {
    /// Runs the test `name` (its path in the binary, `crash::child_entry`)
    /// of the current test binary alone, with `env` added to its
    /// environment, its stdout piped to the parent and its stderr
    /// discarded.
    ///
    /// # Panics
    ///
    /// When the child cannot be started.
    pub fn spawn<K: AsRef<OsStr>, V: AsRef<OsStr>>(name: &str, env: &[(K, V)]) -> Self {
        Self::spawn_command(Self::command(name, env))
    }

    /// The command [`spawn`](Self::spawn) runs, to change before it runs
    /// (a shell around it to set a limit, another stderr).
    ///
    /// # Panics
    ///
    /// When the current executable cannot be found.
    #[must_use]
    pub fn command<K: AsRef<OsStr>, V: AsRef<OsStr>>(name: &str, env: &[(K, V)]) -> Command {
        let exe = std::env::current_exe()
            .unwrap_or_else(|e| panic!("the test binary's path is unknown: {e}"));
        let mut command = Command::new(exe);
        command
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// A command that runs the test `name` of the current test binary alone,
    /// as [`command`](Self::command) does, under a file size limit
    /// (`RLIMIT_FSIZE`) of `limit_bytes` with `SIGXFSZ` ignored, so a write
    /// past it fails with `EFBIG` as one on a full filesystem would. A
    /// shell sets the limit (`ulimit -f`, in POSIX `sh`'s 512-byte blocks)
    /// and then becomes the test binary. Its stdout and stderr are left to
    /// the caller (`output()` keeps both); its coverage profile, which the
    /// limit would cut short, goes nowhere.
    ///
    /// # Panics
    ///
    /// When the current executable cannot be found.
    #[must_use]
    pub fn file_size_limited<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        name: &str,
        limit_bytes: u64,
        env: &[(K, V)],
    ) -> Command {
        let exe = std::env::current_exe()
            .unwrap_or_else(|e| panic!("the test binary's path is unknown: {e}"));
        let blocks = (limit_bytes / 512).max(1);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            // An ignored signal stays ignored across `exec`.
            .arg(format!(
                r#"trap '' XFSZ; ulimit -f {blocks} && exec "$0" --exact {name} --nocapture --test-threads=1"#
            ))
            .arg(exe)
            .env("LLVM_PROFILE_FILE", "/dev/null");
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    /// Starts `command` (made by [`command`](Self::command), stdout piped).
    ///
    /// # Panics
    ///
    /// When it cannot be started or its stdout is not piped.
    pub fn spawn_command(mut command: Command) -> Self {
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the crash child: {e}"));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("the crash child's stdout must be piped"));
        Self {
            child,
            stdout: BufReader::new(stdout),
        }
    }

    /// The child's next line on stdout, without its line end; `None` once
    /// its stdout has ended.
    ///
    /// # Panics
    ///
    /// When reading fails.
    pub fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = self
            .stdout
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("cannot read the crash child's stdout: {e}"));
        (read > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned())
    }

    /// Reads lines until one contains `marker`; that line.
    ///
    /// # Panics
    ///
    /// When the child's stdout ends first (it failed or exited).
    pub fn wait_for(&mut self, marker: &str) -> String {
        loop {
            match self.next_line() {
                Some(line) if line.contains(marker) => return line,
                Some(_) => {}
                None => panic!("the crash child ended before printing `{marker}`"),
            }
        }
    }

    /// The child's process id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child with SIGKILL and reaps it; the lines it printed and
    /// the parent has not read yet stay readable through
    /// [`next_line`](Self::next_line).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The child's exit status if it has exited, without waiting.
    ///
    /// # Panics
    ///
    /// When the status cannot be read.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|e| panic!("cannot look at the crash child: {e}"))
    }

    /// Waits for the child to exit by itself; its exit status.
    ///
    /// # Panics
    ///
    /// When waiting fails.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child
            .wait()
            .unwrap_or_else(|e| panic!("cannot wait for the crash child: {e}"))
    }
}

impl Drop for CrashChild {
    fn drop(&mut self) {
        self.kill();
    }
}
