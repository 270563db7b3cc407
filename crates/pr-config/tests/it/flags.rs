//! The Unleash client specification (`testdata/feature-flags/` at the
//! workspace root): gradual and flexible rollouts (03, 04, 10), variants (08)
//! and custom stickiness (12).

use pr_config::{Flag, FlagContext, Flags};
use serde_json::Value;

/// A specification file of `testdata/feature-flags/`; fails naming the path
/// when it is missing.
fn corpus(name: &str) -> Value {
    serde_json::from_slice(&pr_test_support::testdata(&format!("feature-flags/{name}"))).unwrap()
}

fn flags_of(spec: &Value) -> Flags {
    let mut flags = Flags::default();
    for feature in spec["state"]["features"].as_array().unwrap() {
        let name = feature["name"].as_str().unwrap().to_owned();
        let flag: Flag = serde_json::from_value(feature.clone()).unwrap();
        flags.0.insert(name, flag);
    }
    flags
}

/// Runs every test and variant test of a specification file; returns
/// (passed, total) and the failures.
fn run(name: &str) -> (usize, usize, Vec<String>) {
    let spec = corpus(name);
    let flags = flags_of(&spec);
    let (mut passed, mut total, mut failures) = (0, 0, Vec::new());
    for test in spec["tests"].as_array().into_iter().flatten() {
        total += 1;
        let ctx: FlagContext = serde_json::from_value(test["context"].clone()).unwrap();
        let got = flags.is_enabled(test["toggleName"].as_str().unwrap(), &ctx);
        if Value::Bool(got) == test["expectedResult"] {
            passed += 1;
        } else {
            failures.push(format!("{name}: {}", test["description"]));
        }
    }
    for test in spec["variantTests"].as_array().into_iter().flatten() {
        total += 1;
        let ctx: FlagContext = serde_json::from_value(test["context"].clone()).unwrap();
        let got = flags.variant(test["toggleName"].as_str().unwrap(), &ctx);
        let want = &test["expectedResult"];
        let ok = want["name"] == got.name
            && want["enabled"] == got.enabled
            && want
                .get("feature_enabled")
                .is_none_or(|f| *f == got.feature_enabled)
            && want.get("payload").is_none_or(|p| Some(p) == got.payload);
        if ok {
            passed += 1;
        } else {
            failures.push(format!(
                "{name}: {} (got {})",
                test["description"], got.name
            ));
        }
    }
    (passed, total, failures)
}

#[test]
fn unleash_specification_rollouts_and_variants() {
    let mut all = Vec::new();
    let mut sum = (0, 0);
    for file in [
        "03-gradual-rollout-user-id-strategy.json",
        "04-gradual-rollout-session-id-strategy.json",
        "10-flexible-rollout-strategy.json",
        "08-variants.json",
        "12-custom-stickiness.json",
    ] {
        let (passed, total, failures) = run(file);
        sum.0 += passed;
        sum.1 += total;
        all.extend(failures);
    }
    assert!(
        all.is_empty(),
        "{} of {} passed; failures: {all:#?}",
        sum.0,
        sum.1
    );
    assert_eq!(sum, (48, 48));
}

#[test]
fn flags_load_with_the_configuration_and_env_overrides_apply() {
    #[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
    #[serde(default)]
    struct App {
        flags: Flags,
    }
    impl pr_config::Validate for App {}
    let dir = pr_test_support::temp_dir("config-flags");
    let file = crate::write(
        dir.path(),
        "app.toml",
        "[flags.new_checkout]\nrollout = 50\nstickiness = \"userId\"\n\n[flags.beta]\nenabled = false\n",
    );
    let mut app = pr_config::ConfigLoader::<App>::builder()
        .file(&file)
        .build()
        .load()
        .unwrap()
        .into_inner();
    assert!(!app.flags.is_enabled("beta", &FlagContext::user("1")));
    let on = (0..1000)
        .filter(|i| {
            app.flags
                .is_enabled("new_checkout", &FlagContext::user(i.to_string()))
        })
        .count();
    assert!((400..600).contains(&on), "{on}");
    app.flags
        .apply_env_overrides("APP", [("APP_FEATURE_BETA", "true")]);
    assert!(app.flags.is_enabled("beta", &FlagContext::user("1")));
}
