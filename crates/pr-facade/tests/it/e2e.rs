//! End to end: the demo service (`examples/service/`) as a child process
//! on free ports, driven over real HTTP, scraped, checked with promtool,
//! stopped with SIGTERM while a request is in flight.
//!
//! The example binary is the one `cargo test` builds beside this test (the
//! test builds it when it is missing, as under coverage tools). Every wait
//! polls with a generous limit; the child is killed when the test fails.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pr_test_support::{TempDir, check_metrics, temp_dir};
use serde_json::Value;

/// Long enough for a loaded 2-core machine; polling ends as soon as it can.
const PATIENCE: Duration = Duration::from_secs(120);

/// The example binary, built by cargo now (a no-op when `cargo test` has
/// just built it) with this test's features, in this test's target
/// directory: `cargo test` builds examples but does not copy them to
/// `target/<profile>/examples/service`, so the path is read from cargo.
fn example_binary(name: &'static str) -> PathBuf {
    static BINARIES: Mutex<Vec<(&str, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BINARIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, path)) = built.iter().find(|(n, _)| *n == name) {
        return path.clone();
    }
    let path = build_example(name);
    built.push((name, path.clone()));
    path
}

/// Builds the example `name` with cargo; its path.
fn build_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let mut profile = profile_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut target_dir = profile_dir.parent().unwrap().to_path_buf();
    // Under a coverage tool (tarpaulin builds no examples, with its own
    // flags, in its own target directory) build a plain one in the
    // workspace's target directory instead of clobbering its artifacts.
    let coverage = std::env::var_os("LLVM_PROFILE_FILE").is_some();
    if coverage {
        profile = "debug".to_owned();
        target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        );
    }
    let mut cargo = Command::new(env!("CARGO"));
    if coverage {
        for var in ["LLVM_PROFILE_FILE", "CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS"] {
            cargo.env_remove(var);
        }
    }
    let out = cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "-p",
            "pr-facade",
            "--example",
            name,
            "--all-features",
        ])
        .args(["--message-format", "json-render-diagnostics"])
        .args([
            "--profile",
            if profile == "debug" { "dev" } else { &profile },
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "building the example failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo named no executable for the example")
}

/// The running demo; killed when dropped (a failed test leaves nothing behind).
pub(crate) struct Service {
    child: Child,
    pub(crate) api: String,
    pub(crate) ops: String,
    pub(crate) dir: PathBuf,
    // Removed on drop, also when the test failed, so no run leaves its
    // data behind.
    _temp: TempDir,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Starts the example with `config` (TOML) and waits until it is ready.
    pub(crate) fn start(config: &str) -> Self {
        let mut service = Self::spawn(config);
        service.wait_until_ready();
        service
    }

    /// Starts the example with its open-files limit set to `open_files` and
    /// waits until it is ready.
    pub(crate) fn start_with_open_files(config: &str, open_files: u64) -> Self {
        let mut service = Self::spawn_with_open_files(config, Some(open_files));
        service.wait_until_ready();
        service
    }

    /// Starts the example with `config` (TOML) without waiting for anything;
    /// its log file (every level, JSON) is [`log_file`](Self::log_file).
    pub(crate) fn spawn(config: &str) -> Self {
        Self::spawn_with_open_files(config, None)
    }

    /// Starts the example as [`spawn`](Self::spawn) does, with its
    /// open-files limit (soft and hard) set to `open_files` when given.
    pub(crate) fn spawn_with_open_files(config: &str, open_files: Option<u64>) -> Self {
        Self::spawn_with(config, open_files, false)
    }

    /// Starts the example with its stdout a pipe nobody reads (a stalled
    /// log collector) and waits until it is ready.
    pub(crate) fn start_with_stalled_stdout(config: &str) -> Self {
        let mut service = Self::spawn_with(config, None, true);
        service.wait_until_ready();
        service
    }

    /// Starts the example `name` (a service on `App`, as the demo is) with
    /// `config` and waits until it is ready.
    pub(crate) fn start_example(name: &'static str, config: &str) -> Self {
        let mut service = Self::spawn_example(name, config, None, false);
        service.wait_until_ready();
        service
    }

    fn spawn_with(config: &str, open_files: Option<u64>, stalled_stdout: bool) -> Self {
        Self::spawn_example("service", config, open_files, stalled_stdout)
    }

    fn spawn_example(
        name: &'static str,
        config: &str,
        open_files: Option<u64>,
        stalled_stdout: bool,
    ) -> Self {
        let temp = temp_dir("e2e");
        let dir = temp.path().to_owned();
        let file = dir.join("service.toml");
        let log = dir.join("logs").join("service.log");
        let text = format!(
            "{config}\n[[logging.files]]\npath = {:?}\nlevel = \"trace\"\n",
            log.display().to_string()
        );
        std::fs::write(&file, text).unwrap();
        let mut command = match open_files {
            // The shell sets the limit, then becomes the service.
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\""))
                    .arg(example_binary(name));
                sh
            }
            None => Command::new(example_binary(name)),
        };
        // Drained at SIGTERM at once, unless the test is about the delay.
        if !config.contains("readiness_delay") {
            command.env("APP__SHUTDOWN__READINESS_DELAY", "0s");
        }
        // The queue's free-space bounds read the host's disk, which a CI
        // machine fills with build output (5 % of a large disk is many
        // gigabytes): off, so health reports only what the test does,
        // unless the test is about them.
        if name == "service" && !config.contains("min_free") {
            command.env("APP__DLQ__MIN_FREE", "0");
            command.env("APP__DLQ__MIN_FREE_PERCENT", "0");
        }
        let child = command
            .current_dir(&dir)
            .env("APP_CONFIG_FILE", &file)
            // Ports the kernel picks, read back from the log: a port probed free and then
            // bound by the service can be taken in between by another test's process.
            .env("APP__API__ADDR", "127.0.0.1:0")
            .env("APP__OPS__ADDR", "127.0.0.1:0")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(if stalled_stdout {
                // The pipe stays in `child`, open and never read.
                Stdio::piped()
            } else {
                File::create(dir.join("stdout.log")).unwrap().into()
            })
            .stderr(File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let mut service = Self {
            child,
            api: String::new(),
            ops: String::new(),
            dir,
            _temp: temp,
        };
        service.read_addresses();
        service
    }

    /// Fills `api` and `ops` from the `app.listening` events, logged once the listeners are
    /// bound; left empty when the service exits first (its test reads why).
    fn read_addresses(&mut self) {
        let started = Instant::now();
        while self.api.is_empty() || self.ops.is_empty() {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            for line in log
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            {
                let (Some(listener), Some(addr)) =
                    (line["listener"].as_str(), line["addr"].as_str())
                else {
                    continue;
                };
                match (line["event"].as_str(), listener) {
                    (Some("app.listening"), "api") => self.api = format!("http://{addr}"),
                    (Some("app.listening"), "ops") => self.ops = format!("http://{addr}"),
                    _ => {}
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the service never logged where it listens:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The JSON log file the service writes.
    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.join("logs").join("service.log")
    }

    /// Waits until the log file has a line whose `event` is `event`.
    pub(crate) fn wait_for_event(&mut self, event: &str) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the service exited early ({status}):\n{}", self.output());
            }
            let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            let logged = log
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .any(|l| l["event"] == event);
            if logged {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the service never logged {event}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn output(&self) -> String {
        let err = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        let out = std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default();
        format!("stderr:\n{err}\nstdout:\n{out}")
    }

    fn wait_until_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the service exited early ({status}):\n{}", self.output());
            }
            if let Ok((200, _)) = try_get(&format!("{}/health/ready", self.ops)) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the service did not become ready:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        self.signal(rustix::process::Signal::TERM);
    }

    /// Sends `signal`.
    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Waits for the child to exit; its exit code.
    pub(crate) fn wait_for_exit(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the service did not exit:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn try_get(url: &str) -> Result<(u16, String), ureq::Error> {
    let mut response = agent().get(url).call()?;
    let status = response.status().as_u16();
    Ok((status, response.body_mut().read_to_string()?))
}

pub(crate) fn get(url: &str) -> (u16, String) {
    try_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn get_json(url: &str) -> Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// The metric names of an exposition text (families and their series).
pub(crate) fn metric_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The metric names a Grafana dashboard's queries use.
pub(crate) fn dashboard_metric_names(dashboard: &Value) -> BTreeSet<String> {
    let mut exprs = Vec::new();
    collect_exprs(dashboard, &mut exprs);
    let mut names = BTreeSet::new();
    for expr in exprs {
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
            let metricish = (word.starts_with("pr_")
                || word.starts_with("process_")
                || word.starts_with("http_server_")
                || word.starts_with("http_client_")
                || word.starts_with("demo_"))
                && !word.contains(':');
            if metricish {
                names.insert(word.to_owned());
            }
        }
    }
    names
}

fn collect_exprs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "expr" {
                    if let Value::String(s) = v {
                        out.push(s.clone());
                    }
                } else {
                    collect_exprs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

pub(crate) fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

#[test]
fn the_demo_service_serves_drains_on_sigterm_and_exits_0() {
    let mut service = Service::start(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"1ms\"\nmax_latency = \"5ms\"\ntest_knobs = true\n\
         [shutdown]\ndrain_timeout = \"60s\"\n\
         [http.rate_limit]\nenabled = true\npermits = 2\nburst = 10\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );

    // The API: a quote from the dependency, then the same from the cache.
    let (status, body) = get(&format!("{}/quote/ACME", service.api));
    assert_eq!(status, 200, "{body}");
    let quote: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(quote["symbol"], "ACME");
    assert_eq!(quote["source"], "dependency", "{body}");
    assert!(quote["price"].is_number(), "{body}");
    let (status, body) = get(&format!("{}/quote/ACME", service.api));
    assert_eq!(status, 200, "{body}");
    let cached: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cached["source"], "cache", "{body}");
    assert_eq!(cached["price"], quote["price"]);

    // An injected failure: retried by the pipeline, then answered with
    // problem details naming the dependency's code.
    let (status, body) = get(&format!("{}/quote/ACME?fail=true", service.api));
    assert_eq!(status, 502, "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 502);
    assert_eq!(problem["code"], "demo.dependency_failed");

    // One greedy client is limited (429, Retry-After, problem details); the
    // others are not. The test is a trusted proxy here: the client is the
    // address it forwards.
    let mut limited = 0;
    for _ in 0..30 {
        let mut response = agent()
            .get(format!("{}/quote/GREEDY", service.api))
            .header("x-forwarded-for", "198.51.100.7")
            .call()
            .unwrap();
        if response.status().as_u16() == 429 {
            limited += 1;
            let retry_after = response.headers().get("retry-after").cloned();
            assert!(retry_after.is_some(), "429 without Retry-After");
            let body = response.body_mut().read_to_string().unwrap();
            let problem: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(problem["code"], "resilience.rate_limited", "{body}");
        }
    }
    assert!(
        limited >= 10,
        "only {limited} of 30 greedy requests were limited"
    );
    let (status, body) = get(&format!("{}/quote/ACME", service.api));
    assert_eq!(status, 200, "another client is not limited: {body}");

    // /status, /health, /info.
    let status_doc = get_json(&format!("{}/status", service.ops));
    assert_eq!(status_doc["service"]["name"], "pr-demo");
    assert_eq!(status_doc["service"]["phase"], "ready");
    assert_eq!(status_doc["config"]["generation"], 1);
    assert!(
        status_doc["resources"]["process"]["resident_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    // The breaker saw the three attempts of the failed call (1 + 2 retries)
    // besides the successful ones; the cache answered at least twice; the failed quote waits
    // in the dead-letter queue.
    let breaker = &status_doc["breakers"]["quotes"];
    assert_eq!(breaker["state"], "closed", "{status_doc}");
    assert_eq!(breaker["failures"], 3, "{status_doc}");
    assert!(
        status_doc["caches"]["quotes"]["hits"].as_u64() >= Some(2),
        "{status_doc}"
    );
    assert_eq!(status_doc["dlq"]["quotes"]["records"], 1, "{status_doc}");
    let health = get_json(&format!("{}/health", service.ops));
    assert_eq!(health["status"], "UP", "{health}");
    let info = get_json(&format!("{}/info", service.ops));
    assert_eq!(info["name"], "pr-demo");

    // /metrics passes promtool, and holds every metric the dashboard shows.
    let (status, metrics) = get(&format!("{}/metrics", service.ops));
    assert_eq!(status, 200);
    if let Err(said) = check_metrics(&metrics) {
        panic!("promtool check metrics: {said}\n{metrics}");
    }
    let exposed = metric_names(&metrics);
    for family in [
        "http_server_request_duration_seconds_count",
        "http_server_active_requests",
        "pr_resilience_retries_total",
        "pr_resilience_breaker_calls_total",
        "pr_resilience_ratelimit_rejected_total",
        "pr_cache_hits_total",
        "pr_logging_lines_total",
        "pr_health_check_up",
        "process_resident_memory_bytes",
    ] {
        assert!(exposed.contains(family), "{family} missing:\n{metrics}");
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("docs/deploy/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let queried = dashboard_metric_names(&dashboard);
    assert!(queried.len() >= 8, "{queried:?}");
    // The outbound client's panels are checked against the quick start,
    // which calls out over HTTP (the demo's dependency is simulated).
    let missing: Vec<&String> = queried
        .iter()
        .filter(|name| !name.starts_with("http_client_"))
        .filter(|name| {
            !exposed.contains(*name)
                && !["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| exposed.contains(&format!("{name}{s}")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics /metrics lacks: {missing:?}"
    );

    // SIGTERM with a request in flight: readiness turns 503 while the
    // request finishes, then the process exits 0.
    let slow_url = format!("{}/quote/SLOW?delay_ms=4000", service.api);
    let slow = std::thread::spawn(move || get(&slow_url));
    let started = Instant::now();
    loop {
        let doc = get_json(&format!("{}/status", service.ops));
        if doc["service"]["in_flight"].as_u64() >= Some(1) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the slow request never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    service.terminate();
    let started = Instant::now();
    let mut saw_503 = false;
    while !slow.is_finished() && started.elapsed() < PATIENCE {
        match try_get(&format!("{}/health/ready", service.ops)) {
            Ok((503, _)) => {
                saw_503 = true;
                break;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the ops server went away during the drain: {e}"),
        }
    }
    assert!(saw_503, "readiness never turned 503 during the drain");
    let (status, body) = slow.join().unwrap();
    assert_eq!(status, 200, "the in-flight request was cut: {body}");
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());

    // Every line of the log file is JSON, the last ones tell the shutdown.
    let log = std::fs::read_to_string(service.dir.join("logs").join("service.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 5, "{log}");
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "app.stopped" && l["exit"] == "drained"),
        "{log}"
    );
    assert!(lines.iter().any(|l| l["event"] == "app.draining"), "{log}");
}

#[test]
fn a_bad_setting_stops_the_demo_before_it_starts_with_every_problem() {
    let temp = temp_dir("bad-config");
    let dir = temp.path();
    let out = Command::new(example_binary("service"))
        .current_dir(dir)
        .env("APP__API__ADDR", "127.0.0.1:0")
        .env("APP__OPS__ADDR", "127.0.0.1:0")
        .env("APP__DEPENDENCY__FAILURE_RATE", "2")
        .env("APP__SHUTDOWN__DRAIN_TIMEOUT", "soon")
        .env("APP__DLQ__MAX_RECORDS", "0")
        .env("APP__API__LIMITS__MAX_HEADER_SIZE", "1KiB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("app.invalid_config"), "{stderr}");
    assert!(stderr.contains("dependency.failure_rate"), "{stderr}");
    assert!(stderr.contains("APP__SHUTDOWN__DRAIN_TIMEOUT"), "{stderr}");
    // The service's own sections too, in the same report.
    assert!(stderr.contains("dlq.max_records"), "{stderr}");
    assert!(stderr.contains("api.limits.max_header_size"), "{stderr}");
    // Nothing was created: no log file, no queue directory.
    assert!(!dir.join("data").exists(), "{stderr}");
}

#[test]
fn a_busy_api_port_stops_the_demo_before_it_starts_with_the_reason_on_stderr() {
    let temp = temp_dir("busy-port");
    let dir = temp.path();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = Command::new(example_binary("service"))
        .current_dir(dir)
        .env("APP__API__ADDR", taken.local_addr().unwrap().to_string())
        .env("APP__OPS__ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("app.bind_failed"), "{stderr}");
    assert!(stderr.contains("the api server cannot listen"), "{stderr}");
    assert!(stderr.contains("in use"), "the OS reason: {stderr}");
    // Refused before logging opened its file or "service started" was said.
    assert!(!dir.join("data").exists(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("app.started"), "{stdout}");
}

#[test]
fn a_second_sigterm_ends_the_drain_at_once_with_130() {
    let mut service = Service::start(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"1ms\"\nmax_latency = \"2ms\"\ntest_knobs = true\n\
         [shutdown]\ndrain_timeout = \"300s\"\n",
    );
    // A request that would keep the drain going for a long time.
    let slow_url = format!("{}/quote/STUCK?delay_ms=10000", service.api);
    let _slow = std::thread::spawn(move || try_get(&slow_url));
    let started = Instant::now();
    while get_json(&format!("{}/status", service.ops))["service"]["in_flight"].as_u64() < Some(1) {
        assert!(
            started.elapsed() < PATIENCE,
            "the slow request never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    service.terminate();
    let started = Instant::now();
    while get_json(&format!("{}/status", service.ops))["service"]["draining"] != true {
        assert!(started.elapsed() < PATIENCE, "the drain never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(130), "{}", service.output());
}

#[test]
fn sighup_reloads_the_configuration_and_the_demo_keeps_serving() {
    let mut service = Service::start("[dependency]\nfailure_rate = 0.0\n");
    // A good file: reloaded, generation 2, still serving.
    service.signal(rustix::process::Signal::HUP);
    service.wait_for_event("app.reloaded");
    let (status, body) = get(&format!("{}/health/live", service.ops));
    assert_eq!(status, 200, "{body}");
    let doc = get_json(&format!("{}/status", service.ops));
    assert_eq!(doc["config"]["generation"], 2, "{doc}");
    assert_eq!(
        doc["config"]["restart_required"],
        serde_json::json!([]),
        "{doc}"
    );
    assert_eq!(doc["service"]["phase"], "ready", "{doc}");
    // A bad file: refused, the previous configuration stays, still serving.
    let file = service.dir.join("service.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("failure_rate = 0.0", "failure_rate = 7.0"),
    )
    .unwrap();
    service.signal(rustix::process::Signal::HUP);
    service.wait_for_event("app.reload_failed");
    let (status, body) = get(&format!("{}/quote/ACME", service.api));
    assert_eq!(status, 200, "{body}");
    let doc = get_json(&format!("{}/status", service.ops));
    assert_eq!(doc["config"]["generation"], 2, "{doc}");
    assert_eq!(doc["config"]["failures"], 1, "{doc}");
    // SIGTERM still drains and exits 0.
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());
}

/// SIGTERM turns readiness off at once while the API still serves for the readiness delay (the
/// requests a load balancer routed before it saw the change); a second signal ends it.
#[test]
fn readiness_turns_503_while_the_api_still_serves() {
    let mut service =
        Service::start("[dependency]\nfailure_rate = 0.0\n[shutdown]\nreadiness_delay = \"1h\"\n");
    service.terminate();
    let started = Instant::now();
    while get(&format!("{}/health/ready", service.ops)).0 != 503 {
        assert!(started.elapsed() < PATIENCE, "readiness never turned 503");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (status, body) = get(&format!("{}/quote/ACME", service.api));
    assert_eq!(
        status, 200,
        "the API refused a request during the delay: {body}"
    );
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(130), "{}", service.output());
}

/// A reload retunes a named breaker on the running demo (its window kept), and names the
/// listener settings that only a restart applies.
#[test]
fn a_reload_retunes_the_breaker_and_names_what_needs_a_restart() {
    let knobs = "[dependency]\nfailure_rate = 0.0\nmin_latency = \"1ms\"\nmax_latency = \"2ms\"\n\
                 test_knobs = true\n";
    let mut service = Service::start(&format!(
        "{knobs}[resilience.breakers.quotes]\nminimum_calls = 1000\n"
    ));
    let fail = format!("{}/quote/ACME?fail=true", service.api);
    for _ in 0..4 {
        assert_eq!(get(&fail).0, 502);
    }
    let breaker = |service: &Service| {
        get_json(&format!("{}/status", service.ops))["breakers"]["quotes"].clone()
    };
    assert_eq!(
        breaker(&service)["state"],
        "closed",
        "under its minimum of calls"
    );

    let file = service.dir.join("service.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replace("minimum_calls = 1000", "minimum_calls = 5")
        + "[api.limits]\nidle_timeout = \"61s\"\n";
    std::fs::write(&file, text).unwrap();
    service.signal(rustix::process::Signal::HUP);
    service.wait_for_event("breaker.retuned");
    let doc = get_json(&format!("{}/status", service.ops));
    assert_eq!(doc["config"]["generation"], 2, "{doc}");
    assert_eq!(
        doc["config"]["restart_required"],
        serde_json::json!(["api.limits.idle_timeout"]),
        "{doc}"
    );
    // The window kept its failures: the next one opens the breaker.
    assert!(breaker(&service)["calls"].as_u64() >= Some(12), "{doc}");
    assert_eq!(get(&fail).0, 503);
    assert_eq!(breaker(&service)["state"], "open");
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());
}
