//! Templates from one schema, checked against the committed copies
//! (`PR_BLESS=1` rewrites them), and loadable as written.

use std::path::PathBuf;

use pr_config::{ByteSize, ConfigLoader, Duration, Flags, SecretString, Template, Validate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An example service configuration.
#[derive(Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default)]
struct Example {
    /// The service's name, in logs and metrics.
    name: String,
    /// Listen port.
    port: u16,
    /// How long a request may take.
    timeout: Duration,
    /// In-memory cache budget.
    cache: ByteSize,
    /// Extra labels on every metric.
    tags: Vec<String>,
    /// Feature flags.
    flags: Flags,
    /// The database.
    database: Database,
}

/// Database connection settings.
#[derive(Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(default)]
struct Database {
    /// Connection URL (without credentials).
    url: String,
    /// Pool size.
    max_connections: u32,
    /// Password; never logged.
    #[schemars(with = "String")]
    password: SecretString,
    /// Optional read replica URL.
    replica: Option<String>,
}

impl Default for Example {
    fn default() -> Self {
        Self {
            name: "example".into(),
            port: 8080,
            timeout: Duration::from_secs(30),
            cache: ByteSize::mib(64),
            tags: Vec::new(),
            flags: Flags::default(),
            database: Database::default(),
        }
    }
}

impl Default for Database {
    fn default() -> Self {
        Self {
            url: "postgres://localhost/app".into(),
            max_connections: 10,
            password: SecretString::default(),
            replica: None,
        }
    }
}

impl Validate for Example {}

fn check(name: &str, generated: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/templates")
        .join(name);
    if std::env::var_os("PR_BLESS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        generated,
        "{} is stale; run PR_BLESS=1 cargo test -p pr-config --all-features --test it -- template",
        path.display()
    );
}

#[test]
fn committed_templates_are_current() {
    let template = Template::of::<Example>();
    check("example.toml", &template.toml());
    check("example.env", &template.env_example("APP"));
    check("example.md", &template.markdown("APP"));
}

#[test]
fn template_entries_know_secrets_defaults_and_descriptions() {
    let template = Template::of::<Example>();
    let entry = |k: &str| template.entries().iter().find(|e| e.key == k).unwrap();
    assert!(entry("database.password").secret);
    assert_eq!(entry("database.password").default, None);
    assert_eq!(entry("port").default.as_deref(), Some("8080"));
    assert_eq!(entry("timeout").default.as_deref(), Some("\"30s\""));
    assert_eq!(entry("port").description.as_deref(), Some("Listen port."));
    assert!(entry("tags").compound);
    let env = template.env_example("APP");
    assert!(env.contains("APP__DATABASE__PASSWORD_FILE=/path/to/file"));
    assert!(env.contains("APP__DATABASE__MAX_CONNECTIONS=10\n"));
}

#[test]
fn generated_toml_loads_back_to_the_defaults() {
    let dir = pr_test_support::temp_dir("config-template");
    let file = crate::write(dir.path(), "app.toml", &Template::of::<Example>().toml());
    let loaded = ConfigLoader::<Example>::builder()
        .file(&file)
        .strict(true)
        .build()
        .load()
        .unwrap();
    assert_eq!(loaded.config, Example::default());
    assert!(loaded.warnings.is_empty());
}
