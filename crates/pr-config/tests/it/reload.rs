//! Hot reload on real files: edit in place, atomic rename, `ConfigMap`
//! symlink swap, invalid edit kept out, fixed edit applied, watchers.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "watch")]
use pr_config::WatchMode;
use pr_config::{ConfigHandle, ConfigLoader, Validate, Validator};
use serde::{Deserialize, Serialize};

use pr_test_support::temp_dir;

use crate::write;

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
struct Config {
    workers: u32,
    name: String,
}

impl Validate for Config {
    fn validate(&self, v: &mut Validator) {
        v.range("workers", &self.workers, &(1..=64));
    }
}

fn handle(file: &Path) -> ConfigHandle<Config> {
    ConfigHandle::new(ConfigLoader::<Config>::builder().file(file).build()).unwrap()
}

fn atomic_write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn edit_in_place_then_invalid_then_fixed() {
    let dir = temp_dir("config-reload-edit");
    let file = write(dir.path(), "app.toml", "workers = 2\n");
    let h = handle(&file);
    let mut rx = h.subscribe();
    let mut reader = h.reader();
    assert_eq!(h.current().workers, 2);
    assert_eq!(reader.current().workers, 2);
    assert_eq!(h.status().generation, 1);

    std::fs::write(&file, "workers = 3\n").unwrap();
    assert_eq!(h.reload().unwrap(), 2);
    assert_eq!(h.current().workers, 3);
    assert_eq!(reader.current().workers, 3);
    assert!(rx.has_changed().unwrap());
    assert_eq!(rx.borrow_and_update().workers, 3);

    // Invalid: a type error and a failed rule; the last good one is kept.
    std::fs::write(&file, "workers = 500\nname = 7\n").unwrap();
    let err = h.reload().unwrap_err();
    assert_eq!(err.problems().len(), 2, "{err}");
    assert_eq!(h.current().workers, 3);
    let status = h.status();
    assert!(!status.is_healthy());
    assert_eq!(status.generation, 2);
    assert_eq!(status.failures, 1);
    assert!(status.last_error.unwrap().contains("`workers`"));
    assert!(!rx.has_changed().unwrap());

    std::fs::write(&file, "workers = 4\n").unwrap();
    assert_eq!(h.reload().unwrap(), 3);
    assert_eq!(h.current().workers, 4);
    assert!(h.status().is_healthy());
    assert_eq!(h.explain().entry("workers").unwrap().value, "4");
}

#[test]
fn atomic_rename_is_seen() {
    let dir = temp_dir("config-reload-rename");
    let file = write(dir.path(), "app.toml", "workers = 2\n");
    let h = handle(&file);
    atomic_write(&file, "workers = 9\n");
    h.reload().unwrap();
    assert_eq!(h.current().workers, 9);
    let peeked = h.peek();
    assert_eq!(peeked.workers, 9);
    assert_eq!(peeked.into_arc().workers, 9);
}

fn configmap(dir: &Path, version: &str, text: &str) {
    let data = dir.join(format!("..{version}"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("app.toml"), text).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("..{version}"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    let link = dir.join("app.toml");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink("..data/app.toml", &link).unwrap();
    }
}

#[test]
fn configmap_symlink_swap_is_seen() {
    let dir = temp_dir("config-reload-configmap");
    configmap(dir.path(), "v1", "workers = 1\n");
    let h = handle(&dir.path().join("app.toml"));
    assert_eq!(h.current().workers, 1);
    configmap(dir.path(), "v2", "workers = 2\n");
    h.reload().unwrap();
    assert_eq!(h.current().workers, 2);
}

async fn next_change(rx: &mut tokio::sync::watch::Receiver<Arc<Config>>) -> u32 {
    // Waits for the watcher's event, not for time to pass; the bound only
    // turns a lost event into a failure instead of a hang.
    tokio::time::timeout(Duration::from_secs(20), rx.changed())
        .await
        .expect("no reload within 20 s")
        .unwrap();
    rx.borrow_and_update().workers
}

#[cfg(feature = "watch")]
#[tokio::test]
async fn native_watcher_reloads_after_rename_and_configmap_swap() {
    let dir = temp_dir("config-reload-watch");
    configmap(dir.path(), "v1", "workers = 1\n");
    let file = write(dir.path(), "extra.toml", "name = \"a\"\n");
    let h = ConfigHandle::new(
        ConfigLoader::<Config>::builder()
            .file(dir.path().join("app.toml"))
            .file(&file)
            .build(),
    )
    .unwrap();
    let mut rx = h.subscribe();
    let _watcher = h
        .watch(WatchMode::Native {
            debounce: Duration::from_millis(20),
        })
        .unwrap();
    configmap(dir.path(), "v2", "workers = 2\n");
    assert_eq!(next_change(&mut rx).await, 2);
    atomic_write(&dir.path().join("..v2/app.toml"), "workers = 5\n");
    atomic_write(&file, "name = \"b\"\n");
    let workers = next_change(&mut rx).await;
    assert!(workers == 2 || workers == 5, "{workers}");
}

#[cfg(feature = "watch")]
#[tokio::test]
async fn polling_watcher_reloads() {
    let dir = temp_dir("config-reload-poll");
    let file = write(dir.path(), "app.toml", "workers = 1\n");
    let h = handle(&file);
    let mut rx = h.subscribe();
    let _watcher = h
        .watch(WatchMode::Poll {
            interval: Duration::from_millis(25),
            debounce: Duration::from_millis(10),
        })
        .unwrap();
    std::fs::write(&file, "workers = 7\n").unwrap();
    assert_eq!(next_change(&mut rx).await, 7);
}

#[tokio::test]
async fn sighup_reloads() {
    let dir = temp_dir("config-reload-sighup");
    let file = write(dir.path(), "app.toml", "workers = 1\n");
    let h = handle(&file);
    let mut rx = h.subscribe();
    let task = h.reload_on_sighup().unwrap();
    std::fs::write(&file, "workers = 6\n").unwrap();
    // The handler is installed above, so the signal cannot end the process.
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::HUP).unwrap();
    assert_eq!(next_change(&mut rx).await, 6);
    task.abort();
}

#[test]
fn the_handle_keeps_the_warnings_of_the_load_in_use() {
    let dir = temp_dir("config-reload-warnings");
    let file = write(dir.path(), "app.toml", "workers = 2\nwrokers = 3\n");
    let h = handle(&file);
    let warnings = h.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].key, "wrokers");
    assert_eq!(warnings[0].event, "config.unknown_key");

    std::fs::write(&file, "workers = 3\n").unwrap();
    h.reload().unwrap();
    assert!(h.warnings().is_empty());
    // A failed reload keeps the warnings of the configuration still in use.
    std::fs::write(&file, "workers = 500\nwrokers = 1\n").unwrap();
    h.reload().unwrap_err();
    assert!(h.warnings().is_empty());
}
