//! Configuration: `[workspace.metadata.pr-gates]` in the root `Cargo.toml`, or a `gates.toml` beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// The coverage threshold used when the configuration names none, in percent of lines.
pub const DEFAULT_COVERAGE_THRESHOLD: f64 = 80.0;

/// The name of the stand-alone configuration file at the workspace root.
pub const CONFIG_FILE: &str = "gates.toml";

/// The gates configuration of one workspace.
///
/// Read from the `[workspace.metadata.pr-gates]` table of the root `Cargo.toml`, or from a
/// `gates.toml` at the workspace root (the same keys at top level); having both is an error, so that
/// there is one place to look. Unknown keys are errors too, so a typo cannot silently disable a check.
///
/// ```toml
/// [workspace.metadata.pr-gates]
/// disabled = ["coverage"]          # gates that never run here
/// fast = ["fmt", "clippy", "tidy"] # what `--fast` runs (default: fmt, clippy, test, tidy)
/// time-budget-secs = 3600          # gates not started within the budget are skipped
///
/// [workspace.metadata.pr-gates.coverage]
/// threshold = 85.0                 # percent of lines, default 80
/// exclude = ["my-macros"]          # besides `publish = false` packages, always excluded
///
/// [workspace.metadata.pr-gates.tidy]
/// exclude = ["tests/fixtures"]     # paths (from the root) the text rules do not scan
/// disabled-rules = ["doc-comment"] # built-in rules that do not run here
/// commands = [{ name = "layering", command = ["cargo", "test", "-p", "xtask"] }]
///
/// [workspace.metadata.pr-gates.tools]
/// cargo-hack = "0.6.46"            # override a pinned tool version
///
/// [workspace.metadata.pr-gates.deny]
/// advisory-db = "/srv/advisory-dbs" # check advisories offline against this database
///
/// [workspace.metadata.pr-gates.system-tools] # programs the tests need, installed when missing
/// redis-server = { apt = "redis-server" }
/// check-jsonschema = { pip = "check-jsonschema==0.39.0" }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Config {
    /// Gates that never run in this workspace (reported as skipped, "disabled by configuration").
    pub disabled: Vec<String>,
    /// The gates `--fast` runs; `None` means fmt, clippy, test and tidy.
    pub fast: Option<Vec<String>>,
    /// Once this many seconds have passed, gates not yet started are skipped.
    pub time_budget_secs: Option<u64>,
    /// The coverage gate.
    pub coverage: CoverageConfig,
    /// The tidy gate.
    pub tidy: TidyConfig,
    /// Tool versions that override the pinned ones (`cargo-hack = "0.6.46"`).
    pub tools: BTreeMap<String, String>,
    /// The deny gate.
    pub deny: DenyConfig,
    /// Programs the gates and the tests need on `PATH` (by program name), and how to install each.
    pub system_tools: BTreeMap<String, SystemToolConfig>,
}

/// Configuration of the deny gate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DenyConfig {
    /// A local advisory database to check against offline instead of fetching the live one:
    /// cargo-deny's `db-path`, the folder that holds the database clone (`advisory-db-<hash>/`).
    /// Relative to the workspace root. [`Config::load`] takes the environment variable
    /// `PR_GATES_ADVISORY_DB` over it (relative to the current directory).
    pub advisory_db: Option<PathBuf>,
    /// Whether `advisory_db` came from `PR_GATES_ADVISORY_DB`, for messages.
    #[serde(skip)]
    pub(crate) advisory_db_from_env: bool,
}

/// The environment variable that names a local advisory database (cargo-deny's `db-path`); when
/// set and not empty, [`Config::load`] takes it over `[deny] advisory-db`.
pub const ADVISORY_DB_ENV: &str = "PR_GATES_ADVISORY_DB";

/// How to install one program the gates need when it is not on `PATH`: exactly one of the keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SystemToolConfig {
    /// The Debian package that holds it, installed with `apt-get install -y` as root or through
    /// `sudo -n`.
    pub apt: Option<String>,
    /// The PyPI requirement that holds it (`check-jsonschema`, or pinned `name==1.2.3`), installed
    /// into a virtual environment under the target directory.
    pub pip: Option<String>,
}

/// Configuration of the coverage gate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct CoverageConfig {
    /// The minimum line coverage, in percent, of the library crates together.
    pub threshold: f64,
    /// Packages left out of coverage, besides every `publish = false` package.
    pub exclude: Vec<String>,
    /// Per-test timeout handed to the coverage tool, in seconds.
    pub timeout_secs: Option<u64>,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_COVERAGE_THRESHOLD,
            exclude: Vec::new(),
            timeout_secs: None,
        }
    }
}

/// Configuration of the tidy gate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct TidyConfig {
    /// Paths, relative to the workspace root, that the text rules do not scan.
    pub exclude: Vec<String>,
    /// Built-in rules that do not run here ([`TIDY_RULES`](crate::TIDY_RULES) names them): how a
    /// workspace adopts the gates before it meets every rule (`gates init` writes it for the rules
    /// the workspace breaks).
    pub disabled_rules: Vec<String>,
    /// Extra commands the tidy gate runs after its built-in rules; each must exit with status 0.
    pub commands: Vec<TidyCommandConfig>,
}

/// An extra tidy command from the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TidyCommandConfig {
    /// A short name shown in the output.
    pub name: String,
    /// The program and its arguments, run from the workspace root.
    pub command: Vec<String>,
}

impl Config {
    /// Loads the configuration of the workspace whose root directory is `root`.
    ///
    /// Returns the default configuration when neither `[workspace.metadata.pr-gates]` nor
    /// `gates.toml` exists. A non-empty [`ADVISORY_DB_ENV`] in the environment replaces
    /// `deny.advisory-db`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file exists but cannot be read, [`Error::Config`] when it does not parse,
    /// has unknown keys or bad values, or when both places hold a configuration.
    pub fn load(root: &Path) -> Result<Self, Error> {
        let mut config = Self::load_files(root)?;
        config.apply_env(std::env::var_os(ADVISORY_DB_ENV))?;
        Ok(config)
    }

    /// The configuration from the files alone.
    fn load_files(root: &Path) -> Result<Self, Error> {
        let manifest = root.join("Cargo.toml");
        let from_manifest = match std::fs::read_to_string(&manifest) {
            Ok(text) => Self::from_manifest_str(&text, &manifest)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read", manifest, e)),
        };
        let file = root.join(CONFIG_FILE);
        let from_file = match std::fs::read_to_string(&file) {
            Ok(text) => Some(Self::from_toml_str(&text, &file)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read", file, e)),
        };
        match (from_manifest, from_file) {
            (Some(_), Some(_)) => Err(Error::Config {
                path: file,
                message: format!(
                    "configuration found both here and in [workspace.metadata.pr-gates] of {}; keep one",
                    manifest.display()
                ),
            }),
            (Some(config), None) | (None, Some(config)) => Ok(config),
            (None, None) => Ok(Self::default()),
        }
    }

    /// Takes `advisory_db`, the value of [`ADVISORY_DB_ENV`], over the files' setting: the
    /// environment names machine-local things (a CI runner's database snapshot) that do not belong
    /// in the committed configuration.
    fn apply_env(&mut self, advisory_db: Option<std::ffi::OsString>) -> Result<(), Error> {
        if let Some(path) = advisory_db.filter(|v| !v.is_empty()) {
            let path = PathBuf::from(path);
            let path = if path.is_absolute() {
                path
            } else {
                std::env::current_dir()
                    .map_err(|e| Error::io("read", ".", e))?
                    .join(path)
            };
            self.deny.advisory_db = Some(path);
            self.deny.advisory_db_from_env = true;
        }
        Ok(())
    }

    /// Parses a stand-alone `gates.toml`; `path` is only used in error messages.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the text does not parse, has unknown keys or bad values.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, Error> {
        let config: Self = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Reads `[workspace.metadata.pr-gates]` from the text of a root `Cargo.toml`; `None` when the
    /// table is absent. `path` is only used in error messages.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the manifest does not parse or the table has unknown keys or bad values.
    pub fn from_manifest_str(text: &str, path: &Path) -> Result<Option<Self>, Error> {
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let manifest: toml::Table =
            toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_owned()))?;
        let Some(table) = manifest
            .get("workspace")
            .and_then(|w| w.get("metadata"))
            .and_then(|m| m.get("pr-gates"))
        else {
            return Ok(None);
        };
        let config = Self::deserialize(table.clone()).map_err(|e| {
            bad(format!(
                "[workspace.metadata.pr-gates]: {}",
                e.to_string().trim_end()
            ))
        })?;
        config.validate(path)?;
        Ok(Some(config))
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        let mut problems = Vec::new();
        let threshold = self.coverage.threshold;
        if !(0.0..=100.0).contains(&threshold) {
            problems.push(format!(
                "coverage.threshold must be a percentage from 0 to 100, got {threshold}"
            ));
        }
        for (tool, version) in &self.tools {
            if version.trim().is_empty() {
                problems.push(format!(
                    "tools.{tool} must name a version, got an empty string"
                ));
            }
        }
        for (i, command) in self.tidy.commands.iter().enumerate() {
            if command.command.is_empty() {
                problems.push(format!(
                    "tidy.commands[{i}] (`{}`) has an empty command",
                    command.name
                ));
            }
        }
        for rule in &self.tidy.disabled_rules {
            if !crate::tidy::RULES.contains(&rule.as_str()) {
                problems.push(format!(
                    "tidy.disabled-rules names `{rule}`, which is no built-in tidy rule; known: {}",
                    crate::tidy::RULES.join(", ")
                ));
            }
        }
        for (name, tool) in &self.system_tools {
            match (&tool.apt, &tool.pip) {
                (Some(package), None) | (None, Some(package)) if !package.trim().is_empty() => {}
                (Some(_), Some(_)) => problems.push(format!(
                    "system-tools.{name} names both `apt` and `pip`; give one way to install it"
                )),
                _ => problems.push(format!(
                    "system-tools.{name} must name its package: `{{ apt = \"...\" }}` or `{{ pip = \"...\" }}`"
                )),
            }
        }
        if self
            .deny
            .advisory_db
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            problems.push("deny.advisory-db must be a path, got an empty string".to_owned());
        }
        if self.time_budget_secs == Some(0) {
            problems.push("time-budget-secs must be at least 1, got 0".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config {
                path: path.to_path_buf(),
                message: problems.join("; "),
            })
        }
    }
}

/// Where a configuration came from, for messages.
pub(crate) fn describe_source(root: &Path) -> PathBuf {
    let file = root.join(CONFIG_FILE);
    if file.is_file() {
        file
    } else {
        root.join("Cargo.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/ws/Cargo.toml")
    }

    #[test]
    fn absent_table_is_none() {
        let text = "[workspace]\nmembers = []\n";
        assert_eq!(Config::from_manifest_str(text, &p()).unwrap(), None);
    }

    #[test]
    fn manifest_table_is_read_however_it_is_spelt() {
        // Parsed as TOML, not scraped: dotted keys and inline tables name the same table.
        for text in [
            "[workspace.metadata.pr-gates]\ndisabled = [\"deny\"]\n",
            "[workspace]\nmetadata.pr-gates.disabled = [\"deny\"]\n",
            "[workspace.metadata]\npr-gates = { disabled = [\"deny\"] }\n",
            "workspace = { metadata = { pr-gates = { disabled = [\"deny\"] } } }\n",
        ] {
            let config = Config::from_manifest_str(text, &p()).unwrap();
            assert_eq!(
                config.map(|c| c.disabled),
                Some(vec!["deny".to_owned()]),
                "{text}"
            );
        }
    }

    #[test]
    fn manifest_table_is_read() {
        let text = r#"
[workspace]
members = []
[workspace.metadata.pr-gates]
disabled = ["coverage"]
time-budget-secs = 60
[workspace.metadata.pr-gates.coverage]
threshold = 91.5
exclude = ["macros"]
[workspace.metadata.pr-gates.tidy]
exclude = ["fixtures"]
commands = [{ name = "layering", command = ["cargo", "test", "-p", "xtask"] }]
[workspace.metadata.pr-gates.tools]
cargo-hack = "0.6.40"
[workspace.metadata.pr-gates.deny]
advisory-db = "../advisory-dbs"
[workspace.metadata.pr-gates.system-tools]
redis-server = { apt = "redis-server" }
check-jsonschema = { pip = "check-jsonschema" }
"#;
        let config = Config::from_manifest_str(text, &p()).unwrap().unwrap();
        assert_eq!(config.disabled, ["coverage"]);
        assert_eq!(config.time_budget_secs, Some(60));
        assert!((config.coverage.threshold - 91.5).abs() < f64::EPSILON);
        assert_eq!(config.coverage.exclude, ["macros"]);
        assert_eq!(config.tidy.exclude, ["fixtures"]);
        assert_eq!(config.tidy.commands[0].name, "layering");
        assert_eq!(
            config.tidy.commands[0].command,
            ["cargo", "test", "-p", "xtask"]
        );
        assert_eq!(config.tools["cargo-hack"], "0.6.40");
        assert_eq!(
            config.deny.advisory_db.as_deref(),
            Some(Path::new("../advisory-dbs"))
        );
        assert_eq!(
            config.system_tools["redis-server"].apt.as_deref(),
            Some("redis-server")
        );
        assert_eq!(
            config.system_tools["check-jsonschema"].pip.as_deref(),
            Some("check-jsonschema")
        );
    }

    #[test]
    fn the_environment_names_the_advisory_database_over_the_files() {
        let mut config =
            Config::from_toml_str("[deny]\nadvisory-db = \"dbs\"\n", Path::new("gates.toml"))
                .unwrap();
        config.apply_env(None).unwrap();
        config.apply_env(Some("".into())).unwrap();
        assert_eq!(config.deny.advisory_db.as_deref(), Some(Path::new("dbs")));
        assert!(!config.deny.advisory_db_from_env);
        config.apply_env(Some("/srv/dbs".into())).unwrap();
        assert_eq!(
            config.deny.advisory_db.as_deref(),
            Some(Path::new("/srv/dbs"))
        );
        assert!(config.deny.advisory_db_from_env);
        config.apply_env(Some("rel".into())).unwrap();
        let path = config.deny.advisory_db.unwrap();
        assert!(
            path.is_absolute() && path.ends_with("rel"),
            "{}",
            path.display()
        );
    }

    #[test]
    fn a_system_tool_needs_exactly_one_way_to_install() {
        let text = "[system-tools]\nboth = { apt = \"a\", pip = \"b\" }\nnone = {}\nblank = { apt = \" \" }\n";
        let err = Config::from_toml_str(text, Path::new("gates.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("system-tools.both names both"), "{err}");
        assert!(err.contains("system-tools.none must name"), "{err}");
        assert!(err.contains("system-tools.blank must name"), "{err}");
        let err = Config::from_toml_str(
            "[system-tools]\nx = { brew = \"x\" }\n",
            Path::new("gates.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("brew"), "{err}");
    }

    #[test]
    fn defaults_are_safe() {
        let config = Config::default();
        assert!((config.coverage.threshold - DEFAULT_COVERAGE_THRESHOLD).abs() < f64::EPSILON);
        assert!(config.disabled.is_empty());
        assert_eq!(config.fast, None);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it_and_the_file() {
        let text = "[workspace.metadata.pr-gates.coverage]\nthresold = 90\n";
        let err = Config::from_manifest_str(text, &p())
            .unwrap_err()
            .to_string();
        assert!(err.contains("thresold"), "{err}");
        assert!(err.contains("/ws/Cargo.toml"), "{err}");
        assert!(err.starts_with("invalid pr-gates configuration"), "{err}");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let text =
            "time-budget-secs = 0\n[coverage]\nthreshold = 120.0\n[tools]\ncargo-hack = \"\"\n";
        let err = Config::from_toml_str(text, Path::new("gates.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("coverage.threshold"), "{err}");
        assert!(err.contains("tools.cargo-hack"), "{err}");
        assert!(err.contains("time-budget-secs"), "{err}");
    }

    #[test]
    fn tidy_rules_are_disabled_by_their_built_in_names() {
        let text = "[tidy]\ndisabled-rules = [\"doc-comment\", \"markdown-links\"]\n";
        let config = Config::from_toml_str(text, Path::new("gates.toml")).unwrap();
        assert_eq!(
            config.tidy.disabled_rules,
            ["doc-comment", "markdown-links"]
        );
        let err = Config::from_toml_str(
            "[tidy]\ndisabled-rules = [\"doc-comments\"]\n",
            Path::new("gates.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`doc-comments`, which is no built-in tidy rule"),
            "{err}"
        );
        assert!(err.contains("known: doc-comment, forbidden-text"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = Config::from_toml_str("disabled = \"coverage\"\n", Path::new("gates.toml"))
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }));
    }

    #[test]
    fn empty_tidy_command_is_rejected() {
        let text = "[tidy]\ncommands = [{ name = \"x\", command = [] }]\n";
        let err = Config::from_toml_str(text, Path::new("gates.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tidy.commands[0]"), "{err}");
    }

    #[test]
    fn load_reads_either_place_but_not_both() {
        let dir = pr_test_support::temp_dir("gates-config-load");
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        assert_eq!(Config::load_files(dir.path()).unwrap(), Config::default());

        std::fs::write(dir.path().join("gates.toml"), "disabled = [\"deny\"]\n").unwrap();
        assert_eq!(Config::load(dir.path()).unwrap().disabled, ["deny"]);
        assert_eq!(describe_source(dir.path()), dir.path().join("gates.toml"));

        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = []\n[workspace.metadata.pr-gates]\ndisabled = []\n",
        )
        .unwrap();
        let err = Config::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("keep one"), "{err}");
    }
}
