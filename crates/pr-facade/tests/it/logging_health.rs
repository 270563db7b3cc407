//! The toolkit's own parts in the app's health: a plain `App` whose log
//! file is `/dev/full` (every write fails with ENOSPC) reports its `logging`
//! check Degraded, naming the output, on `/health/ready` and `/status`,
//! over real HTTP; while its writes succeed the check is Up.

use std::time::{Duration, Instant};

use pr_facade::app::{App, Exit};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::e2e::get;

/// `GET url` from a blocking thread: the status and the JSON body.
async fn probe(url: String) -> (u16, Value) {
    let (code, body) = tokio::task::spawn_blocking(move || get(&url))
        .await
        .unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (code, json)
}

/// A plain `App` logging to `file`, checks refreshed every 50 ms.
async fn app(file: &str) -> (App, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel(1);
    let app = App::builder("logging-health")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            ("APP__HEALTH__SHOW_DETAILS", "always"),
            ("APP__HEALTH__REFRESH_INTERVAL", "50ms"),
        ])
        .set("logging.files", json!([{ "path": file }]))
        .install_globals(false)
        .signals(rx)
        .build()
        .await
        .unwrap();
    (app, tx)
}

/// The `logging` check in a health document.
fn logging_check(doc: &Value) -> Option<&Value> {
    doc["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "logging")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_on_a_full_device_makes_the_logging_check_degraded() {
    let (app, _signals) = app("/dev/full").await;
    // `build` logged `app.started`; write it out now (it fails: ENOSPC).
    let _ = app.logging().flush();
    let ops = format!("http://{}", app.ops_addr().unwrap());
    let exit = app
        .run(async move {
            let started = Instant::now();
            loop {
                let (code, report) = probe(format!("{ops}/health/ready")).await;
                let check = logging_check(&report).cloned();
                if let Some(check) = check
                    && check["status"] == "DEGRADED"
                {
                    // Not critical, and Degraded answers 200 by default: the
                    // service keeps its traffic while its logs fail.
                    assert_eq!(code, 200, "{report}");
                    assert_eq!(report["status"], "DEGRADED", "{report}");
                    let message = check["message"].as_str().unwrap();
                    assert!(message.contains("output `/dev/full`"), "{message}");
                    assert!(
                        message.contains("write errors") || message.contains("last write failed"),
                        "{message}"
                    );
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "the logging check never turned degraded: {report}"
                );
                tokio::task::yield_now().await;
            }
            let (_, status) = probe(format!("{ops}/status")).await;
            let check = logging_check(&status["health"]).unwrap();
            assert_eq!(check["status"], "DEGRADED", "{status}");
        })
        .await;
    assert_eq!(exit, Exit::Finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_that_takes_its_writes_keeps_the_logging_check_up() {
    let dir = pr_test_support::temp_dir("logging-health");
    let file = dir.path().join("app.log");
    let (app, _signals) = app(file.to_str().unwrap()).await;
    let _ = app.logging().flush();
    let ops = format!("http://{}", app.ops_addr().unwrap());
    let exit = app
        .run(async move {
            let (code, report) = probe(format!("{ops}/health/ready")).await;
            assert_eq!(code, 200, "{report}");
            let check = logging_check(&report).unwrap();
            assert_eq!(check["status"], "UP", "{report}");
        })
        .await;
    assert_eq!(exit, Exit::Finished);
    drop(dir);
}
