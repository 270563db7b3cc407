//! The app's panic hook, in a child process (the hook and the globals are the process's): a
//! panic in a thread is an `app.panic` event in the service's logs, with its location, and
//! counts in `pr_app_panics_total`.

use std::process::Command;

use pr_facade::app::App;
use pr_test_support::temp_dir;
use serde_json::Value;

/// Set in the child: the log file it writes.
const CHILD: &str = "PR_FACADE_PANIC_CHILD_LOG";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_any_thread_is_logged_with_its_location_and_counted() {
    if let Some(log) = std::env::var_os(CHILD) {
        return child(log).await;
    }
    let dir = temp_dir("facade-panic");
    let log = dir.path().join("app.log");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panic::a_panic_in_any_thread_is_logged_with_its_location_and_counted",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, &log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let panics: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &Value| l["event"] == "app.panic")
        .collect();
    assert_eq!(panics.len(), 1, "{text}");
    assert_eq!(panics[0]["level"], "ERROR");
    assert_eq!(panics[0]["thread"], "worker-7");
    assert_eq!(panics[0]["panic"], "the books do not balance: 3 != 4");
    let location = panics[0]["location"].as_str().unwrap();
    assert!(
        location.starts_with("crates/pr-facade/tests/it/panic.rs:"),
        "{location}"
    );
    // The child wrote its metrics; Rust's own report still reaches stderr.
    let metrics = std::fs::read_to_string(format!("{}.metrics", log.display())).unwrap();
    let counted = "pr_app_panics_total{service=\"panicky\"} 1";
    assert!(metrics.contains(counted), "{metrics}");
    assert!(stderr.contains("the books do not balance"), "{stderr}");
}

/// The child: an app with the globals, a thread that panics, the metrics written beside the log.
async fn child(log: std::ffi::OsString) {
    let log = log.to_string_lossy().into_owned();
    let app = App::builder("panicky")
        .env_vars([
            ("APP__OPS__ENABLED", "false"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
        ])
        .set_default("logging.files", serde_json::json!([{ "path": log }]))
        .build()
        .await
        .unwrap();
    let worker = std::thread::Builder::new().name("worker-7".to_owned());
    let (a, b) = (3, 4);
    let joined = worker
        .spawn(move || assert!(a == b, "the books do not balance: {a} != {b}"))
        .unwrap()
        .join();
    assert!(joined.is_err());
    app.logging().flush();
    let metrics = app
        .metrics()
        .render(pr_facade::metrics::ExpositionFormat::Prometheus);
    std::fs::write(format!("{log}.metrics"), metrics).unwrap();
}
