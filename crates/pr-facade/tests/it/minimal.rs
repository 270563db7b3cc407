//! `examples/minimal.rs`, the README's quick start, driven as a user runs it: settings from a
//! file and the environment, forecasts from a real upstream through its pipeline and its cache,
//! `/metrics` promtool-clean with the cache's and the breaker's series, `/status` with their
//! sections, SIGTERM with readiness 503 while the API still serves.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pr_test_support::check_metrics;
use serde_json::Value;

use crate::e2e::{Service, get};

/// An upstream answering `GET /forecast/{id}` with one line, counting the requests it serves.
fn upstream() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&served);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or_default();
            let id = line.split('/').nth(2).and_then(|p| p.split(' ').next());
            let body = format!("sunny at {}", id.unwrap_or("?"));
            // The rest of the head, then one answer and the connection closed.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = (&stream).write_all(answer.as_bytes());
        }
    });
    (base, served)
}

fn metrics_with(service: &Service, names: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let (status, text) = get(&format!("{}/metrics", service.ops));
        assert_eq!(status, 200, "{text}");
        if names.iter().all(|name| text.contains(name)) {
            return text;
        }
        // The server's request histogram is recorded as the response ends.
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{names:?} missing:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_quick_start_serves_caches_shows_and_shuts_down() {
    let lines = std::fs::read_to_string(crate::e2e::repo_path(
        "crates/pr-facade/examples/minimal.rs",
    ))
    .unwrap()
    .lines()
    .count();
    assert!(lines <= 60, "examples/minimal.rs has {lines} lines");
    let readme = std::fs::read_to_string(crate::e2e::repo_path("README.md")).unwrap();
    let example = std::fs::read_to_string(crate::e2e::repo_path(
        "crates/pr-facade/examples/minimal.rs",
    ))
    .unwrap();
    assert!(
        readme.contains(&format!("```text\n{example}```")),
        "the README's quick start is not examples/minimal.rs"
    );

    let (base, served) = upstream();
    let config = format!(
        "[upstream]\nbase_url = {base:?}\ntimeout = \"5s\"\n\
         [cache]\nname = \"forecasts\"\nrecord_stats = true\nmax_entries = 1000\n\
         [shutdown]\nreadiness_delay = \"1h\"\n"
    );
    let mut service = Service::start_example("minimal", &config);

    let (status, body) = get(&format!("{}/forecast/7", service.api));
    assert_eq!((status, body.as_str()), (200, "sunny at 7"));
    let (status, body) = get(&format!("{}/forecast/7", service.api));
    assert_eq!((status, body.as_str()), (200, "sunny at 7"));
    assert_eq!(
        served.load(Ordering::SeqCst),
        1,
        "the second answer came from the cache"
    );
    let (status, body) = get(&format!("{}/forecast/not-a-city", service.api));
    assert_eq!(status, 400, "{body}");

    let text = metrics_with(
        &service,
        &[
            "pr_cache_hits_total",
            "pr_resilience_breaker_calls_total",
            "http_server_request_duration_seconds",
        ],
    );
    if let Err(said) = check_metrics(&text) {
        panic!("promtool check metrics:\n{said}\n{text}");
    }
    // The shipped dashboard's outbound panels query what the client exposes.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::e2e::repo_path("docs/deploy/grafana-dashboard.json"))
            .unwrap(),
    )
    .unwrap();
    let client: Vec<String> = crate::e2e::dashboard_metric_names(&dashboard)
        .into_iter()
        .filter(|name| name.starts_with("http_client_"))
        .collect();
    assert!(!client.is_empty(), "the dashboard has no outbound panel");
    for name in client {
        assert!(
            text.contains(&format!("\n{name}{{")),
            "{name} missing:\n{text}"
        );
    }
    let (status, body) = get(&format!("{}/status", service.ops));
    assert_eq!(status, 200, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["caches"]["forecasts"]["hits"], 1, "{body}");
    assert_eq!(status["breakers"]["upstream"]["state"], "closed", "{body}");
    let clients = &status["limiters"]["http.clients"];
    assert_eq!(
        (clients["keys"].as_u64(), clients["refused"].as_u64()),
        (Some(1), Some(0)),
        "{body}"
    );
    // The cache's figures are read at each scrape: a hit shows in the next one.
    assert_eq!(get(&format!("{}/forecast/7", service.api)).0, 200);
    let (_, text) = get(&format!("{}/metrics", service.ops));
    let hits = text.lines().find(|line| {
        line.starts_with("pr_cache_hits_total{") && line.contains("cache=\"forecasts\"")
    });
    assert_eq!(
        hits.and_then(|line| line.rsplit(' ').next()),
        Some("2"),
        "{text}"
    );

    // SIGTERM: readiness 503 at once, the API still answering through the readiness delay.
    service.terminate();
    let started = Instant::now();
    while get(&format!("{}/health/ready", service.ops)).0 != 503 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "readiness never turned 503"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (status, body) = get(&format!("{}/forecast/8", service.api));
    assert_eq!((status, body.as_str()), (200, "sunny at 8"));
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(130), "{}", service.output());
}
