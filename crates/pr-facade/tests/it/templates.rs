//! The configuration templates of the toolkit's own config types, generated
//! by pr-config from each type's schema and committed in `docs/config/`: a
//! commented TOML file, a `.env.example` and a Markdown reference per crate,
//! with the environment names a service gets when it nests the section under
//! its `APP` prefix. The test fails when a committed copy is stale.
//!
//! Run with `PR_BLESS=1` to rewrite them after changing a config type.

use std::path::PathBuf;

use pr_facade::config::Template;

/// `(section, template)`: each crate's configuration, under the section name
/// a service's own config gives it.
fn templates() -> Vec<(&'static str, Template)> {
    vec![
        (
            "cache",
            Template::of::<pr_facade::cache::MemoryCacheConfig>(),
        ),
        ("health", Template::of::<pr_facade::health::HealthConfig>()),
        ("http", Template::of::<pr_facade::http::HttpConfig>()),
        (
            "logging",
            Template::of::<pr_facade::logging::LoggingConfig>(),
        ),
        (
            "metrics",
            Template::of::<pr_facade::metrics::MetricsConfig>(),
        ),
        (
            "resources",
            Template::of::<pr_facade::resources::ResourcesConfig>(),
        ),
        (
            "resilience",
            Template::of::<pr_facade::resilience::policies::ResilienceConfig>(),
        ),
        (
            "security",
            Template::of::<pr_facade::security::SecurityConfig>(),
        ),
        (
            "telemetry",
            Template::of::<pr_facade::telemetry::TelemetryConfig>(),
        ),
    ]
}

#[test]
fn templates_of_the_toolkit_config_types_are_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/config");
    let bless = std::env::var_os("PR_BLESS").is_some();
    let mut stale = Vec::new();
    for (section, template) in templates() {
        let prefix = format!("APP__{}", section.to_ascii_uppercase());
        let header = format!(
            "generated from `{section}`'s configuration type by pr-config; \
             regenerate with `PR_BLESS=1 cargo test -p pr-facade --all-features --test it -- templates`"
        );
        let files = [
            (
                format!("{section}.toml"),
                format!("# [{section}] {header}\n\n{}", template.toml()),
            ),
            (
                format!("{section}.env.example"),
                format!("# {header}\n\n{}", template.env_example(&prefix)),
            ),
            (
                format!("{section}.md"),
                format!(
                    "# `{section}` configuration\n\n<!-- {header} -->\n\n{}",
                    template.markdown(&prefix)
                ),
            ),
        ];
        for (name, expected) in files {
            let path = dir.join(&name);
            if bless {
                std::fs::create_dir_all(&dir).expect("docs/config can be created");
                std::fs::write(&path, &expected).expect("docs/config is writable");
                continue;
            }
            if std::fs::read_to_string(&path).ok().as_deref() != Some(expected.as_str()) {
                stale.push(name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/config is stale ({}): regenerate with \
         `PR_BLESS=1 cargo test -p pr-facade --all-features --test it -- templates`",
        stale.join(", ")
    );
}

#[test]
fn secrets_are_marked_and_never_given_a_default() {
    let logging = Template::of::<pr_facade::logging::LoggingConfig>();
    let audit_key = logging
        .entries()
        .iter()
        .find(|e| e.key == "redaction.hmac_key")
        .expect("the redaction key is in the template");
    assert!(audit_key.secret);
    assert_eq!(audit_key.default, None);
    let health = Template::of::<pr_facade::health::HealthConfig>();
    let token = health
        .entries()
        .iter()
        .find(|e| e.key == "token")
        .expect("the detail token is in the template");
    assert!(token.secret);
}
