//! System tools: programs outside cargo that the gates and the tests need (a Redis server,
//! promtool, a schema checker), named in `[system-tools]` of the configuration.
//!
//! Before the first gate that runs the project's own code (the tests, coverage, benches, tidy
//! commands, the project's own gates), each program is looked up on `PATH`. Missing Debian packages
//! are installed with `apt-get` as root or through `sudo -n`; missing PyPI tools go into a virtual
//! environment under the target directory, whose `bin/` then comes first on the `PATH` of every
//! command the gates run. What cannot be installed stops the gates at once with one message listing
//! each program and how to install it, rather than failing deep inside a test later.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::step::{Step, TAIL_LINES};
use crate::{Config, Error, SystemToolConfig, Workspace};

/// The built-in gates that never run the project's code, so never need its system tools.
const GATES_WITHOUT_SYSTEM_TOOLS: &[&str] =
    &["fmt", "clippy", "docs", "features", "deny", "package"];

/// Whether running the gate `name` needs the system tools.
pub(crate) fn gate_needs_tools(name: &str) -> bool {
    !GATES_WITHOUT_SYSTEM_TOOLS.contains(&name)
}

/// The virtual environment PyPI tools are installed into.
pub(crate) fn venv_dir(workspace: &Workspace) -> PathBuf {
    workspace.target_dir().join("pr-gates").join("venv")
}

/// What [`prepare`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// The `PATH` the gates' commands should get (`None`: the process's own).
    pub(crate) path: Option<OsString>,
    /// The tools it installed (empty when every one was there).
    pub(crate) installed: Vec<String>,
}

/// Makes sure every configured system tool is on the returned `PATH`, installing missing ones
/// unless `install` is false.
///
/// # Errors
///
/// [`Error::SystemTools`] listing what is still missing.
pub(crate) fn prepare(
    workspace: &Workspace,
    config: &Config,
    install: bool,
    log: &mut dyn Write,
) -> Result<Prepared, Error> {
    let tools = &config.system_tools;
    if tools.is_empty() {
        return Ok(Prepared::default());
    }
    let venv = venv_dir(workspace);
    let uses_pip = tools.values().any(|t| t.pip.is_some());
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path = if uses_pip {
        let dirs = std::iter::once(venv.join("bin")).chain(std::env::split_paths(&inherited));
        Some(std::env::join_paths(dirs).map_err(|e| Error::SystemTools {
            missing: vec![format!("cannot put {} on PATH: {e}", venv.display())],
        })?)
    } else {
        None
    };
    let search = path.clone().or_else(|| std::env::var_os("PATH"));
    let missing = |search: &Option<OsString>| -> Vec<(&String, &SystemToolConfig)> {
        tools
            .iter()
            .filter(|(name, _)| find_program(name, search.as_deref()).is_none())
            .collect()
    };
    let first = missing(&search);
    if first.is_empty() {
        return Ok(Prepared {
            path,
            installed: Vec::new(),
        });
    }
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    let _ = writeln!(log, "==> system tools missing: {}", names.join(", "));
    let mut failures: Vec<String> = Vec::new();
    if install {
        let root = workspace.root();
        let apt: Vec<&str> = first.iter().filter_map(|(_, t)| t.apt.as_deref()).collect();
        let pip: Vec<&str> = first.iter().filter_map(|(_, t)| t.pip.as_deref()).collect();
        if !apt.is_empty()
            && let Err(e) = apt_install(root, &apt, log)
        {
            failures.push(e);
        }
        if !pip.is_empty()
            && let Err(e) = pip_install(root, &venv, &pip, log)
        {
            failures.push(e);
        }
    } else {
        failures.push("not installed: --no-install".to_owned());
    }
    let still = missing(&search);
    if still.is_empty() {
        let _ = writeln!(log, "<== system tools installed: {}", names.join(", "));
        return Ok(Prepared {
            path,
            installed: names.iter().map(|n| (*n).to_owned()).collect(),
        });
    }
    let why = if failures.is_empty() {
        String::new()
    } else {
        format!(" ({})", failures.join("; "))
    };
    Err(Error::SystemTools {
        missing: still
            .iter()
            .map(|(name, tool)| format!("{name}: {}{why}", how_to_install(tool, &venv)))
            .collect(),
    })
}

/// What a person runs to install `tool`.
fn how_to_install(tool: &SystemToolConfig, venv: &Path) -> String {
    match (&tool.apt, &tool.pip) {
        (Some(package), _) => {
            format!("install the Debian package `{package}` (`sudo apt-get install -y {package}`)")
        }
        (None, Some(requirement)) => format!(
            "install the PyPI package `{requirement}` (`python3 -m venv {v} && {v}/bin/pip install '{requirement}'`)",
            v = venv.display()
        ),
        (None, None) => "no way to install it is configured".to_owned(),
    }
}

/// The file `name` names on `search` (a `PATH` value), when it is there and executable.
pub(crate) fn find_program(name: &str, search: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(search?)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The command prefix that runs a command as root: none when we are root, `sudo -n` when it
/// works without a password; `None` when neither.
fn as_root(root: &Path) -> Option<Vec<&'static str>> {
    let quiet = |step: Step| {
        step.run(root, &mut std::io::sink())
            .ok()
            .filter(|out| out.success)
    };
    let uid = quiet(Step::new("id").arg("-u"))?;
    if uid.output.trim() == "0" {
        return Some(Vec::new());
    }
    quiet(Step::new("sudo").args(["-n", "true"])).map(|_| vec!["sudo", "-n"])
}

/// Runs `command` (a program and its arguments) with the root prefix, echoing to `log`.
fn run_logged(root: &Path, command: &[&str], log: &mut dyn Write) -> Result<(), String> {
    let Some((program, args)) = command.split_first() else {
        return Ok(());
    };
    let step = Step::new(program).args(args).echo(true);
    let _ = writeln!(log, "  $ {}", step.display());
    let out = step.run(root, log).map_err(|e| e.to_string())?;
    if out.success {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            out.command,
            out.status,
            out.tail(TAIL_LINES.min(3)).join(" / ")
        ))
    }
}

/// `apt-get update` then `apt-get install -y packages`, as root.
fn apt_install(root: &Path, packages: &[&str], log: &mut dyn Write) -> Result<(), String> {
    if find_program("apt-get", std::env::var_os("PATH").as_deref()).is_none() {
        return Err("apt-get is not available here".to_owned());
    }
    let Some(prefix) = as_root(root) else {
        return Err("installing Debian packages needs root or password-less sudo".to_owned());
    };
    let apt = |args: &[&'static str]| -> Vec<&'static str> {
        let mut command = prefix.clone();
        command.extend(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        command.extend(args);
        command
    };
    run_logged(root, &apt(&["update", "-q"]), log)?;
    let mut install: Vec<&str> = apt(&["install", "-y", "-q"]);
    install.extend(packages);
    run_logged(root, &install, log)
}

/// `pip install requirements` into the virtual environment `venv`, making it first when needed
/// (and Debian's `python3-venv` when the interpreter lacks the venv module and we may install it).
fn pip_install(
    root: &Path,
    venv: &Path,
    requirements: &[&str],
    log: &mut dyn Write,
) -> Result<(), String> {
    let pip = venv.join("bin").join("pip");
    if !pip.is_file() {
        let venv_text = venv.display().to_string();
        let make = ["python3", "-m", "venv", venv_text.as_str()];
        if run_logged(root, &make, log).is_err() {
            // Debian ships the venv module separately; a half-made environment must go first.
            let _ = std::fs::remove_dir_all(venv);
            apt_install(root, &["python3-venv"], log)
                .map_err(|e| format!("python3 -m venv failed, and python3-venv: {e}"))?;
            run_logged(root, &make, log)?;
        }
    }
    let pip_text = pip.display().to_string();
    let mut command = vec![
        pip_text.as_str(),
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ];
    command.extend(requirements);
    run_logged(root, &command, log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gates_that_run_project_code_need_tools() {
        for gate in ["test", "coverage", "bench", "tidy", "my-own-gate"] {
            assert!(gate_needs_tools(gate), "{gate}");
        }
        for gate in ["fmt", "clippy", "docs", "features", "deny", "package"] {
            assert!(!gate_needs_tools(gate), "{gate}");
        }
    }

    #[test]
    fn programs_are_found_only_when_executable() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = pr_test_support::temp_dir("gates-find-program");
        let exe = dir.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let search = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_program("tool", Some(&search)), None);
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_program("tool", Some(&search)), Some(exe));
        assert_eq!(find_program("tool", None), None);
        assert!(find_program("sh", std::env::var_os("PATH").as_deref()).is_some());
    }

    #[test]
    fn install_hints_name_the_package_and_command() {
        let apt = SystemToolConfig {
            apt: Some("redis-server".to_owned()),
            pip: None,
        };
        assert_eq!(
            how_to_install(&apt, Path::new("/t/venv")),
            "install the Debian package `redis-server` (`sudo apt-get install -y redis-server`)"
        );
        let pip = SystemToolConfig {
            apt: None,
            pip: Some("check-jsonschema".to_owned()),
        };
        assert!(
            how_to_install(&pip, Path::new("/t/venv"))
                .contains("/t/venv/bin/pip install 'check-jsonschema'")
        );
    }
}
