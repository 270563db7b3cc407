//! Layers, precedence, formats, profiles, env, `.env`, overrides, problems.

use std::os::unix::fs::PermissionsExt;

use pr_config::{
    ByteSize, ConfigLoader, Duration, SecretFilePolicy, SecretString, Source, Validate, Validator,
};
use pr_errors::CodedError;
use serde::{Deserialize, Serialize};

use pr_test_support::temp_dir;

use crate::{load_file, write};

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(default)]
struct Config {
    name: String,
    port: u16,
    timeout: Duration,
    cache: ByteSize,
    database: Database,
    tags: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(default)]
struct Database {
    url: String,
    max_connections: u32,
    min_connections: u32,
    password: SecretString,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: "svc".into(),
            port: 8080,
            timeout: Duration::from_secs(30),
            cache: ByteSize::mib(64),
            database: Database::default(),
            tags: Vec::new(),
        }
    }
}

impl Default for Database {
    fn default() -> Self {
        Self {
            url: "postgres://localhost/app".into(),
            max_connections: 10,
            min_connections: 1,
            password: SecretString::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self, v: &mut Validator) {
        v.range("port", &self.port, &(1..=65535));
        v.nested("database", &self.database);
    }
}

impl Validate for Database {
    fn validate(&self, v: &mut Validator) {
        v.check(
            self.min_connections <= self.max_connections,
            "min_connections",
            "must not be greater than `max_connections`",
        );
    }
}

fn builder() -> pr_config::ConfigLoaderBuilder<Config> {
    ConfigLoader::<Config>::builder()
        .env_prefix("APP")
        .env_vars(Vec::<(String, String)>::new())
}

#[test]
fn defaults_only() {
    let loaded = builder().build().load().unwrap();
    assert_eq!(loaded.config, Config::default());
    let entry = loaded.explain().entry("port").unwrap();
    assert_eq!(entry.source, Source::Default);
    assert!(entry.shadowed.is_empty());
}

#[test]
fn precedence_default_file_profile_dotenv_env_override() {
    let dir = temp_dir("config-prec");
    let file = write(
        dir.path(),
        "app.toml",
        "name = \"from-file\"\nport = 1000\ntimeout = \"5s\"\ncache = \"1GiB\"\n\n[database]\nmax_connections = 20\n",
    );
    write(
        dir.path(),
        "app.production.toml",
        "port = 2000\n[database]\nmin_connections = 2\n",
    );
    let dotenv = write(
        dir.path(),
        ".env",
        "APP__PORT=3000\nAPP__DATABASE__URL=postgres://dotenv/db\nAPP__NAME=dotenv\n",
    );
    let loaded = ConfigLoader::<Config>::builder()
        .file(&file)
        .dotenv(&dotenv)
        .env_prefix("APP")
        .env_vars([
            ("APP_PROFILE", "production"),
            ("APP__PORT", "4000"),
            ("APP__NAME", "env"),
        ])
        .set("name", "override")
        .build()
        .load()
        .unwrap();
    let c = &loaded.config;
    assert_eq!(loaded.profile.as_deref(), Some("production"));
    assert_eq!(c.name, "override");
    assert_eq!(c.port, 4000);
    assert_eq!(c.timeout.as_std(), std::time::Duration::from_secs(5));
    assert_eq!(c.cache.as_u64(), 1 << 30);
    assert_eq!(c.database.url, "postgres://dotenv/db");
    assert_eq!(c.database.max_connections, 20);
    assert_eq!(c.database.min_connections, 2);

    let explain = loaded.explain();
    let port = explain.entry("port").unwrap();
    assert_eq!(port.value, "4000");
    assert_eq!(
        port.source,
        Source::Env {
            name: "APP__PORT".into()
        }
    );
    assert_eq!(port.shadowed.len(), 4, "{port:?}"); // default, file, profile file, .env
    assert_eq!(
        port.shadowed[1],
        Source::File {
            path: file.clone(),
            line: Some(2)
        }
    );
    assert!(matches!(
        &port.shadowed[3],
        Source::DotEnv { line: Some(1), .. }
    ));
    let min = explain.entry("database.min_connections").unwrap();
    assert!(
        matches!(&min.source, Source::File { path, line: Some(3) } if path.ends_with("app.production.toml"))
    );
    assert_eq!(explain.entry("name").unwrap().source, Source::Override);
    let text = explain.to_string();
    assert!(
        text.contains("port = 4000  # from env var APP__PORT, shadowing default, file"),
        "{text}"
    );
}

#[test]
fn profile_from_builder_and_missing_profile_file_is_fine() {
    let dir = temp_dir("config-profile");
    let file = write(dir.path(), "app.toml", "port = 1\n");
    let loaded = builder()
        .file(&file)
        .profile("staging")
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config.port, 1);
    assert_eq!(loaded.profile.as_deref(), Some("staging"));
}

#[test]
fn json_files_and_optional_files() {
    let dir = temp_dir("config-json");
    let json = write(
        dir.path(),
        "app.json",
        r#"{"port": 7000, "database": {"url": "x://y"}, "tags": ["a", "b"]}"#,
    );
    let loaded = builder()
        .file(&json)
        .optional_file(dir.path().join("absent.toml"))
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config.port, 7000);
    assert_eq!(loaded.config.tags, ["a", "b"]);
    assert_eq!(loaded.config.database.url, "x://y");
}

#[test]
fn missing_required_file_and_syntax_errors_are_problems() {
    let dir = temp_dir("config-missing");
    let bad = write(dir.path(), "bad.toml", "port = 1\npassword = \"hunter2\n");
    let err = builder()
        .file(dir.path().join("absent.toml"))
        .file(&bad)
        .build()
        .load()
        .unwrap_err();
    assert_eq!(err.code().as_str(), "config.invalid");
    let codes: Vec<_> = err.problems().iter().map(|p| p.code().as_str()).collect();
    assert_eq!(codes, ["config.file_missing", "config.parse_failed"]);
    assert_eq!(
        err.problems()[1].source,
        Source::File {
            path: bad,
            line: Some(2)
        }
    );
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn every_problem_at_once_with_its_source_and_no_value() {
    let dir = temp_dir("config-many");
    let file = write(
        dir.path(),
        "app.toml",
        "name = \"ok\"\nport = \"eighty\"\n\n[database]\nmax_connections = 1\nmin_connections = 5\nmax_conections = 3\npassword = 12345\n",
    );
    let err = builder()
        .file(&file)
        .env_vars([("APP__TIMEOUT", "thirty seconds"), ("APP__CACHE", "lots")])
        .build()
        .load()
        .unwrap_err();
    let problems = err.problems();
    let find = |key: &str| {
        problems
            .iter()
            .find(|p| p.key == key)
            .unwrap_or_else(|| panic!("{key}: {err}"))
    };
    let port = find("port");
    assert_eq!(port.code().as_str(), "config.invalid_type");
    assert_eq!(
        port.source,
        Source::File {
            path: file.clone(),
            line: Some(2)
        }
    );
    assert!(
        port.message.contains("expected u16, found a string"),
        "{}",
        port.message
    );
    let timeout = find("timeout");
    assert_eq!(timeout.code().as_str(), "config.invalid_value");
    assert_eq!(
        timeout.source,
        Source::Env {
            name: "APP__TIMEOUT".into()
        }
    );
    assert_eq!(
        find("cache").source,
        Source::Env {
            name: "APP__CACHE".into()
        }
    );
    let min = find("database.min_connections");
    assert_eq!(min.code().as_str(), "config.validation_failed");
    assert_eq!(
        min.source,
        Source::File {
            path: file.clone(),
            line: Some(6)
        }
    );
    let password = find("database.password");
    assert_eq!(password.code().as_str(), "config.invalid_type");
    assert_eq!(problems.len(), 5, "{err}");
    let text = err.to_string();
    for value in ["eighty", "thirty seconds", "lots", "12345"] {
        assert!(!text.contains(value), "{value} leaked: {text}");
    }
}

#[test]
fn unknown_keys_warn_with_suggestion_or_fail_in_strict_mode() {
    let dir = temp_dir("config-unknown");
    let file = write(dir.path(), "app.toml", "[database]\nmax_conections = 3\n");
    let loaded = builder()
        .file(&file)
        .env_vars([("APP__PROT", "1")])
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    let w = &loaded.warnings[0];
    assert_eq!(w.key, "database.max_conections");
    assert!(
        w.message
            .contains("did you mean `database.max_connections`?"),
        "{}",
        w.message
    );
    assert_eq!(
        w.source,
        Source::File {
            path: file.clone(),
            line: Some(2)
        }
    );
    assert_eq!(
        loaded.warnings[1].source,
        Source::Env {
            name: "APP__PROT".into()
        }
    );
    assert!(loaded.warnings[1].message.contains("`port`"));

    let err = builder()
        .file(&file)
        .strict(true)
        .build()
        .load()
        .unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert_eq!(err.problems()[0].code().as_str(), "config.unknown_key");
}

#[test]
fn secrets_inline_env_and_file_never_print() {
    let dir = temp_dir("config-secret");
    let secret = write(dir.path(), "db-password", "s3cr3t-from-file\n");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = builder()
        .env_vars([("APP__DATABASE__PASSWORD_FILE", secret.to_str().unwrap())])
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config.database.password.expose(), "s3cr3t-from-file");
    let entry = loaded.explain().entry("database.password").unwrap();
    assert!(entry.secret);
    assert_eq!(entry.value, "[redacted]");
    assert!(
        matches!(&entry.source, Source::SecretFile { var, .. } if var == "APP__DATABASE__PASSWORD_FILE")
    );
    assert!(!format!("{loaded:?} {}", loaded.explain()).contains("s3cr3t"));

    let inline = builder()
        .env_vars([("APP__DATABASE__PASSWORD", "inline-pw")])
        .build()
        .load()
        .unwrap();
    assert_eq!(inline.config.database.password.expose(), "inline-pw");
    assert!(!inline.explain().to_string().contains("inline-pw"));
}

#[test]
fn readable_secret_file_is_rejected_or_warned() {
    let dir = temp_dir("config-loose");
    let secret = write(dir.path(), "pw", "loose-secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let vars = [(
        "APP__DATABASE__PASSWORD_FILE",
        secret.to_str().unwrap().to_owned(),
    )];
    let err = builder().env_vars(vars.clone()).build().load().unwrap_err();
    assert_eq!(
        err.problems()[0].code().as_str(),
        "config.insecure_secret_file"
    );
    assert!(err.to_string().contains("perm.world_readable"));
    assert!(!err.to_string().contains("loose-secret"));

    let loaded = builder()
        .env_vars(vars)
        .secret_file_policy(SecretFilePolicy::Warn)
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config.database.password.expose(), "loose-secret");
    assert_eq!(loaded.warnings.len(), 1);
}

#[test]
fn wrong_typed_secret_never_shows_its_value() {
    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct S {
        token: SecretString,
        retries: u8,
    }
    impl Validate for S {}
    let dir = temp_dir("config-wrongsecret");
    let file = write(dir.path(), "s.toml", "token = 987654321\nretries = 99999\n");
    let err = load_file::<S>(&file).unwrap_err();
    assert_eq!(err.problems().len(), 2, "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("987654321"), "{text}");
    assert!(!text.contains("99999"), "{text}");
}

#[test]
fn env_values_are_typed_and_nested() {
    let loaded = builder()
        .env_vars([
            ("APP__DATABASE__MAX_CONNECTIONS", "42"),
            ("APP__TIMEOUT", "1m30s"),
            ("APP__CACHE", "10MB"),
            ("APP__NAME", "123"),
            ("OTHER__PORT", "1"),
        ])
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config.database.max_connections, 42);
    assert_eq!(loaded.config.timeout.as_std().as_secs(), 90);
    assert_eq!(loaded.config.cache.as_u64(), 10_000_000);
    assert_eq!(loaded.config.name, "123");
    assert_eq!(loaded.config.port, 8080);
}

mod props {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_paths_map_to_env_names_and_back(
            segments in proptest::collection::vec("[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,4}){0,2}", 1..5)
        ) {
            let key = segments.join(".");
            let name = pr_config::env_name("APP", &key);
            prop_assert_eq!(pr_config::key_for_env("APP", &name), Some(key));
        }
    }
}

#[cfg(feature = "yaml")]
#[test]
fn yaml_files_with_lines_in_problems() {
    let dir = temp_dir("config-yaml");
    let file = write(
        dir.path(),
        "app.yaml",
        "port: 7100\ndatabase:\n  url: x://y\n  max_connections: lots\ntags:\n  - a\n",
    );
    let err = builder().file(&file).build().load().unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(err.problems()[0].key, "database.max_connections");
    assert_eq!(
        err.problems()[0].source,
        Source::File {
            path: file.clone(),
            line: Some(4)
        }
    );
    assert!(!err.to_string().contains("lots"));

    std::fs::write(&file, "port: 7100\ndatabase:\n  url: x://y\ntags: [a]\n").unwrap();
    let loaded = builder().file(&file).build().load().unwrap();
    assert_eq!(loaded.config.port, 7100);
    assert_eq!(loaded.config.database.url, "x://y");
    assert_eq!(loaded.config.tags, ["a"]);
}

#[test]
fn a_rule_message_that_quotes_the_value_is_withheld() {
    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct S {
        token: String,
    }
    impl Validate for S {
        fn validate(&self, v: &mut Validator) {
            v.check(
                self.token.len() > 20,
                "token",
                format!("`{}` is too short", self.token),
            );
        }
    }
    let err = ConfigLoader::<S>::builder()
        .env_prefix("APP")
        .env_vars([("APP__TOKEN", "tok-123")])
        .build()
        .load()
        .unwrap_err();
    assert_eq!(
        err.problems()[0].code().as_str(),
        "config.validation_failed"
    );
    assert!(!err.to_string().contains("tok-123"), "{err}");
}

#[cfg(feature = "garde")]
#[test]
fn garde_rules_report_with_their_sources() {
    #[derive(Debug, Default, Deserialize, Serialize, garde::Validate)]
    #[serde(default)]
    struct S {
        #[garde(range(min = 1024))]
        port: u16,
        #[garde(dive)]
        db: Db,
    }
    #[derive(Debug, Default, Deserialize, Serialize, garde::Validate)]
    #[serde(default)]
    struct Db {
        #[garde(length(min = 3))]
        name: String,
    }
    impl Validate for S {
        fn validate(&self, v: &mut Validator) {
            v.garde("", self);
        }
    }
    let dir = temp_dir("config-garde");
    let file = write(dir.path(), "s.toml", "port = 80\n[db]\nname = \"x\"\n");
    let err = load_file::<S>(&file).unwrap_err();
    let got: Vec<_> = err
        .problems()
        .iter()
        .map(|p| (p.key.as_str(), p.source.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "db.name",
                Source::File {
                    path: file.clone(),
                    line: Some(3)
                }
            ),
            (
                "port",
                Source::File {
                    path: file.clone(),
                    line: Some(1)
                }
            ),
        ]
    );
}

#[test]
fn figment_providers_sit_above_env_and_below_overrides() {
    use figment::providers::Serialized;
    let loaded = builder()
        .env_vars([("APP__PORT", "1000"), ("APP__NAME", "env")])
        .provider(Serialized::default("port", 2000))
        .provider(Serialized::globals(
            serde_json::json!({"name": "provider", "database": {"max_connections": 77}}),
        ))
        .set("name", "override")
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config.port, 2000);
    assert_eq!(loaded.config.name, "override");
    assert_eq!(loaded.config.database.max_connections, 77);
    let entry = loaded.explain().entry("database.max_connections").unwrap();
    assert!(matches!(&entry.source, Source::Provider(_)), "{entry:?}");
}

#[test]
fn sources_and_explanations_display() {
    use std::path::PathBuf;
    let shown: Vec<String> = [
        Source::Default,
        Source::File {
            path: PathBuf::from("/etc/app.toml"),
            line: Some(3),
        },
        Source::File {
            path: PathBuf::from("/etc/app.json"),
            line: None,
        },
        Source::Env {
            name: "APP__PORT".into(),
        },
        Source::DotEnv {
            path: PathBuf::from(".env"),
            name: "APP__PORT".into(),
            line: Some(2),
        },
        Source::SecretFile {
            path: PathBuf::from("/run/secrets/db"),
            var: "APP__DB_FILE".into(),
        },
        Source::Override,
        Source::Provider("custom".into()),
    ]
    .iter()
    .map(|s| format!("{} {s}", s.kind()))
    .collect();
    assert_eq!(
        shown,
        [
            "default default",
            "file file /etc/app.toml line 3",
            "file file /etc/app.json",
            "env env var APP__PORT",
            "dotenv .env (APP__PORT, line 2)",
            "secret_file secret file /run/secrets/db (from APP__DB_FILE)",
            "override override",
            "provider provider custom",
        ]
    );
    let loaded = builder().build().load().unwrap();
    let text = loaded.explain().to_string();
    assert!(
        text.contains("database.max_connections = 10  # from default\n"),
        "{text}"
    );
    assert!(
        text.contains("database.password = [redacted]  # from default"),
        "{text}"
    );
    assert_eq!(loaded.explain().entries().len(), 9);
}

#[test]
fn unsupported_extension_and_bad_dotenv_are_problems() {
    let dir = temp_dir("config-ext");
    let ini = write(dir.path(), "app.ini", "port=1\n");
    let dotenv = write(dir.path(), ".env", "NOT AN ASSIGNMENT\n");
    let err = builder()
        .file(&ini)
        .dotenv(&dotenv)
        .build()
        .load()
        .unwrap_err();
    let codes: Vec<_> = err.problems().iter().map(|p| p.code().as_str()).collect();
    assert_eq!(
        codes,
        ["config.parse_failed", "config.parse_failed"],
        "{err}"
    );
    assert!(matches!(
        &err.problems()[0].source,
        Source::File { line: Some(1), .. }
    ));
}

#[test]
fn an_unknown_nested_key_of_a_strict_type_names_its_path_once_and_its_file() {
    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    struct Strict {
        api: Api,
    }

    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default, deny_unknown_fields)]
    struct Api {
        addr: String,
    }

    impl Validate for Strict {}

    let dir = temp_dir("config-deny-unknown");
    let file = write(dir.path(), "app.toml", "[api]\nadr = \"x\"\n");
    let err = load_file::<Strict>(&file).unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let p = &err.problems()[0];
    assert_eq!(p.code().as_str(), "config.unknown_key");
    assert_eq!(p.key, "api.adr", "{err}");
    assert_eq!(
        p.source,
        Source::File {
            path: file.clone(),
            line: Some(2)
        },
        "{err}"
    );
    assert!(err.to_string().contains("`api.adr` from file"), "{err}");

    // A table under an unknown key.
    let file = write(dir.path(), "table.toml", "[api.adr]\nport = 1\n");
    let err = load_file::<Strict>(&file).unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let p = &err.problems()[0];
    assert_eq!(p.key, "api.adr", "{err}");
    assert!(
        matches!(&p.source, Source::File { path, .. } if *path == file),
        "{err}"
    );
}

#[test]
fn a_missing_secret_file_names_its_path_and_the_os_reason() {
    let dir = temp_dir("config-missing-secret");
    let missing = dir.path().join("no-such-password");
    let err = builder()
        .env_vars([("APP__DATABASE__PASSWORD_FILE", missing.to_str().unwrap())])
        .build()
        .load()
        .unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let p = &err.problems()[0];
    assert_eq!(p.code().as_str(), "config.io");
    assert_eq!(p.key, "database.password");
    assert!(
        matches!(&p.source, Source::SecretFile { path, var } if *path == missing && var == "APP__DATABASE__PASSWORD_FILE"),
        "{err}"
    );
    // ENOENT is 2 on every Unix: "No such file or directory (os error 2)".
    let reason = std::io::Error::from_raw_os_error(2).to_string();
    let text = err.to_string();
    assert!(text.contains(&reason), "{text}");
    assert!(text.contains(missing.to_str().unwrap()), "{text}");

    // A file that is there but does not read as text: the reason, not the content.
    let garbled = dir.path().join("garbled");
    std::fs::write(&garbled, b"s3cr3t-garbled\xff").unwrap();
    std::fs::set_permissions(&garbled, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = builder()
        .env_vars([("APP__DATABASE__PASSWORD_FILE", garbled.to_str().unwrap())])
        .build()
        .load()
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.problems()[0].code().as_str(), "config.io", "{text}");
    assert!(text.contains("valid UTF-8"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[test]
fn a_config_file_that_cannot_be_read_names_its_path_and_the_os_reason() {
    let dir = temp_dir("config-unreadable");
    // A required file that is not there: ENOENT is 2 on every Unix.
    let missing = dir.path().join("absent.toml");
    let err = builder().file(&missing).build().load().unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let p = &err.problems()[0];
    assert_eq!(p.code().as_str(), "config.file_missing");
    assert_eq!(
        p.source,
        Source::File {
            path: missing.clone(),
            line: None
        }
    );
    let text = err.to_string();
    let reason = std::io::Error::from_raw_os_error(2).to_string();
    assert!(text.contains(&reason), "{text}");
    assert!(text.contains(missing.to_str().unwrap()), "{text}");

    // A directory where the file should be, required or optional: the
    // reason the operating system gives for reading it (EISDIR).
    let folder = dir.path().join("conf.toml");
    std::fs::create_dir(&folder).unwrap();
    let reason = std::fs::read_to_string(&folder).unwrap_err().to_string();
    assert!(reason.contains("(os error "), "{reason}");
    for loader in [
        builder().file(&folder).build(),
        builder().optional_file(&folder).build(),
    ] {
        let err = loader.load().unwrap_err();
        assert_eq!(err.problems().len(), 1, "{err}");
        assert_eq!(err.problems()[0].code().as_str(), "config.io");
        let text = err.to_string();
        assert!(text.contains(&reason), "{text}");
        assert!(text.contains(folder.to_str().unwrap()), "{text}");
    }
}

/// No 4-character piece of `secret`, in any case, is in `text`.
fn assert_no_fragment(text: &str, secret: &str) {
    let lower = text.to_lowercase();
    for i in 0..=secret.len() - 4 {
        let piece = secret[i..i + 4].to_lowercase();
        assert!(!lower.contains(&piece), "`{piece}` in: {text}");
    }
}

#[test]
fn a_message_that_quotes_part_of_the_value_is_withheld() {
    const SECRET: &str = "Xq7ZkP9wLmT2vR";
    /// Echoes the trimmed value in its error, as many parsers do.
    #[derive(Debug, Default, Serialize)]
    struct Zone(String);
    impl<'de> Deserialize<'de> for Zone {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            Err(serde::de::Error::custom(format!(
                "unknown time zone `{}`",
                s.trim()
            )))
        }
    }
    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct S {
        zone: Option<Zone>,
        token: String,
        timeout: Duration,
        cache: ByteSize,
    }
    impl Validate for S {
        fn validate(&self, v: &mut Validator) {
            // A rule that quotes a piece of the value (its start).
            v.check(
                self.token.starts_with("tok-"),
                "token",
                format!(
                    "must start with `tok-`, not `{}`",
                    self.token.get(..6).unwrap_or("")
                ),
            );
        }
    }
    let padded = format!(" {SECRET} ");
    let err = ConfigLoader::<S>::builder()
        .env_prefix("APP")
        .env_vars([
            ("APP__ZONE", padded.as_str()),
            ("APP__TOKEN", SECRET),
            ("APP__TIMEOUT", SECRET),
            ("APP__CACHE", SECRET),
        ])
        .build()
        .load()
        .unwrap_err();
    let keys: Vec<_> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["cache", "timeout", "zone", "token"], "{err}");
    assert_no_fragment(&err.to_string(), SECRET);
    // A message that quotes nothing of the value is kept.
    let err = ConfigLoader::<S>::builder()
        .env_prefix("APP")
        .env_vars([("APP__TOKEN", "abc")])
        .build()
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("must start with `tok-`"), "{err}");
}

#[test]
fn a_changed_default_is_the_lowest_source() {
    let dir = temp_dir("config-set-default");
    let file = write(dir.path(), "app.toml", "port = 9000\n");
    let loaded = builder()
        .file(&file)
        .set_default("port", 7000)
        .set_default("database.max_connections", 50)
        .set_default("timeout", "5s")
        .build()
        .load()
        .unwrap();
    // The file still wins over a changed default; the others take it.
    assert_eq!(loaded.config.port, 9000);
    assert_eq!(loaded.config.database.max_connections, 50);
    assert_eq!(loaded.config.timeout, Duration::from_secs(5));
    let entry = |key: &str| {
        let found = loaded.explain().entries().iter().find(|e| e.key == key);
        found.unwrap().source.clone()
    };
    assert_eq!(entry("database.max_connections"), Source::Default);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn a_std_duration_given_a_unit_string_hints_at_the_toolkit_type() {
    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct StdConfig {
        timeout: std::time::Duration,
    }
    impl Validate for StdConfig {}
    let err = ConfigLoader::<StdConfig>::builder()
        .env_vars([("APP__TIMEOUT", "5s")])
        .env_prefix("APP")
        .build()
        .load()
        .unwrap_err();
    let problem = &err.problems()[0];
    assert_eq!(problem.key, "timeout");
    assert!(
        problem
            .message
            .contains("declare it as pr_config::Duration"),
        "{}",
        problem.message
    );
}

#[test]
fn every_warning_is_named_by_its_event() {
    let loaded = builder()
        .env_vars([("APP__PROT", "1")])
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.warnings[0].event, "config.unknown_key");
}
