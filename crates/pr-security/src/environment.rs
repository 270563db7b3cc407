//! Checks of the process's environment: root, writable directories and
//! configuration, core dumps, debug settings in production, the umask, and
//! secrets on the command line.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::files::PermissionPolicy;
use crate::report::{Finding, SecurityReport, Severity};

/// Runs the environment checks and returns a [`SecurityReport`] with a severity per
/// finding. Nothing here fails: a check that cannot run is an `Info`
/// finding.
///
/// | code | severity | when |
/// |---|---|---|
/// | `env.running_as_root` | critical | the effective user is root |
/// | `env.cwd_world_writable` / `env.cwd_group_writable` | critical / warning | the current directory is writable by others (and not sticky) |
/// | `env.config_writable` | warning | the process can write a configuration file it reads |
/// | `perm.*` | as [`PermissionPolicy`] | a configuration or secret file's permissions |
/// | `env.core_dumps_enabled` | warning | `RLIMIT_CORE` is not 0: secrets in memory can land on disk |
/// | `env.debug_build` | warning | a production profile with debug assertions compiled in |
/// | `env.debug_logging` | warning | a production profile with `RUST_LOG` at debug or trace |
/// | `env.debug_setting` | warning | a production profile with a debug setting you declared on |
/// | `env.umask_world_writable` / `env.umask_group_writable` / `env.umask_world_readable` | critical / warning / info | new files get those permissions |
/// | `env.secret_in_args` | critical | an argument named like a password / token / key has a value, or an argument looks like a known key format (the value is never shown) |
///
/// # Examples
///
/// ```
/// use pr_security::Severity;
/// use pr_security::environment::EnvironmentCheck;
///
/// let report = EnvironmentCheck::new()
///     .profile("production")
///     .args(["my-service", "--db-password=hunter2"])
///     .run();
/// assert!(report.has("env.secret_in_args"));
/// assert!(!report.to_string().contains("hunter2"));
/// assert_eq!(report.worst(), Some(Severity::Critical));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct EnvironmentCheck {
    profile: Option<String>,
    config_files: Vec<PathBuf>,
    secret_files: Vec<PathBuf>,
    args: Option<Vec<OsString>>,
    debug_settings: Vec<(String, bool)>,
    rust_log: Option<Option<String>>,
}

/// Profiles treated as production.
const PRODUCTION: [&str; 3] = ["prod", "production", "live"];

impl EnvironmentCheck {
    /// A check of this process with no files and no profile.
    pub fn new() -> Self {
        Self::default()
    }

    /// The active profile; `prod`, `production` and `live` turn on the
    /// debug-setting checks.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// A configuration file the service reads (checked with
    /// [`PermissionPolicy::config`], and for being writable by us).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_files.push(path.into());
        self
    }

    /// A secret file (checked with [`PermissionPolicy::secret`]).
    pub fn secret_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.secret_files.push(path.into());
        self
    }

    /// The command line to inspect instead of this process's.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// A debug setting of your own (`"graphiql"`, `"cors_allow_all"`), and
    /// whether it is on; reported when on under a production profile.
    pub fn debug_setting(mut self, name: impl Into<String>, enabled: bool) -> Self {
        self.debug_settings.push((name.into(), enabled));
        self
    }

    /// The `RUST_LOG` value to judge instead of the environment's.
    pub fn rust_log(mut self, value: Option<&str>) -> Self {
        self.rust_log = Some(value.map(str::to_owned));
        self
    }

    /// Runs every check.
    #[must_use]
    pub fn run(&self) -> SecurityReport {
        let mut report = SecurityReport::default();
        if rustix::process::geteuid().is_root() {
            report.push(Finding::new(
                "env.running_as_root",
                Severity::Critical,
                "the process runs as root; run as an unprivileged user",
            ));
        }
        self.check_cwd(&mut report);
        self.check_files(&mut report);
        check_core_dumps(&mut report);
        self.check_debug(&mut report);
        check_umask(&mut report);
        self.check_args(&mut report);
        report
    }

    #[expect(clippy::unused_self, reason = "kept beside the other checks")]
    fn check_cwd(&self, report: &mut SecurityReport) {
        let Ok(cwd) = std::env::current_dir() else {
            report.push(Finding::new(
                "env.cwd_unknown",
                Severity::Info,
                "the current directory cannot be read",
            ));
            return;
        };
        let Ok(meta) = std::fs::metadata(&cwd) else {
            return;
        };
        let mode = meta.mode() & 0o7777;
        if mode & 0o1000 != 0 {
            return;
        }
        if mode & 0o002 != 0 {
            report.push(Finding::new(
                "env.cwd_world_writable",
                Severity::Critical,
                format!(
                    "the current directory {} is writable by every user (mode {mode:04o})",
                    cwd.display()
                ),
            ));
        } else if mode & 0o020 != 0 {
            report.push(Finding::new(
                "env.cwd_group_writable",
                Severity::Warning,
                format!(
                    "the current directory {} is writable by its group (mode {mode:04o})",
                    cwd.display()
                ),
            ));
        }
    }

    fn check_files(&self, report: &mut SecurityReport) {
        let files = self
            .config_files
            .iter()
            .map(|p| (p, PermissionPolicy::config(), true))
            .chain(
                self.secret_files
                    .iter()
                    .map(|p| (p, PermissionPolicy::secret(), false)),
            );
        for (path, policy, is_config) in files {
            match policy.check(path) {
                Ok(found) => report.findings.extend(found.findings),
                Err(e) => report.push(Finding::new(
                    "env.file_unreadable",
                    Severity::Warning,
                    format!("cannot examine {}: {e}", path.display()),
                )),
            }
            if is_config
                && rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
                && !rustix::process::geteuid().is_root()
            {
                report.push(Finding::new(
                    "env.config_writable",
                    Severity::Warning,
                    format!(
                        "the process can write its configuration file {}; make it read-only to the service user",
                        path.display()
                    ),
                ));
            }
        }
    }

    fn is_production(&self) -> bool {
        self.profile
            .as_deref()
            .is_some_and(|p| PRODUCTION.iter().any(|prod| p.eq_ignore_ascii_case(prod)))
    }

    fn check_debug(&self, report: &mut SecurityReport) {
        if !self.is_production() {
            return;
        }
        if cfg!(debug_assertions) {
            report.push(Finding::new(
                "env.debug_build",
                Severity::Warning,
                "a production profile runs a build with debug assertions (build with --release)",
            ));
        }
        let rust_log = match &self.rust_log {
            Some(value) => value.clone(),
            None => std::env::var("RUST_LOG").ok(),
        };
        if let Some(value) = rust_log {
            let lower = value.to_ascii_lowercase();
            if lower.contains("trace") || lower.contains("debug") {
                report.push(Finding::new(
                    "env.debug_logging",
                    Severity::Warning,
                    "a production profile logs at debug or trace level (RUST_LOG); such logs often carry secrets and personal data",
                ));
            }
        }
        for (name, enabled) in &self.debug_settings {
            if *enabled {
                report.push(Finding::new(
                    "env.debug_setting",
                    Severity::Warning,
                    format!("debug setting `{name}` is on under a production profile"),
                ));
            }
        }
    }

    fn check_args(&self, report: &mut SecurityReport) {
        let args: Vec<OsString> = match &self.args {
            Some(args) => args.clone(),
            None => std::env::args_os().collect(),
        };
        let mut previous_named_secret: Option<String> = None;
        for (index, arg) in args.iter().enumerate().skip(1) {
            let text = arg.to_string_lossy();
            if let Some(name) = previous_named_secret.take()
                && !text.starts_with('-')
            {
                report.push(secret_arg(index, &name));
                continue;
            }
            if let Some(flag) = text.strip_prefix("--").or_else(|| text.strip_prefix('-')) {
                let (name, value) = flag
                    .split_once('=')
                    .map_or((flag, None), |(n, v)| (n, Some(v)));
                if is_secret_name(name) {
                    match value {
                        Some(v) if !v.is_empty() && !v.starts_with('@') && !looks_like_file(v) => {
                            report.push(secret_arg(index, name));
                        }
                        Some(_) => {}
                        None => previous_named_secret = Some(name.to_owned()),
                    }
                    continue;
                }
            }
            if looks_like_known_key(&text) {
                report.push(Finding::new(
                    "env.secret_in_args",
                    Severity::Critical,
                    format!("argument {index} looks like an access key or token (value not shown); pass secrets in files or the environment"),
                ));
            }
        }
    }
}

fn secret_arg(index: usize, name: &str) -> Finding {
    Finding::new(
        "env.secret_in_args",
        Severity::Critical,
        format!(
            "argument {index} passes `{name}` on the command line, where every user can read it (value not shown); pass it in a file or the environment"
        ),
    )
}

fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let normalized: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "credential",
        "accesskey",
    ]
    .iter()
    .any(|word| normalized.contains(word))
        && !normalized.ends_with("file")
        && !normalized.ends_with("path")
        && !normalized.ends_with("env")
}

fn looks_like_file(value: &str) -> bool {
    value.starts_with('/') || value.starts_with("./") || value.starts_with("file:")
}

/// Well-known credential formats.
fn looks_like_known_key(text: &str) -> bool {
    let value = text.split_once('=').map_or(text, |(_, v)| v);
    let has = |prefix: &str, min_len: usize| value.starts_with(prefix) && value.len() >= min_len;
    has("ghp_", 40)
        || has("gho_", 40)
        || has("github_pat_", 40)
        || has("glpat-", 20)
        || has("xoxb-", 20)
        || has("xoxp-", 20)
        || has("sk_live_", 24)
        || has("rk_live_", 24)
        || has("sk-", 40)
        || (has("AKIA", 20)
            && value.len() == 20
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        || value.starts_with("-----BEGIN")
}

fn check_core_dumps(report: &mut SecurityReport) {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Core);
    if limit.current != Some(0) {
        report.push(Finding::new(
            "env.core_dumps_enabled",
            Severity::Warning,
            format!(
                "core dumps are enabled (RLIMIT_CORE {}); a crash can write secrets held in memory to disk",
                limit.current.map_or_else(|| "unlimited".to_owned(), |v| v.to_string())
            ),
        ));
    }
}

/// The process's umask, read from `/proc/self/status` where possible (no
/// race), else by setting and restoring it.
#[must_use]
pub fn current_umask() -> u32 {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Umask:"))
        && let Ok(mask) = u32::from_str_radix(line["Umask:".len()..].trim(), 8)
    {
        return mask;
    }
    // Racy with other threads creating files between the two calls.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    rustix::process::umask(old);
    old.as_raw_mode()
}

fn check_umask(report: &mut SecurityReport) {
    let mask = current_umask();
    let (code, severity, what) = if mask & 0o002 == 0 {
        (
            "env.umask_world_writable",
            Severity::Critical,
            "writable by every user",
        )
    } else if mask & 0o020 == 0 {
        (
            "env.umask_group_writable",
            Severity::Warning,
            "writable by the group",
        )
    } else if mask & 0o004 == 0 {
        (
            "env.umask_world_readable",
            Severity::Info,
            "readable by every user",
        )
    } else {
        return;
    };
    report.push(Finding::new(
        code,
        severity,
        format!("umask {mask:04o}: new files are {what}; 0027 or 0077 is safer"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "db-password",
            "API_KEY",
            "apiKey",
            "auth-token",
            "client_secret",
            "aws-secret-access-key",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "password-file",
            "token-path",
            "user",
            "verbose",
            "secret-env",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn args_are_judged_without_echoing() {
        let report = EnvironmentCheck::new()
            .args([
                "svc",
                "--password",
                "hunter2",
                "--token=abc",
                "--password-file=/run/secrets/pw",
                "--api-key=@/run/key",
                "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
                "--verbose",
            ])
            .run();
        let secret: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.code == "env.secret_in_args")
            .collect();
        assert_eq!(secret.len(), 3, "{report}");
        let text = report.to_string();
        assert!(!text.contains("hunter2") && !text.contains("abc") && !text.contains("ghp_"));
    }

    #[test]
    fn debug_checks_only_in_production() {
        let dev = EnvironmentCheck::new()
            .profile("dev")
            .rust_log(Some("debug"))
            .debug_setting("graphiql", true)
            .args(["svc"])
            .run();
        assert!(!dev.has("env.debug_logging") && !dev.has("env.debug_setting"));
        let prod = EnvironmentCheck::new()
            .profile("Production")
            .rust_log(Some("info,my_crate=trace"))
            .debug_setting("graphiql", true)
            .debug_setting("metrics", false)
            .args(["svc"])
            .run();
        assert!(prod.has("env.debug_logging"));
        assert_eq!(
            prod.findings
                .iter()
                .filter(|f| f.code == "env.debug_setting")
                .count(),
            1
        );
        assert_eq!(prod.has("env.debug_build"), cfg!(debug_assertions));
    }

    #[test]
    fn root_core_and_umask_reflect_the_process() {
        let report = EnvironmentCheck::new().args(["svc"]).run();
        assert_eq!(
            report.has("env.running_as_root"),
            rustix::process::geteuid().is_root()
        );
        let core = rustix::process::getrlimit(rustix::process::Resource::Core).current;
        assert_eq!(report.has("env.core_dumps_enabled"), core != Some(0));
        let mask = current_umask();
        assert_eq!(report.has("env.umask_world_writable"), mask & 0o002 == 0);
    }
}
