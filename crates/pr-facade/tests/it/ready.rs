//! Ready means checked: `/health/ready` answers from real results on the
//! first request after the `app.ready` event, for a plain `App` and for the
//! demo service, over real HTTP on loopback; nothing is timed.
//!
//! The demo's request is made once the event is in its log file. A plain
//! `App`'s is made from the first poll of its work, which `App::run` only
//! polls after it has logged `app.ready` (its log is not read here: an app
//! built without global subscribers logs through a scoped dispatcher, which
//! other threads' callsite registrations can mute).

use std::time::Duration;

use pr_facade::app::{App, Exit};
use pr_facade::health::{Outcome, Phase, check_fn};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::e2e::{Service, get};

/// A plain `App` with every check detail shown; the sender keeps its
/// signal channel open.
async fn app() -> (App, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel(1);
    let app = App::builder("ready-test")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            ("APP__HEALTH__SHOW_DETAILS", "always"),
        ])
        .install_globals(false)
        .signals(rx)
        .build()
        .await
        .unwrap();
    (app, tx)
}

/// `GET url` from a blocking thread.
async fn probe(url: String) -> (u16, Value) {
    let (code, body) = tokio::task::spawn_blocking(move || get(&url))
        .await
        .unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (code, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_app_answers_200_on_the_first_probe_after_it_logs_ready() {
    let (app, _signals) = app().await;
    // Registered after `build`, as a service registers its own: once the
    // refresher's first tick has passed, it would not reach them for
    // `refresh_interval` (5 s).
    app.health()
        .add(check_fn("db", || async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Outcome::up()
        }))
        .unwrap();
    app.health()
        .add(check_fn("breaker:quotes", || async { Outcome::up() }))
        .unwrap();
    let lifecycle = app.health().lifecycle().clone();
    let ops = format!("http://{}", app.ops_addr().unwrap());
    let exit = app
        .run(async move {
            // `app.ready` is logged. `/status` runs no check: every check
            // has a result already.
            assert_eq!(lifecycle.phase(), Phase::Ready);
            let (code, status) = probe(format!("{ops}/status")).await;
            assert_eq!(code, 200, "{status}");
            let checks = status["health"]["checks"].as_array().unwrap();
            assert!(checks.iter().any(|c| c["name"] == "db"), "{status}");
            assert!(
                checks.iter().all(|c| c["status"] != "UNKNOWN"),
                "ready means checked: {status}"
            );
            // And the very first probe answers 200.
            let (code, report) = probe(format!("{ops}/health/ready")).await;
            assert_eq!(code, 200, "{report}");
            assert_eq!(report["status"], "UP", "{report}");
            let checks = report["checks"].as_array().unwrap();
            assert!(checks.len() >= 4, "{report}");
            assert!(
                checks.iter().all(|c| c["status"] == "UP"),
                "every check has run: {report}"
            );
        })
        .await;
    assert_eq!(exit, Exit::Finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_failing_its_first_run_makes_readiness_down_not_unknown() {
    let (app, _signals) = app().await;
    app.health()
        .add(check_fn("db", || async {
            Outcome::down("connection refused")
        }))
        .unwrap();
    app.health()
        .add(
            check_fn("hangs", || async {
                std::future::pending::<()>().await;
                Outcome::up()
            })
            .timeout(Duration::from_millis(300)),
        )
        .unwrap();
    let url = format!("http://{}/health/ready", app.ops_addr().unwrap());
    let exit = app
        .run(async move {
            let (code, report) = probe(url).await;
            assert_eq!(code, 503, "{report}");
            assert_eq!(report["status"], "DOWN", "{report}");
            assert_eq!(report["phase"], "ready", "{report}");
            let checks = report["checks"].as_array().unwrap();
            assert!(checks.iter().all(|c| c["status"] != "UNKNOWN"), "{report}");
            let hangs = checks.iter().find(|c| c["name"] == "hangs").unwrap();
            assert_eq!(hangs["status"], "DOWN", "startup was bounded: {report}");
        })
        .await;
    assert_eq!(exit, Exit::Finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_added_while_ready_is_never_unknown() {
    let (app, _signals) = app().await;
    let health = app.health().clone();
    let url = format!("http://{}/health/ready", app.ops_addr().unwrap());
    let exit = app
        .run(async move {
            health
                .add(check_fn("late", || async {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Outcome::up()
                }))
                .unwrap();
            let (code, report) = probe(url).await;
            assert_eq!(code, 200, "{report}");
            let late = &report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "late")
                .unwrap()["status"];
            assert_eq!(late, "UP", "{report}");
        })
        .await;
    assert_eq!(exit, Exit::Finished);
}

#[test]
fn the_demo_answers_200_on_the_first_probe_after_it_logs_ready() {
    let mut service = Service::spawn(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"1ms\"\nmax_latency = \"2ms\"\n",
    );
    service.wait_for_event("app.ready");
    let (code, body) = get(&format!("{}/health/ready", service.ops));
    assert_eq!(code, 200, "{body}\n{}", service.output());
    assert_eq!(body, r#"{"status":"UP"}"#);
}
