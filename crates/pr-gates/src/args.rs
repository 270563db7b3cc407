//! The command line of `cargo xtask gates`, and which gates it selects.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::Error;

/// The usage text of `cargo xtask gates`.
pub const USAGE: &str = "\
usage: cargo xtask gates [OPTIONS]

Runs the quality gates, prints a table, and exits non-zero if any gate fails.

options:
  --only a,b              run only these gates
  --skip a,b              do not run these gates
  --fast                  run the quick subset (default: fmt, clippy, test, tidy)
  --changed-since REF     run the per-crate gates only for crates changed since the git REF
                          and the crates that depend on them
  --json PATH             also write a JSON report to PATH
  --junit PATH            also write a JUnit XML report to PATH
  --no-install            do not install missing system tools; report them and stop
  --list                  list the gates and exit
  -h, --help              show this text
";

/// The parsed command line of `cargo xtask gates`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Args {
    /// `--only`: run only these gates (empty: all).
    pub only: Vec<String>,
    /// `--skip`: do not run these gates.
    pub skip: Vec<String>,
    /// `--fast`: run only the fast set.
    pub fast: bool,
    /// `--changed-since`: a git ref; per-crate gates cover the crates changed since it.
    pub changed_since: Option<String>,
    /// `--json`: where to write the JSON report.
    pub json: Option<PathBuf>,
    /// `--junit`: where to write the `JUnit` XML report.
    pub junit: Option<PathBuf>,
    /// `--no-install`: report missing system tools instead of installing them.
    pub no_install: bool,
    /// `--list`: list the gates and exit.
    pub list: bool,
    /// `--help`.
    pub help: bool,
}

impl Args {
    /// Parses the arguments after `gates` (a leading `gates` is accepted and dropped).
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an unknown option, a missing value, or `--only` with `--fast`.
    pub fn parse<I, S>(args: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut parsed = Self::default();
        let mut args = args.into_iter().map(Into::into).peekable();
        if args.peek().is_some_and(|a| a == "gates") {
            args.next();
        }
        while let Some(arg) = args.next() {
            let arg = arg
                .into_string()
                .map_err(|a| usage(&a.to_string_lossy(), "not valid UTF-8"))?;
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = || -> Result<String, Error> {
                if let Some(v) = inline.clone() {
                    return Ok(v);
                }
                match args.next().map(OsString::into_string) {
                    Some(Ok(v)) if !v.starts_with("--") => Ok(v),
                    _ => Err(usage(&flag, "expects a value")),
                }
            };
            match flag.as_str() {
                "--only" => parsed.only.extend(split_list(&value()?)),
                "--skip" => parsed.skip.extend(split_list(&value()?)),
                "--changed-since" => parsed.changed_since = Some(value()?),
                "--json" => parsed.json = Some(PathBuf::from(value()?)),
                "--junit" => parsed.junit = Some(PathBuf::from(value()?)),
                "--fast" if inline.is_none() => parsed.fast = true,
                "--list" if inline.is_none() => parsed.list = true,
                "--no-install" if inline.is_none() => parsed.no_install = true,
                "-h" | "--help" if inline.is_none() => parsed.help = true,
                _ => return Err(usage(&arg, "unknown option; see --help")),
            }
        }
        if parsed.fast && !parsed.only.is_empty() {
            return Err(usage("--fast", "cannot be combined with --only"));
        }
        Ok(parsed)
    }
}

fn usage(arg: &str, reason: &str) -> Error {
    Error::Usage {
        arg: arg.to_owned(),
        reason: reason.to_owned(),
    }
}

fn split_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether a gate runs, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    Run,
    Skip(String),
}

/// Decides for each gate in `names` whether it runs.
///
/// `fast` is the `--fast` set, `disabled` the configuration's disabled list (`config_source` names
/// where it came from). Every name given must be a known gate.
pub(crate) fn select(
    names: &[&str],
    fast: &[String],
    disabled: &[String],
    config_source: &str,
    args: &Args,
) -> Result<Vec<Selection>, Error> {
    let known = || names.join(", ");
    let check = |list: &[String], source: &str| -> Result<(), Error> {
        match list.iter().find(|n| !names.contains(&n.as_str())) {
            Some(name) => Err(Error::UnknownGate {
                name: name.clone(),
                source_name: source.to_owned(),
                known: known(),
            }),
            None => Ok(()),
        }
    };
    check(&args.only, "--only")?;
    check(&args.skip, "--skip")?;
    check(disabled, &format!("`disabled` of {config_source}"))?;
    check(fast, &format!("`fast` of {config_source}"))?;
    Ok(names
        .iter()
        .map(|name| {
            let has = |list: &[String]| list.iter().any(|n| n == name);
            if has(disabled) {
                Selection::Skip(format!("disabled in {config_source}"))
            } else if !args.only.is_empty() && !has(&args.only) {
                Selection::Skip("not in --only".to_owned())
            } else if has(&args.skip) {
                Selection::Skip("--skip".to_owned())
            } else if args.fast && !has(fast) {
                Selection::Skip("not in --fast".to_owned())
            } else {
                Selection::Run
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, Error> {
        Args::parse(args.iter().copied())
    }

    const NAMES: &[&str] = &["fmt", "clippy", "test", "docs", "tidy"];

    fn fast() -> Vec<String> {
        vec![
            "fmt".to_owned(),
            "clippy".to_owned(),
            "test".to_owned(),
            "tidy".to_owned(),
        ]
    }

    #[test]
    fn empty_and_subcommand() {
        assert_eq!(parse(&[]).unwrap(), Args::default());
        assert_eq!(parse(&["gates"]).unwrap(), Args::default());
    }

    #[test]
    fn lists_in_both_spellings_and_repeated() {
        let args = parse(&[
            "gates",
            "--only",
            "fmt,tidy",
            "--only=clippy",
            "--skip",
            " docs , ",
        ])
        .unwrap();
        assert_eq!(args.only, ["fmt", "tidy", "clippy"]);
        assert_eq!(args.skip, ["docs"]);
    }

    #[test]
    fn flags_and_values() {
        let args = parse(&[
            "--fast",
            "--json",
            "r.json",
            "--junit=r.xml",
            "--changed-since",
            "main",
            "--list",
            "-h",
        ])
        .unwrap();
        assert!(args.fast && args.list && args.help);
        assert_eq!(args.json, Some(PathBuf::from("r.json")));
        assert_eq!(args.junit, Some(PathBuf::from("r.xml")));
        assert_eq!(args.changed_since.as_deref(), Some("main"));
    }

    #[test]
    fn bad_command_lines() {
        let err = parse(&["--frobnicate"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid command line argument `--frobnicate`: unknown option; see --help"
        );
        let err = parse(&["--only"]).unwrap_err().to_string();
        assert!(err.contains("`--only`: expects a value"), "{err}");
        let err = parse(&["--only", "--fast"]).unwrap_err().to_string();
        assert!(err.contains("expects a value"), "{err}");
        let err = parse(&["--fast", "--only", "fmt"]).unwrap_err().to_string();
        assert!(err.contains("cannot be combined"), "{err}");
        assert!(parse(&["--fast=yes"]).is_err());
    }

    #[test]
    fn selection_all_by_default() {
        let sel = select(NAMES, &fast(), &[], "Cargo.toml", &Args::default()).unwrap();
        assert!(sel.iter().all(|s| *s == Selection::Run));
    }

    #[test]
    fn selection_only_skip_fast_disabled() {
        let args = parse(&["--only", "fmt,docs", "--skip", "docs"]).unwrap();
        let sel = select(NAMES, &fast(), &[], "Cargo.toml", &args).unwrap();
        assert_eq!(sel[0], Selection::Run);
        assert_eq!(sel[1], Selection::Skip("not in --only".to_owned()));
        assert_eq!(sel[3], Selection::Skip("--skip".to_owned()));

        let args = parse(&["--fast"]).unwrap();
        let sel = select(NAMES, &fast(), &["clippy".to_owned()], "Cargo.toml", &args).unwrap();
        assert_eq!(sel[1], Selection::Skip("disabled in Cargo.toml".to_owned()));
        assert_eq!(sel[2], Selection::Run);
        assert_eq!(sel[3], Selection::Skip("not in --fast".to_owned()));
        assert_eq!(sel[4], Selection::Run);
    }

    #[test]
    fn unknown_gate_names_are_errors() {
        let args = parse(&["--skip", "fmt,lint"]).unwrap();
        let err = select(NAMES, &fast(), &[], "Cargo.toml", &args)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown gate `lint` in --skip; known gates: fmt, clippy, test, docs, tidy"
        );
        let err = select(
            NAMES,
            &fast(),
            &["cov".to_owned()],
            "gates.toml",
            &Args::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`disabled` of gates.toml"), "{err}");
    }
}
