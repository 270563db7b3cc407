//! Unit tests of the app: the shutdown sequence on tokio's paused clock,
//! configuration errors, and the ops server over real HTTP.

use std::time::Duration;

use pr_errors::CodedError;
use pr_health::{Phase, Status};
use tokio::sync::mpsc;

use super::*;

const QUIET: [(&str, &str); 2] = [
    ("APP__OPS__ADDR", "127.0.0.1:0"),
    ("APP__LOGGING__CONSOLE__ENABLED", "false"),
];

/// An app on `vars`, draining at once on a signal unless `vars` set a
/// readiness delay.
async fn app(vars: &[(&str, &str)]) -> (App, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel(4);
    let delay = ("APP__SHUTDOWN__READINESS_DELAY", "0s");
    let delay = (!vars.iter().any(|(k, _)| *k == delay.0)).then_some(delay);
    let app = App::builder("test-service")
        .version("9.9.9")
        .build_info("git_commit", "abc123")
        .env_vars(QUIET.iter().chain(vars).chain(&delay).copied())
        .install_globals(false)
        .signals(rx)
        .build()
        .await
        .unwrap();
    (app, tx)
}

async fn until_phase(lifecycle: &pr_health::Lifecycle, phase: Phase) {
    while lifecycle.phase() != phase {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn work_that_ends_by_itself_finishes_with_code_0() {
    let (app, _tx) = app(&[]).await;
    let lifecycle = app.health().lifecycle().clone();
    assert_eq!(lifecycle.phase(), Phase::Starting);
    let exit = app.run(tokio::time::sleep(Duration::from_secs(3))).await;
    assert_eq!(exit, Exit::Finished);
    assert_eq!(exit.code(), 0);
    assert_eq!(lifecycle.phase(), Phase::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_signal_turns_readiness_off_refuses_work_and_drains_in_time() {
    let (app, tx) = app(&[("APP__SHUTDOWN__DRAIN_TIMEOUT", "10s")]).await;
    let health = app.health().clone();
    let drain = app.drain();
    let in_flight = drain.try_start().unwrap();
    let worker = drain.clone();
    let run = tokio::spawn(app.run(async move {
        worker.draining().await;
        // The server stops accepting at once; a request in flight finishes later.
        tokio::time::sleep(Duration::from_secs(4)).await;
        drop(in_flight);
    }));
    until_phase(health.lifecycle(), Phase::Ready).await;
    assert_eq!(health.readiness().await.status, Status::Up);

    tx.send(()).await.unwrap();
    until_phase(health.lifecycle(), Phase::Draining).await;
    assert_eq!(health.readiness().await.status, Status::Down);
    assert_eq!(health.liveness().await.status, Status::Up);
    assert!(drain.is_draining());
    assert!(drain.try_start().is_none(), "new work is refused");
    assert_eq!(drain.in_flight(), 1);

    let exit = run.await.unwrap();
    assert_eq!(exit, Exit::Drained);
    assert_eq!(ExitCode::from(exit), ExitCode::from(0));
    assert_eq!(drain.in_flight(), 0);
    assert_eq!(health.lifecycle().phase(), Phase::Stopped);
}

#[tokio::test(start_paused = true)]
async fn readiness_goes_off_first_and_work_is_taken_until_the_delay_ends() {
    let vars = [
        ("APP__SHUTDOWN__READINESS_DELAY", "5s"),
        ("APP__SHUTDOWN__DRAIN_TIMEOUT", "10s"),
    ];
    let (app, tx) = app(&vars).await;
    let health = app.health().clone();
    let drain = app.drain();
    let worker = drain.clone();
    let run = tokio::spawn(app.run(async move { worker.draining().await }));
    until_phase(health.lifecycle(), Phase::Ready).await;
    let signalled = tokio::time::Instant::now();
    tx.send(()).await.unwrap();
    until_phase(health.lifecycle(), Phase::Draining).await;
    assert_eq!(health.readiness().await.status, Status::Down);
    // Still serving: a request routed before the load balancer saw the
    // readiness change is taken.
    assert!(!drain.is_draining());
    let late = drain.try_start().expect("work is taken during the delay");
    drain.draining().await;
    assert!(signalled.elapsed() >= Duration::from_secs(5));
    assert!(drain.try_start().is_none(), "new work is refused after it");
    drop(late);
    assert_eq!(run.await.unwrap(), Exit::Drained);
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_during_the_readiness_delay_ends_the_run() {
    let (app, tx) = app(&[("APP__SHUTDOWN__READINESS_DELAY", "1h")]).await;
    let health = app.health().clone();
    let run = tokio::spawn(app.run(std::future::pending()));
    until_phase(health.lifecycle(), Phase::Ready).await;
    tx.send(()).await.unwrap();
    until_phase(health.lifecycle(), Phase::Draining).await;
    let started = tokio::time::Instant::now();
    tx.send(()).await.unwrap();
    assert_eq!(run.await.unwrap(), Exit::Interrupted);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn work_still_running_at_the_deadline_exits_1() {
    let (app, tx) = app(&[("APP__SHUTDOWN__DRAIN_TIMEOUT", "2s")]).await;
    let drain = app.drain();
    let stuck = drain.try_start().unwrap();
    let started = tokio::time::Instant::now();
    let run = tokio::spawn(app.run(std::future::pending()));
    tx.send(()).await.unwrap();
    let exit = run.await.unwrap();
    assert_eq!(exit, Exit::DeadlineExceeded);
    assert_eq!(exit.code(), 1);
    assert_eq!(exit.as_str(), "deadline_exceeded");
    assert!(started.elapsed() >= Duration::from_secs(2));
    drop(stuck);
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_ends_the_run_at_once() {
    let (app, tx) = app(&[("APP__SHUTDOWN__DRAIN_TIMEOUT", "1h")]).await;
    let health = app.health().clone();
    let run = tokio::spawn(app.run(std::future::pending()));
    tx.send(()).await.unwrap();
    until_phase(health.lifecycle(), Phase::Draining).await;
    let started = tokio::time::Instant::now();
    tx.send(()).await.unwrap();
    let exit = run.await.unwrap();
    assert_eq!(exit, Exit::Interrupted);
    assert_eq!(exit.code(), 130);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn work_waits_for_guards_after_it_ends() {
    let (app, tx) = app(&[("APP__SHUTDOWN__DRAIN_TIMEOUT", "30s")]).await;
    let drain = app.drain();
    let guard = drain.try_start().unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(guard);
    });
    let started = tokio::time::Instant::now();
    let waiter = drain.clone();
    let run = tokio::spawn(app.run(async move { waiter.draining().await }));
    tx.send(()).await.unwrap();
    assert_eq!(run.await.unwrap(), Exit::Drained);
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[tokio::test]
async fn every_configuration_problem_is_reported_before_anything_starts() {
    let err = App::builder("bad")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__SHUTDOWN__DRAIN_TIMEOUT", "0s"),
            ("APP__METRICS__MAX_SERIES_PER_METRIC", "0"),
            ("APP__OPS__TOKEN", "short"),
            ("APP__LOGGING__FILTER", "info,=bogus=level"),
            ("APP__RESOURCES__INTERVAL", "1ms"),
        ])
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "app.invalid_config");
    let Error::InvalidConfig { source, .. } = &err else {
        panic!("{err}")
    };
    let keys: Vec<String> = source.problems().iter().map(|p| p.key.clone()).collect();
    for key in [
        "shutdown.drain_timeout",
        "metrics.max_series_per_metric",
        "ops.token",
        "resources.interval",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }
    assert!(keys.iter().any(|k| k.starts_with("logging")), "{keys:?}");
    let text = pr_errors::chain(&err).to_string();
    assert!(!text.contains("short"), "a secret is never echoed: {text}");
}

#[tokio::test]
async fn a_taken_ops_port_is_a_bind_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = App::builder("busy")
        .env_vars([
            ("APP__OPS__ADDR", addr.as_str()),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
        ])
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "app.bind_failed");
    assert!(err.to_string().contains(&addr), "{err}");
}

#[tokio::test]
async fn the_ops_server_can_be_turned_off() {
    let (app, _tx) = app(&[("APP__OPS__ENABLED", "false")]).await;
    assert_eq!(app.ops_addr(), None);
    assert!(format!("{app:?}").contains("test-service"));
    assert_eq!(app.name(), "test-service");
    assert!(!app.config().ops.enabled);
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

fn post(url: &str, body: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_server_serves_probes_metrics_loggers_info_and_status() {
    let (app, tx) = app(&[("APP__OPS__TOKEN", "a-long-enough-ops-token")]).await;
    let base = format!("http://{}", app.ops_addr().unwrap());
    app.status_board()
        .add("caches", || serde_json::json!({"quotes": {"hits": 7}}))
        .unwrap();
    assert!(
        app.status_board()
            .add("caches", || serde_json::Value::Null)
            .is_err()
    );
    metrics::with_local_recorder(&app.metrics().recorder(), || {
        metrics::counter!("test_requests_total").increment(2);
    });
    let status = app.status();
    assert_eq!(status["caches"]["quotes"]["hits"], 7);
    assert_eq!(status["config"]["generation"], 1);

    let b = base.clone();
    let before = tokio::task::spawn_blocking(move || get(&format!("{b}/health/ready")))
        .await
        .unwrap();
    assert_eq!(before.0, 503, "not ready while starting: {}", before.1);

    let health = app.health().clone();
    let drain = app.drain();
    let run = tokio::spawn(app.run(async move { drain.draining().await }));
    until_phase(health.lifecycle(), Phase::Ready).await;

    let b = base.clone();
    tokio::task::spawn_blocking(move || {
        let (code, body) = get(&format!("{b}/health/ready"));
        assert_eq!(code, 200, "{body}");
        let (code, body) = get(&format!("{b}/info"));
        assert_eq!(code, 200);
        let info: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(info["name"], "test-service");
        assert_eq!(info["version"], "9.9.9");
        assert_eq!(info["build"]["git_commit"], "abc123");
        assert_eq!(info["pid"], std::process::id());

        let (code, body) = get(&format!("{b}/status"));
        assert_eq!(code, 200);
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status["service"]["phase"], "ready");
        assert_eq!(status["service"]["name"], "test-service");
        assert_eq!(status["caches"]["quotes"]["hits"], 7);
        assert!(
            status["resources"]["process"]["resident_bytes"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert!(status["health"]["checks"].as_array().unwrap().len() >= 2);
        assert!(status["logging"]["outputs"].is_array());

        let (code, body) = get(&format!("{b}/metrics"));
        assert_eq!(code, 200);
        assert!(
            body.contains(r#"test_requests_total{service="test-service"} 2"#),
            "{body}"
        );

        let (code, body) = get(&format!("{b}/loggers"));
        assert_eq!(code, 200, "{body}");
        assert_eq!(post(&format!("{b}/loggers"), r#"{"filter":"debug"}"#), 401);
        let (code, _) = get(&format!("{b}/livez"));
        assert_eq!(code, 200);
    })
    .await
    .unwrap();

    tx.send(()).await.unwrap();
    assert_eq!(run.await.unwrap(), Exit::Drained);
}

#[test]
fn status_board_sections_can_be_listed_and_removed() {
    let board = StatusBoard::new();
    board.add("breakers", || serde_json::json!({})).unwrap();
    board.add("dlq", || serde_json::json!({"size": 0})).unwrap();
    assert_eq!(board.names(), ["breakers", "dlq"]);
    assert!(format!("{board:?}").contains("dlq"));
    assert!(board.remove("breakers"));
    assert!(!board.remove("breakers"));
    assert_eq!(board.render().len(), 1);
    let err = board
        .add("service", || serde_json::Value::Null)
        .unwrap_err();
    assert_eq!(err.code().as_str(), "app.duplicate_section");
}

#[test]
fn exit_codes_and_names() {
    for (exit, code, name) in [
        (Exit::Finished, 0, "finished"),
        (Exit::Drained, 0, "drained"),
        (Exit::DeadlineExceeded, 1, "deadline_exceeded"),
        (Exit::Interrupted, 130, "interrupted"),
    ] {
        assert_eq!(exit.code(), code);
        assert_eq!(exit.as_str(), name);
        assert_eq!(serde_json::to_value(exit).unwrap(), name);
    }
}

#[tokio::test(start_paused = true)]
async fn idle_resolves_when_the_last_guard_drops() {
    let drain = Drain::default();
    drain.idle().await;
    let a = drain.try_start().unwrap();
    let b = drain.try_start().unwrap();
    let waiter = drain.clone();
    let idle = tokio::spawn(async move { waiter.idle().await });
    tokio::task::yield_now().await;
    drop(a);
    tokio::task::yield_now().await;
    assert!(!idle.is_finished());
    drop(b);
    idle.await.unwrap();
    drain.start();
    drain.start();
    drain.draining().await;
}

/// A section's problem whose message holds the separators of the error's
/// text (`: `) stays one problem at its own key, and says nothing of the
/// value (which holds `; ` and `: ` too).
#[test]
fn a_problem_quoting_separators_stays_whole_at_its_key() {
    let mut config = <ServiceConfig>::default();
    config.ops.token = pr_config::SecretString::new("a-long-enough-ops-token");
    config.logging.filter = "info,x=nope; y: z".to_owned();
    let mut v = pr_config::Validator::new();
    pr_config::Validate::validate(&config, &mut v);
    let problems = v.problems().to_vec();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "logging.filter", "{problems:?}");
    assert!(
        problems[0].message.contains("directive 2: "),
        "{problems:?}"
    );
    assert!(!problems[0].message.contains("nope"), "{problems:?}");
}

#[test]
fn the_service_config_defaults_are_valid_and_serialize_without_secrets() {
    let mut config = <ServiceConfig>::default();
    config.ops.token = pr_config::SecretString::new("a-long-enough-ops-token");
    let mut v = pr_config::Validator::new();
    pr_config::Validate::validate(&config, &mut v);
    assert!(v.problems().is_empty(), "{:?}", v.problems());
    let text = serde_json::to_string(&config).unwrap();
    assert!(!text.contains("a-long-enough"), "{text}");
    assert_eq!(config.ops.addr.to_string(), "127.0.0.1:9464");
    assert_eq!(
        config.sections().shutdown.drain_timeout.as_std(),
        Duration::from_secs(30)
    );
    let builder = App::builder("x").config_file("a.toml").env_prefix("SVC");
    assert!(format!("{builder:?}").contains("SVC"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_token_comes_from_a_secret_file_and_unlocks_loggers() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("pr-facade-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ops-token");
    std::fs::write(&file, "a-long-enough-ops-token\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = file.display().to_string();
    let (app, tx) = app(&[("APP__OPS__TOKEN_FILE", path.as_str())]).await;
    assert_eq!(app.config().ops.token.expose(), "a-long-enough-ops-token");
    let base = format!("http://{}", app.ops_addr().unwrap());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let status = agent
            .post(format!("{base}/loggers"))
            .header("authorization", "Bearer a-long-enough-ops-token")
            .header("content-type", "application/json")
            .send(r#"{"filter":"debug"}"#)
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 200);
        assert_eq!(
            post(&format!("{base}/loggers"), r#"{"filter":"info"}"#),
            401
        );
    })
    .await
    .unwrap();
    assert_eq!(app.logging().levels().current(), "debug");
    drop(tx);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The console's policy allows its inline script and style by their
/// SHA-256: after an edit of `console.html` this prints the new hashes.
#[test]
fn the_console_policy_hashes_its_script_and_style() {
    use base64::Engine as _;
    let hash = |tag: &str| {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let start = console::PAGE.find(&open).unwrap() + open.len();
        let end = console::PAGE[start..].find(&close).unwrap() + start;
        let digest =
            ring::digest::digest(&ring::digest::SHA256, &console::PAGE.as_bytes()[start..end]);
        base64::engine::general_purpose::STANDARD.encode(digest)
    };
    assert_eq!(
        (hash("script").as_str(), hash("style").as_str()),
        (console::SCRIPT_SHA256, console::STYLE_SHA256),
        "console.rs: update SCRIPT_SHA256 and STYLE_SHA256 to the left values"
    );
    // One of each: the policy names no other.
    assert_eq!(console::PAGE.matches("<script").count(), 1);
    assert_eq!(console::PAGE.matches("<style").count(), 1);
    // Self-contained: no address outside the ops port.
    assert!(!console::PAGE.contains("http://") && !console::PAGE.contains("https://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_with_its_policy_unless_turned_off() {
    let (on, tx) = app(&[]).await;
    let base = format!("http://{}", on.ops_addr().unwrap());
    let (off, off_tx) = app(&[("APP__OPS__CONSOLE", "false")]).await;
    let off_base = format!("http://{}", off.ops_addr().unwrap());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let response = agent.get(format!("{base}/")).call().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
        assert_eq!(header("content-security-policy"), console::policy());
        assert!(header("content-security-policy").starts_with("default-src 'none'"));
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(get(&format!("{off_base}/")).0, 404);
    })
    .await
    .unwrap();
    drop((tx, off_tx));
}

#[tokio::test]
async fn a_group_readable_secret_file_is_refused_unless_the_policy_warns() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("pr-facade-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ops-token");
    std::fs::write(&file, "a-long-enough-ops-token").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let path = file.display().to_string();
    let vars = [
        ("APP__OPS__ADDR", "127.0.0.1:0"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
        ("APP__OPS__TOKEN_FILE", path.as_str()),
    ];
    let err = App::builder("strict")
        .env_vars(vars)
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "app.invalid_config");
    let app = App::builder("lenient")
        .env_vars(vars)
        .install_globals(false)
        .secret_file_policy(SecretFilePolicy::Warn)
        .build()
        .await
        .unwrap();
    assert_eq!(app.config().ops.token.expose(), "a-long-enough-ops-token");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Work admitted by `try_start` while `start` runs on another thread must be
/// counted before `start` looks at the count: once `start` has returned and
/// seen `n` units in flight, at most `n` guards exist (else
/// `idle()` can resolve while a request is being admitted after draining
/// began).
#[test]
fn no_work_is_admitted_behind_the_back_of_start() {
    for _ in 0..5_000 {
        let drain = Drain::new();
        let ready = Arc::new(std::sync::Barrier::new(2));
        let worker = {
            let drain = drain.clone();
            let ready = Arc::clone(&ready);
            std::thread::spawn(move || {
                let mut held = Vec::new();
                ready.wait();
                while let Some(guard) = drain.try_start() {
                    held.push(guard);
                }
                held
            })
        };
        ready.wait();
        std::hint::spin_loop();
        drain.start();
        let seen = drain.in_flight();
        let held = worker.join().unwrap();
        // `seen` may count a unit that then backs out; never fewer.
        assert!(
            held.len() <= seen,
            "a guard was handed out after start() counted {seen} in flight: {}",
            held.len()
        );
    }
}

/// A signal during the ops server's grace (here an ops request that never
/// ends and a 1 h `shutdown.ops_grace`) ends the run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_cuts_the_ops_grace_short() {
    let (app, tx) = app(&[("APP__SHUTDOWN__OPS_GRACE", "1h")]).await;
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    app.status_board()
        .add("stuck", move || {
            let _ = entered_tx.send(());
            let _ = release_rx.lock().unwrap().recv();
            serde_json::Value::Null
        })
        .unwrap();
    let url = format!("http://{}/status", app.ops_addr().unwrap());
    let lifecycle = app.health().lifecycle().clone();
    let drain = app.drain();
    let run = tokio::spawn(app.run(async move { drain.draining().await }));
    let request = std::thread::spawn(move || get(&url));
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
        .await
        .unwrap();
    tx.send(()).await.unwrap();
    // Drained at once (no work); now in the ops grace.
    until_phase(&lifecycle, Phase::Stopped).await;
    tx.send(()).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(60), run).await;
    drop(release_tx);
    let _ = request.join();
    assert_eq!(
        exit.expect("the run waited out the ops grace").unwrap(),
        Exit::Drained
    );
}

#[cfg(all(feature = "cache", feature = "resilience"))]
#[tokio::test(start_paused = true)]
async fn registered_components_show_in_status_and_health_once_each() {
    let (app, _tx) = app(&[]).await;
    let cache = pr_cache::MemoryCache::<String, String>::builder()
        .name("quotes")
        .max_entries(10)
        .record_stats()
        .build()
        .unwrap();
    cache.insert("a".to_owned(), "1".to_owned());
    cache.run_pending_tasks();
    let breaker = pr_resilience::breaker::CircuitBreaker::builder("db")
        .build()
        .unwrap();
    app.register(&cache).unwrap();
    app.register(&breaker).unwrap();
    let status = app.status();
    assert_eq!(status["caches"]["quotes"]["entries"], 1, "{status}");
    assert_eq!(status["breakers"]["db"]["state"], "closed", "{status}");
    assert!(app.health().names().iter().any(|name| name.contains("db")));
    assert!(matches!(
        app.register(&cache),
        Err(Error::DuplicateSection { name }) if name == "caches.quotes"
    ));
    assert!(matches!(app.register(&breaker), Err(Error::Health(_))));
}

/// The settings of a [`ServiceConfig<T>`] test: one of each kind of key.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    greeting: String,
    upstream: Upstream,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
struct Upstream {
    timeout: pr_config::Duration,
    retries: u32,
}

impl pr_config::Validate for Settings {
    fn validate(&self, v: &mut pr_config::Validator) {
        v.non_empty("greeting", &self.greeting);
        v.range("upstream.retries", &self.upstream.retries, &(0..=5));
    }
}

fn settings_app() -> AppBuilder<ServiceConfig<Settings>> {
    App::builder("settings-test")
        .with_settings::<Settings>()
        .install_globals(false)
}

#[tokio::test]
async fn settings_sit_beside_the_sections_and_their_problems_keep_key_and_source() {
    let vars = [
        ("APP__GREETING", "hello"),
        ("APP__UPSTREAM__TIMEOUT", "250ms"),
        ("APP__OPS__ADDR", "127.0.0.1:0"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
    ];
    let app = settings_app().env_vars(vars).build().await.unwrap();
    let config = app.config();
    assert_eq!(config.app.greeting, "hello");
    assert_eq!(
        config.app.upstream.timeout.as_std(),
        Duration::from_millis(250)
    );
    assert!(!config.logging.console.enabled);
    // Serialized, the settings sit at the top level too.
    let doc = serde_json::to_value(&*config).unwrap();
    assert_eq!(doc["greeting"], "hello");
    assert!(doc["ops"]["addr"].is_string());

    // Every problem at its key, in the settings and in the sections alike.
    let bad = [
        ("APP__UPSTREAM__TIMEOUT", "soon"),
        ("APP__UPSTREAM__RETRIES", "9"),
        ("APP__OPS__ADDR", "nowhere"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
    ];
    let err = settings_app().env_vars(bad).build().await.unwrap_err();
    let Error::InvalidConfig { source, .. } = &err else {
        panic!("{err}")
    };
    let mut keys: Vec<&str> = source.problems().iter().map(|p| p.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "greeting",
            "ops.addr",
            "upstream.retries",
            "upstream.timeout"
        ],
        "{err}"
    );
    let timeout = source
        .problems()
        .iter()
        .find(|p| p.key == "upstream.timeout");
    assert_eq!(
        timeout.unwrap().source,
        pr_config::Source::Env {
            name: "APP__UPSTREAM__TIMEOUT".into()
        }
    );
}

#[tokio::test]
async fn with_no_settings_a_key_outside_the_sections_is_a_problem() {
    let vars = [
        ("APP__OPS__ENABLED", "false"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
        ("APP__UPSTREM__TIMEOUT", "1s"),
    ];
    let err = App::builder("no-settings")
        .env_vars(vars)
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    assert!(
        pr_errors::chain(&err).to_string().contains("upstrem"),
        "{err}"
    );
}

#[tokio::test]
async fn a_changed_default_yields_to_files_and_variables() {
    let dir = pr_test_support::temp_dir("app-set-default");
    let file = dir.path().join("service.toml");
    std::fs::write(&file, "[shutdown]\ndrain_timeout = \"3s\"\n").unwrap();
    let vars = [
        ("APP__OPS__ENABLED", "false"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
        ("SVC_CONFIG", file.to_str().unwrap()),
    ];
    let app = settings_app()
        .env_vars(vars)
        .config_file_from_env("SVC_CONFIG", "absent.toml")
        .set_default("shutdown.drain_timeout", "10s")
        .set_default("shutdown.ops_grace", "2s")
        .set_default("greeting", "hi")
        .build()
        .await
        .unwrap();
    let config = app.config();
    assert_eq!(
        config.shutdown.drain_timeout.as_std(),
        Duration::from_secs(3)
    );
    assert_eq!(config.shutdown.ops_grace.as_std(), Duration::from_secs(2));
    assert_eq!(config.app.greeting, "hi");

    // The variable unset: the default file, which may be missing.
    let vars = [
        ("APP__OPS__ENABLED", "false"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
        ("APP__GREETING", "hey"),
    ];
    let app = settings_app()
        .env_vars(vars)
        .config_file_from_env("SVC_CONFIG", dir.path().join("absent.toml"))
        .build()
        .await
        .unwrap();
    assert_eq!(
        app.config().shutdown.drain_timeout.as_std(),
        Duration::from_secs(30)
    );
    // Named by the variable, the file must exist.
    let vars = [
        ("SVC_CONFIG", "/no/such/service.toml"),
        ("APP__GREETING", "hey"),
    ];
    let err = settings_app()
        .env_vars(vars)
        .config_file_from_env("SVC_CONFIG", "service.toml")
        .build()
        .await
        .unwrap_err();
    assert!(
        pr_errors::chain(&err)
            .to_string()
            .contains("/no/such/service.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_keys_are_logged_once_logging_is_up_or_refused_when_strict() {
    let dir = pr_test_support::temp_dir("app-unknown-keys");
    let log = dir.path().join("app.log");
    let file = dir.path().join("service.toml");
    let text = format!(
        "greeting = \"hi\"\n[upstrem]\nretries = 1\n[[logging.files]]\npath = {:?}\n",
        log.display().to_string()
    );
    std::fs::write(&file, text).unwrap();
    let vars = [
        ("APP__OPS__ENABLED", "false"),
        ("APP__LOGGING__CONSOLE__ENABLED", "false"),
    ];
    // `Settings` denies unknown fields; a lenient type only warns.
    #[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
    #[serde(default)]
    struct Lenient {
        greeting: String,
    }
    impl pr_config::Validate for Lenient {}
    let app = App::builder("unknown-keys")
        .with_settings::<Lenient>()
        .install_globals(false)
        .env_vars(vars)
        .config_file(&file)
        .build()
        .await
        .unwrap();
    app.logging().flush();
    let text = std::fs::read_to_string(&log).unwrap();
    let warned: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l["event"] == "config.unknown_key")
        .collect();
    assert_eq!(warned.len(), 1, "{text}");
    assert_eq!(warned[0]["key"], "upstrem.retries", "{text}");
    assert!(
        warned[0]["source"]
            .as_str()
            .unwrap()
            .contains("service.toml")
    );
    drop(app);

    let err = App::builder("unknown-keys")
        .with_settings::<Lenient>()
        .install_globals(false)
        .env_vars(vars)
        .config_file(&file)
        .strict(true)
        .build()
        .await
        .unwrap_err();
    assert!(
        pr_errors::chain(&err)
            .to_string()
            .contains("upstrem.retries"),
        "{err}"
    );
}

#[tokio::test]
async fn a_reload_applies_the_log_filter_and_names_what_needs_a_restart() {
    let dir = pr_test_support::temp_dir("app-reload-apply");
    let file = dir.path().join("service.toml");
    let text = "[logging]\nfilter = \"info\"\n[logging.console]\nenabled = false\n[ops]\nenabled = false\n";
    std::fs::write(&file, text).unwrap();
    let app = App::builder("reload-apply")
        .env_vars(Vec::<(String, String)>::new())
        .config_file(&file)
        .install_globals(false)
        .build()
        .await
        .unwrap();
    let restart = reload::RestartRequired::default();
    let levels = app.logging().levels();
    let changed = text
        .replace("filter = \"info\"", "filter = \"debug,hyper=warn\"")
        .replace(
            "enabled = false\n[ops]",
            "enabled = false\n[metrics]\nmax_series_per_metric = 77\n[ops]",
        )
        .replace(
            "[ops]\nenabled = false",
            "[ops]\nenabled = false\naddr = \"127.0.0.1:9999\"",
        )
        + "[shutdown]\ndrain_timeout = \"3s\"\n\
           [health]\ncheck_timeout = \"7s\"\ndegraded_http_status = 503\n\
           [resources]\ninterval = \"2s\"\ndisk_min_free = \"1GiB\"\ncgroups = false\n";
    std::fs::write(&file, changed).unwrap();
    let live = reload::Live {
        health: Some(app.health().clone()),
        sampler: Some(app.sampler().clone()),
        ..reload::Live::default()
    };
    let (generation, done) = reload::reload(app.config_handle(), &levels, &restart, &live).unwrap();
    assert_eq!(generation, 2);
    assert_eq!(
        done.applied,
        [
            "health.check_timeout",
            "health.degraded_http_status",
            "logging.filter",
            "resources.disk_min_free",
            "resources.interval",
        ]
    );
    // Taken by the running registry and sampler.
    assert_eq!(
        app.health().config().check_timeout.as_std(),
        Duration::from_secs(7)
    );
    assert_eq!(app.health().config().degraded_http_status, 503);
    assert_eq!(
        app.sampler().config().interval.as_std(),
        Duration::from_secs(2)
    );
    assert_eq!(app.sampler().config().disk_min_free.as_u64(), 1 << 30);
    assert!(app.sampler().config().cgroups, "read at start: kept");
    assert_eq!(levels.current(), "debug,hyper=warn");
    // Read at shutdown, so applied without a restart and not listed.
    assert_eq!(
        done.restart_required,
        [
            "metrics.max_series_per_metric",
            "ops.addr",
            "resources.cgroups"
        ]
    );
    assert_eq!(
        *restart.lock().unwrap(),
        [
            "metrics.max_series_per_metric",
            "ops.addr",
            "resources.cgroups"
        ]
    );
    assert_eq!(
        app.config().shutdown.drain_timeout.as_std(),
        Duration::from_secs(3)
    );

    // Unchanged again: nothing new, the pending list kept until a restart.
    let (_, done) = reload::reload(app.config_handle(), &levels, &restart, &live).unwrap();
    assert_eq!(done, reload::Applied::default());
    assert_eq!(restart.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn named_pipelines_come_from_the_resilience_section_with_their_breakers_registered() {
    let dir = pr_test_support::temp_dir("app-resilience");
    let file = dir.path().join("service.toml");
    let text = "[ops]\nenabled = false\n[logging.console]\nenabled = false\n\
                [resilience.retries.twice]\nmax_retries = 2\n\
                [resilience.breakers.quotes]\nminimum_calls = 5\n\
                [resilience.pipelines.quotes]\nretry = \"twice\"\nbreaker = \"quotes\"\n\
                [resilience.pipelines.prices]\nbreaker = \"quotes\"\n";
    std::fs::write(&file, text).unwrap();
    let app = App::builder("resilience")
        .env_vars(Vec::<(String, String)>::new())
        .config_file(&file)
        .install_globals(false)
        .build()
        .await
        .unwrap();
    let quotes = app.pipeline("quotes").expect("a pipeline named quotes");
    let prices = app.pipeline("prices").expect("a pipeline named prices");
    let unknown = app.pipeline("nothing").unwrap_err();
    assert_eq!(unknown.code().as_str(), "app.unknown_pipeline");
    assert_eq!(
        unknown.to_string(),
        "no pipeline named `nothing` in resilience.pipelines (defined: prices, quotes)"
    );
    // One breaker named by two pipelines, registered once.
    assert_eq!(quotes.breaker().unwrap().name(), "quotes");
    assert_eq!(prices.breaker().unwrap().name(), "quotes");
    let status = app.status();
    assert_eq!(status["breakers"]["quotes"]["state"], "closed", "{status}");
    assert!(app.health().names().iter().any(|n| n.contains("quotes")));

    // A pipeline naming a breaker that does not exist: a problem at its key.
    let bad = text.replace(
        "[resilience.pipelines.prices]\nbreaker = \"quotes\"",
        "[resilience.pipelines.prices]\nbreaker = \"qoutes\"",
    );
    std::fs::write(&file, bad).unwrap();
    let err = App::builder("resilience")
        .env_vars(Vec::<(String, String)>::new())
        .config_file(&file)
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    let Error::InvalidConfig { source, .. } = &err else {
        panic!("{err}")
    };
    let keys: Vec<&str> = source.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["resilience.pipelines.prices.breaker"], "{err}");
}

#[cfg(feature = "security")]
#[tokio::test]
async fn security_fail_on_refuses_to_start_listing_every_finding() {
    use std::os::unix::fs::MetadataExt as _;

    let dir = pr_test_support::temp_dir("app-security");
    let file = dir.path().join("service.toml");
    let build = |text: &str| {
        std::fs::write(&file, text).unwrap();
        App::builder("guarded")
            .env_vars(Vec::<(String, String)>::new())
            .config_file(&file)
            .install_globals(false)
            .build()
    };
    let quiet = "[ops]\nenabled = false\n[logging.console]\nenabled = false\n";
    // Root is critical; any other user can write the file it reads, a warning.
    // The owner of /proc/self is the process's effective user.
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let (finding, code) = if root {
        ("critical [env.running_as_root]", "env.running_as_root")
    } else {
        ("warning [env.config_writable]", "env.config_writable")
    };
    let Err(refused) = build(&format!("{quiet}[security]\nfail_on = \"warning\"\n")).await else {
        panic!("a finding at or above warning stops the start");
    };
    assert_eq!(refused.code().as_str(), "app.insecure_environment");
    let text = refused.to_string();
    assert!(
        text.starts_with("service `guarded` refuses to start: the environment check found problems at or above `warning` (security.fail_on):\n"),
        "{text}"
    );
    assert!(text.contains(finding), "{text}");

    // Unset (the default): the same findings are shown, and the service starts.
    let app = build(quiet).await.unwrap();
    let status = app.status();
    let codes: Vec<&str> = status["security"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&code), "{status}");
}

#[cfg(feature = "resilience")]
#[tokio::test]
async fn a_reload_retunes_named_breakers_and_a_changed_api_address_needs_a_restart() {
    #[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
    #[serde(default)]
    struct Settings {
        api: ApiListener,
    }
    impl pr_config::Validate for Settings {
        fn validate(&self, v: &mut pr_config::Validator) {
            v.nested("api", &self.api);
        }
    }
    let dir = pr_test_support::temp_dir("app-reload-live");
    let file = dir.path().join("service.toml");
    let text = "[ops]\nenabled = false\n[logging.console]\nenabled = false\n\
                [api]\naddr = \"127.0.0.1:0\"\n\
                [resilience.breakers.quotes]\nminimum_calls = 100\nwindow_size = 10\n";
    std::fs::write(&file, text).unwrap();
    let app = App::builder("reload-live")
        .with_settings::<Settings>()
        .env_vars(Vec::<(String, String)>::new())
        .config_file(&file)
        .install_globals(false)
        .api(|config: &ServiceConfig<Settings>| config.app.api.clone())
        .build()
        .await
        .unwrap();
    let select: ApiSelector<ServiceConfig<Settings>> =
        Arc::new(|config: &ServiceConfig<Settings>| config.app.api.clone());
    let bound = serde_json::to_value(&app.config().app.api).unwrap();
    let live = reload::Live {
        api: Some((select, bound)),
        policies: app.policies.clone(),
        ..reload::Live::default()
    };
    let changed = text
        .replace("127.0.0.1:0", "127.0.0.1:1")
        .replace("minimum_calls = 100", "minimum_calls = 5")
        .replace("window_size = 10", "window_size = 20");
    std::fs::write(&file, changed).unwrap();
    let (restart, levels) = (reload::RestartRequired::default(), app.logging().levels());
    let (_, done) = reload::reload(app.config_handle(), &levels, &restart, &live).unwrap();
    // The threshold and the window (a new one of 20) applied live; the address waits for a
    // restart.
    assert_eq!(
        done.applied,
        [
            "resilience.breakers.quotes.minimum_calls",
            "resilience.breakers.quotes.window_size"
        ]
    );
    assert_eq!(done.restart_required, ["api.addr"]);
}

#[cfg(feature = "watch")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_config_file_is_applied_when_it_changes() {
    let dir = pr_test_support::temp_dir("app-watch");
    let file = dir.path().join("service.toml");
    let text = "[logging]\nfilter = \"info\"\n[logging.console]\nenabled = false\n[ops]\nenabled = false\n";
    std::fs::write(&file, text).unwrap();
    let interval = Duration::from_millis(20);
    let app = App::builder("watched")
        .env_vars(Vec::<(String, String)>::new())
        .config_file(&file)
        .install_globals(false)
        .watch_config(pr_config::WatchMode::Poll {
            interval,
            debounce: interval,
        })
        .build()
        .await
        .unwrap();
    let levels = app.logging().levels();
    // Replaced as editors and Kubernetes do, in one rename: never half written.
    let next = dir.path().join("service.toml.next");
    std::fs::write(&next, text.replace("\"info\"", "\"debug\"")).unwrap();
    std::fs::rename(&next, &file).unwrap();
    // The watcher polls on real time: wait for it, bounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while levels.current() != "debug" {
        assert!(Instant::now() < deadline, "the change was never applied");
        tokio::time::sleep(interval).await;
    }
    // One reload or more (a poll may see the rename's steps apart).
    assert!(app.config_handle().status().generation >= 2);
}

/// Collects the `event` field of every event it sees.
#[derive(Clone, Default)]
struct EventNames(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for EventNames {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Visit<'a>(&'a mut Vec<String>);
        impl tracing::field::Visit for Visit<'_> {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "event" {
                    self.0.push(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        event.record(&mut Visit(&mut self.0.lock().unwrap()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_layer_given_to_the_builder_sees_the_apps_events() {
    let names = EventNames::default();
    let app = App::builder("test-service")
        .env_vars(QUIET.iter().copied())
        .install_globals(false)
        .logging_layer(names.clone())
        .build()
        .await
        .unwrap();
    let exit = app.run(std::future::ready(())).await;
    assert_eq!(exit, Exit::Finished);
    let seen = names.0.lock().unwrap().clone();
    assert!(seen.iter().any(|e| e == "app.ready"), "{seen:?}");
}
