//! The command line of `cargo xtask gates` (read with `lexopt`, so `--opt value`, `--opt=value` and
//! `--` behave as in other tools), and which gates it selects.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::Error;

/// The usage text of `cargo xtask gates`.
pub const USAGE: &str = "\
usage: cargo xtask gates [OPTIONS]
       cargo xtask gates --install-tools [--only a,b | --skip a,b | --fast]
       cargo xtask gates init [--pr-gates-path PATH]

Runs the quality gates, prints a table, and exits non-zero if any gate fails.

`--install-tools` installs the tools the gates need (cargo tools at their pinned versions, the
configured system tools) and runs no gate. `init` writes what a workspace needs to run the gates
(deny.toml, the xtask crate and its cargo alias, a CI workflow), never over an existing file;
`--pr-gates-path` makes the xtask take pr-gates from a local checkout instead of crates.io.

options:
  --only a,b              run only these gates
  --skip a,b              do not run these gates
  --fast                  run the quick subset (default: fmt, clippy, test, tidy)
  --changed-since REF     run the per-crate gates only for crates changed since the git REF
                          and the crates that depend on them
  --json PATH             also write a JSON report to PATH
  --junit PATH            also write a JUnit XML report to PATH
  --no-install            do not install missing system tools; report them and stop
  --install-tools         install the tools the selected gates need, then exit
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
    /// `--install-tools`: install the tools the selected gates need, run no gate.
    pub install_tools: bool,
    /// `init`: write the starter files of an adopting workspace instead of running the gates.
    pub init: bool,
    /// `--pr-gates-path` (with `init`): the xtask depends on pr-gates at this path.
    pub pr_gates_path: Option<PathBuf>,
    /// `--list`: list the gates and exit.
    pub list: bool,
    /// `--help`.
    pub help: bool,
}

impl Args {
    /// Parses the arguments after `gates` (a leading `gates` is accepted and dropped).
    ///
    /// Values follow their option as `--only a,b` or `--only=a,b`; a list option may be repeated.
    /// The one operand is `init`, first; `--` ends the options, and nothing but `init` may follow.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an unknown option, a missing value, `--only` with `--fast`, or options
    /// that do not go together (`init` takes only `--pr-gates-path`; `--install-tools` only the
    /// selection of gates).
    pub fn parse<I, S>(args: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        use lexopt::Arg::{Long, Short, Value};

        let mut args = args.into_iter().map(Into::into).peekable();
        if args.peek().is_some_and(|a| a == "gates") {
            args.next();
        }
        let mut parser = lexopt::Parser::from_args(args);
        let mut parsed = Self::default();
        let mut first = true;
        // The options given, as written, to say which do not go with `init` or `--install-tools`.
        let mut given: Vec<&'static str> = Vec::new();
        while let Some(arg) = parser.next().map_err(usage_of)? {
            let at_start = std::mem::replace(&mut first, false);
            if let Long(name) = &arg {
                given.extend(KNOWN.iter().find(|k| &k[2..] == *name));
            }
            match arg {
                Value(v) if at_start && v == "init" => parsed.init = true,
                Long("pr-gates-path") => {
                    parsed.pr_gates_path = Some(value(&mut parser, "--pr-gates-path")?.into());
                }
                Long("install-tools") => parsed.install_tools = true,
                Long("only") => parsed
                    .only
                    .extend(split_list(&text_value(&mut parser, "--only")?)),
                Long("skip") => parsed
                    .skip
                    .extend(split_list(&text_value(&mut parser, "--skip")?)),
                Long("changed-since") => {
                    parsed.changed_since = Some(text_value(&mut parser, "--changed-since")?);
                }
                // Paths need not be UTF-8.
                Long("json") => parsed.json = Some(value(&mut parser, "--json")?.into()),
                Long("junit") => parsed.junit = Some(value(&mut parser, "--junit")?.into()),
                Long("fast") => parsed.fast = true,
                Long("list") => parsed.list = true,
                Long("no-install") => parsed.no_install = true,
                Short('h') | Long("help") => parsed.help = true,
                Long(name) => {
                    let flag = format!("--{name}");
                    // Name the argument as it was written, `--name=value` included.
                    let shown = match parser.optional_value() {
                        Some(v) => format!("{flag}={}", v.to_string_lossy()),
                        None => flag,
                    };
                    return Err(usage(&shown, UNKNOWN));
                }
                Short(c) => return Err(usage(&format!("-{c}"), UNKNOWN)),
                Value(v) => return Err(usage(&v.to_string_lossy(), UNKNOWN)),
            }
        }
        if parsed.fast && !parsed.only.is_empty() {
            return Err(usage("--fast", "cannot be combined with --only"));
        }
        if parsed.init {
            if let Some(other) = given
                .iter()
                .find(|g| !["--pr-gates-path", "--help"].contains(g))
            {
                return Err(usage(other, "does not apply to `init`"));
            }
        } else if parsed.pr_gates_path.is_some() {
            return Err(usage("--pr-gates-path", "applies to `init` only"));
        }
        if parsed.install_tools {
            let allowed = ["--install-tools", "--only", "--skip", "--fast", "--help"];
            if let Some(other) = given.iter().find(|g| !allowed.contains(g)) {
                return Err(usage(other, "does not apply to --install-tools"));
            }
        }
        Ok(parsed)
    }
}

/// The long options, for saying which one does not go with another.
const KNOWN: &[&str] = &[
    "--only",
    "--skip",
    "--fast",
    "--changed-since",
    "--json",
    "--junit",
    "--no-install",
    "--install-tools",
    "--pr-gates-path",
    "--list",
    "--help",
];

/// The reason given for an argument that is not one of ours.
const UNKNOWN: &str = "unknown option; see --help";

/// The value of the option `flag` just read: `--flag=value` or the next argument, which must not
/// look like a long option (`--only --fast` is a forgotten value, not a gate named `--fast`).
fn value(parser: &mut lexopt::Parser, flag: &str) -> Result<OsString, Error> {
    if let Some(inline) = parser.optional_value() {
        return Ok(inline);
    }
    match parser.value() {
        Ok(v) if !v.as_encoded_bytes().starts_with(b"--") => Ok(v),
        _ => Err(usage(flag, "expects a value")),
    }
}

/// [`value`], which must be UTF-8 (gate names, git refs).
fn text_value(parser: &mut lexopt::Parser, flag: &str) -> Result<String, Error> {
    value(parser, flag)?.into_string().map_err(|v| {
        usage(
            &format!("{flag} {}", v.to_string_lossy()),
            "not valid UTF-8",
        )
    })
}

/// Our wording of what lexopt rejects on its own.
fn usage_of(error: lexopt::Error) -> Error {
    match error {
        // `--fast=yes`: a flag given a value is not an option we know.
        lexopt::Error::UnexpectedValue { option, value } => {
            usage(&format!("{option}={}", value.to_string_lossy()), UNKNOWN)
        }
        lexopt::Error::MissingValue {
            option: Some(option),
        } => usage(&option, "expects a value"),
        lexopt::Error::NonUnicodeValue(v) => usage(&v.to_string_lossy(), "not valid UTF-8"),
        other => usage(&other.to_string(), UNKNOWN),
    }
}

fn usage(arg: &str, reason: &str) -> Error {
    Error::Usage {
        arg: arg.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The names of a comma-separated list, trimmed; empty items are dropped, so `--only ""` (or
/// `--only ,`) selects nothing and leaves every gate to run, as no `--only` at all does.
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
    fn unknown_arguments_are_named_as_written() {
        let err = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(
            err(&["--frobnicate=1"]),
            "invalid command line argument `--frobnicate=1`: unknown option; see --help"
        );
        assert_eq!(
            err(&["--fast=yes"]),
            "invalid command line argument `--fast=yes`: unknown option; see --help"
        );
        assert!(err(&["-x"]).contains("`-x`: unknown option"));
        assert!(err(&["-h=1"]).contains("`-h=1`: unknown option"));
        // An operand, or a second `gates`: the gates take none.
        assert!(err(&["fmt"]).contains("`fmt`: unknown option"));
        assert!(err(&["gates", "gates"]).contains("`gates`: unknown option"));
        // After `--` everything is an operand, so even a known option is refused.
        assert!(err(&["--", "--fast"]).contains("`--fast`: unknown option"));
        assert_eq!(parse(&["gates", "--"]).unwrap(), Args::default());
    }

    #[test]
    fn every_value_option_names_itself_when_its_value_is_missing() {
        for flag in ["--only", "--skip", "--changed-since", "--json", "--junit"] {
            let err = parse(&[flag]).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("invalid command line argument `{flag}`: expects a value")
            );
            let err = parse(&[flag, "--list"]).unwrap_err().to_string();
            assert!(err.contains(&format!("`{flag}`: expects a value")), "{err}");
        }
        // A value that merely starts with one dash is a value.
        let args = parse(&["--json", "-", "--changed-since", "-x"]).unwrap();
        assert_eq!(args.json, Some(PathBuf::from("-")));
        assert_eq!(args.changed_since.as_deref(), Some("-x"));
        // `=` binds whatever follows, dashes included.
        let args = parse(&["--changed-since=--weird"]).unwrap();
        assert_eq!(args.changed_since.as_deref(), Some("--weird"));
    }

    #[test]
    fn an_empty_only_list_selects_nothing_and_every_gate_runs() {
        for args in [&["--only", ""][..], &["--only="], &["--only", " , "]] {
            let parsed = parse(args).unwrap();
            assert!(parsed.only.is_empty(), "{args:?}");
            let sel = select(NAMES, &fast(), &[], "Cargo.toml", &parsed).unwrap();
            assert!(sel.iter().all(|s| *s == Selection::Run), "{args:?}");
        }
        // So it does not clash with `--fast` either.
        assert!(parse(&["--fast", "--only", ""]).unwrap().fast);
    }

    #[cfg(unix)]
    #[test]
    fn paths_may_be_any_bytes_but_names_must_be_utf8() {
        use std::os::unix::ffi::OsStringExt as _;
        let bad = || OsString::from_vec(b"r\xff.json".to_vec());
        let args = Args::parse([OsString::from("--json"), bad()]).unwrap();
        assert_eq!(args.json, Some(PathBuf::from(bad())));
        let err = Args::parse([OsString::from("--only"), bad()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
        let err = Args::parse([bad()]).unwrap_err().to_string();
        assert!(err.contains("unknown option"), "{err}");
    }

    #[test]
    fn init_is_the_one_operand_and_takes_only_its_path() {
        let args = parse(&["gates", "init"]).unwrap();
        assert!(args.init && args.pr_gates_path.is_none());
        let args = parse(&["init", "--pr-gates-path", "../pr/crates/pr-gates"]).unwrap();
        assert_eq!(
            args.pr_gates_path,
            Some(PathBuf::from("../pr/crates/pr-gates"))
        );
        assert!(parse(&["init", "-h"]).unwrap().help);
        let err = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(
            err(&["init", "--fast"]),
            "invalid command line argument `--fast`: does not apply to `init`"
        );
        assert!(err(&["init", "--only=fmt"]).contains("`--only`: does not apply to `init`"));
        assert!(err(&["--fast", "init"]).contains("`init`: unknown option"));
        assert!(err(&["init", "init"]).contains("`init`: unknown option"));
        assert_eq!(
            err(&["--pr-gates-path", "x"]),
            "invalid command line argument `--pr-gates-path`: applies to `init` only"
        );
    }

    #[test]
    fn install_tools_takes_the_selection_of_gates_only() {
        let args = parse(&["--install-tools", "--skip", "coverage"]).unwrap();
        assert!(args.install_tools && !args.init);
        assert_eq!(args.skip, ["coverage"]);
        assert!(parse(&["--install-tools", "--fast"]).unwrap().fast);
        for other in [&["--json", "r.json"][..], &["--no-install"], &["--list"]] {
            let mut list = vec!["--install-tools"];
            list.extend_from_slice(other);
            let err = parse(&list).unwrap_err().to_string();
            assert!(
                err.ends_with(&format!(
                    "`{}`: does not apply to --install-tools",
                    other[0]
                )),
                "{err}"
            );
        }
        assert!(parse(&["init", "--install-tools"]).is_err());
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
