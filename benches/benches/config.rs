//! pr-config: loading a 200-key configuration from TOML plus environment
//! variables, `current()` on a live handle, and a rollout flag evaluation.
//!
//! Peers: plain figment extraction of the same struct from the same TOML
//! text and variables (figment's own TOML provider pins toml 0.8, so the
//! text is parsed with the workspace's toml and handed to figment); a
//! `std::sync::RwLock<Arc<T>>`, what hand-written reload code reads through.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};

use criterion::{Criterion, criterion_group, criterion_main};
use figment::Figment;
use figment::providers::Serialized;
use pr_config::{ConfigHandle, ConfigLoader, Flag, FlagContext, Flags, Validate, Validator};
use serde::{Deserialize, Serialize};

/// 20 sections of 10 keys: 200 keys.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct Big {
    sections: BTreeMap<String, Section>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct Section {
    name: String,
    host: String,
    port: u16,
    enabled: bool,
    retries: u32,
    timeout_ms: u64,
    ratio: f64,
    label: String,
    weight: i64,
    max: u32,
}

impl Validate for Big {
    fn validate(&self, v: &mut Validator) {
        for (name, section) in &self.sections {
            v.check(
                section.retries <= 100,
                &format!("sections.{name}.retries"),
                "must be at most 100",
            );
        }
    }
}

fn toml_text() -> String {
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!(
            "[sections.s{i}]\nname = \"section {i}\"\nhost = \"10.0.0.{i}\"\nport = {}\nenabled = true\nretries = 3\ntimeout_ms = 2500\nratio = 0.5\nlabel = \"l{i}\"\nweight = -{i}\nmax = 1000\n\n",
            8000 + i
        ));
    }
    text
}

fn env_vars() -> Vec<(String, String)> {
    (0..20)
        .map(|i| (format!("APP__SECTIONS__S{i}__PORT"), (9000 + i).to_string()))
        .collect()
}

fn load(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("pr-bench-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("app.toml");
    std::fs::write(&file, toml_text()).expect("write config");
    let vars = env_vars();
    let loader = ConfigLoader::<Big>::builder()
        .file(&file)
        .env_prefix("APP")
        .env_vars(vars.clone())
        .build();
    assert_eq!(
        loader.load().expect("loads").config.sections["s3"].port,
        9003
    );

    let mut group = c.benchmark_group("config/load_200_keys_toml_env");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(loader.load().map(|l| l.config.sections.len())));
    });
    group.bench_function("figment", |b| {
        b.iter(|| {
            let text = std::fs::read_to_string(&file).expect("read");
            let table: toml::Table = toml::from_str(&text).expect("toml");
            let mut figment = Figment::from(Serialized::defaults(Big::default()))
                .merge(Serialized::globals(table));
            for (name, value) in &vars {
                let key = pr_config::key_for_env("APP", name).expect("prefixed");
                figment = figment.merge(Serialized::global(&key, value));
            }
            black_box(
                figment
                    .extract_lossy::<Big>()
                    .map(|b| b.sections.len())
                    .ok(),
            )
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn current(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("pr-bench-config-cur-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("app.toml");
    std::fs::write(&file, toml_text()).expect("write config");
    let handle =
        ConfigHandle::new(ConfigLoader::<Big>::builder().file(&file).build()).expect("loads");
    let lock = RwLock::new(handle.current());
    let mut group = c.benchmark_group("config/current");
    group.bench_function("ours", |b| b.iter(|| black_box(handle.current())));
    group.bench_function("std RwLock<Arc>", |b| {
        b.iter(|| {
            black_box(Arc::clone(
                &lock
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ))
        });
    });
    group.finish();
    let mut group = c.benchmark_group("config/peek");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(handle.peek().sections.len()));
    });
    group.bench_function("std RwLock<Arc>", |b| {
        b.iter(|| {
            black_box(
                lock.read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .sections
                    .len(),
            )
        });
    });
    group.finish();
    let mut group = c.benchmark_group("config/reader");
    let mut reader = handle.reader();
    group.bench_function("ours", |b| {
        b.iter(|| black_box(reader.current().sections.len()));
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn flag(c: &mut Criterion) {
    let flags: Flags = serde_json::from_str(
        r#"{"new_checkout": {"strategies": [{"name": "flexibleRollout",
            "parameters": {"rollout": "25", "stickiness": "userId", "groupId": "new_checkout"}}]}}"#,
    )
    .expect("flags");
    let _: &Flag = &flags.0["new_checkout"];
    let ctx = FlagContext::user("user-12345");
    let mut group = c.benchmark_group("config/flag_rollout");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(flags.is_enabled(black_box("new_checkout"), black_box(&ctx))));
    });
    group.finish();
}

criterion_group!(benches, load, current, flag);
criterion_main!(benches);
