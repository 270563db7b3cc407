//! Client-chosen keys bounded at the edge of the demo service, driven as a
//! hostile client would over real HTTP: an over-long or odd symbol is
//! refused before it reaches the cache; the test knobs (`?fail`,
//! `?delay_ms`) are refused unless configured; a client rotating identity headers
//! is still one client to the rate limiter; thousands of distinct long
//! symbols leave the child's resident memory within a stated bound (its
//! `VmRSS`, read from `/proc/<pid>/status`).

use std::thread;

use serde_json::Value;

use crate::e2e::{Service, agent, get};

/// The child's resident set, in bytes, from `/proc/<pid>/status`.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in:\n{status}"));
    kib * 1024
}

/// A problem+json answer: its status, parsed body and raw text.
fn problem(url: &str) -> (u16, Value, String) {
    let mut response = agent().get(url).call().unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.body_mut().read_to_string().unwrap();
    assert_eq!(content_type, "application/problem+json", "{url}: {body}");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, json, body)
}

#[test]
fn an_over_long_or_odd_symbol_is_refused_with_problem_details_that_do_not_echo_it() {
    let service = Service::start(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"0ms\"\nmax_latency = \"1ms\"\n",
    );

    // Just within the default bound (32 bytes): served.
    let (status, body) = get(&format!("{}/quote/{}", service.api, "A".repeat(32)));
    assert_eq!(status, 200, "{body}");

    // One byte over, and 20 KB over: 414, naming the bound, not the symbol.
    for len in [33, 20_000] {
        let symbol = "B".repeat(len);
        let (status, json, body) = problem(&format!("{}/quote/{symbol}", service.api));
        assert_eq!(status, 414, "{body}");
        assert_eq!(json["code"], "demo.symbol_too_long", "{body}");
        assert_eq!(json["status"], 414, "{body}");
        let detail = json["detail"].as_str().unwrap();
        assert!(detail.contains("api.max_symbol_len"), "{body}");
        assert!(!body.contains("BBBB"), "the symbol is echoed: {body}");
    }

    // A head over the listener's bound (api.limits.max_header_size, 32 KiB)
    // never reaches the router: 431 from the server, nothing echoed.
    let symbol = "C".repeat(60_000);
    let mut response = agent()
        .get(&format!("{}/quote/{symbol}", service.api))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 431);
    let body = response.body_mut().read_to_string().unwrap();
    assert!(!body.contains("CCCC"), "the symbol is echoed: {body}");

    // Outside the safe characters: 400, without the value.
    for symbol in [
        "AC%20ME",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "A%2FB",
        "x%00y",
    ] {
        let (status, json, body) = problem(&format!("{}/quote/{symbol}", service.api));
        assert_eq!(status, 400, "{symbol}: {body}");
        assert_eq!(json["code"], "demo.invalid_symbol", "{body}");
        assert!(
            !body.contains("script") && !body.contains("AC ME"),
            "{body}"
        );
    }

    // The test knobs are off by default: a client cannot make the
    // dependency fail or a request linger.
    for knob in ["fail=true", "delay_ms=5000", "fail=false"] {
        let (status, json, body) = problem(&format!("{}/quote/ACME?{knob}", service.api));
        assert_eq!(status, 400, "{knob}: {body}");
        assert_eq!(json["code"], "demo.test_knobs_disabled", "{body}");
    }

    // None of them reached the cache: it holds the one good symbol.
    let doc: Value = serde_json::from_str(&get(&format!("{}/status", service.ops)).1).unwrap();
    assert_eq!(doc["caches"]["quotes"]["load_successes"], 1, "{doc}");
}

#[test]
fn rotating_identity_headers_does_not_escape_the_per_client_limit() {
    let service = Service::start(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"0ms\"\nmax_latency = \"1ms\"\n\
         [http.rate_limit]\npermits = 1\nburst = 5\n",
    );
    // Every request claims to be someone else; the peer is the same, and
    // no proxy is trusted, so each header is ignored.
    let mut limited = 0;
    for i in 0..30 {
        let response = agent()
            .get(format!("{}/quote/ROTATE", service.api))
            .header("x-client-id", format!("client-{i}"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .header("x-real-ip", format!("198.51.100.{i}"))
            .call()
            .unwrap();
        if response.status().as_u16() == 429 {
            limited += 1;
        }
    }
    // A burst of 5 and one more a second: most of the 30 are limited.
    assert!(limited >= 20, "only {limited} of 30 were limited");
}

/// Symbols of this many bytes (the test allows them: `api.max_symbol_len`).
const SYMBOL_BYTES: usize = 8000;
/// Distinct symbols sent: 24 MB of keys, all of which an entry-bounded
/// cache (10,000 entries) would keep.
const SYMBOLS: usize = 3000;
/// The stated bound: the child's resident memory grows by less than this
/// while it answers them, its cache being bounded to 2 MiB.
const GROWTH_BOUND: u64 = 12 * 1024 * 1024;

#[test]
fn distinct_long_symbols_keep_resident_memory_within_a_bound() {
    let service = Service::start(
        "[api]\nmax_symbol_len = 8192\n\
         [dependency]\nfailure_rate = 0.0\nmin_latency = \"0ms\"\nmax_latency = \"0ms\"\n\
         [cache]\nmax_size = 2097152\ntime_to_live = \"600s\"\n\
         [http.rate_limit]\nenabled = false\n",
    );
    let api = service.api.clone();
    let send = move |from: usize, to: usize| {
        let api = api.clone();
        thread::spawn(move || {
            let agent = agent();
            for i in from..to {
                let symbol = format!("{i:08}{}", "S".repeat(SYMBOL_BYTES - 8));
                let response = agent.get(format!("{api}/quote/{symbol}")).call().unwrap();
                assert_eq!(response.status().as_u16(), 200);
            }
        })
    };
    // A warm-up, so that the runtime's threads, buffers and allocator
    // arenas are in place before the baseline.
    let threads = 4;
    let warm_up = 200;
    for t in 0..threads {
        send(1_000_000 + t * warm_up, 1_000_000 + (t + 1) * warm_up)
            .join()
            .unwrap();
    }
    let baseline = resident_bytes(service.pid());
    let per_thread = SYMBOLS / threads;
    let senders: Vec<_> = (0..threads)
        .map(|t| send(t * per_thread, (t + 1) * per_thread))
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    let after = resident_bytes(service.pid());
    let doc: Value = serde_json::from_str(&get(&format!("{}/status", service.ops)).1).unwrap();
    let cache = &doc["caches"]["quotes"];
    assert!(
        after < baseline + GROWTH_BOUND,
        "resident memory grew from {baseline} to {after} bytes (bound: +{GROWTH_BOUND}); cache: {cache}"
    );
    assert!(
        cache["bytes"].as_u64().unwrap() <= 2 * 1024 * 1024,
        "{cache}"
    );
}

#[test]
fn a_failure_the_dead_letter_queue_could_not_keep_says_so_to_the_client() {
    // Every call fails; the queue holds one record.
    let service = Service::start(
        "[dependency]\nfailure_rate = 1.0\nmin_latency = \"0ms\"\nmax_latency = \"0ms\"\n\
         [dlq]\nmax_records = 1\n",
    );
    let (status, json, body) = problem(&format!("{}/quote/FIRST", service.api));
    assert_eq!(status, 502, "{body}");
    assert!(
        !json["detail"].as_str().unwrap().contains("NOT recorded"),
        "the first failure is kept: {body}"
    );
    // The queue is full: the second failure is lost, and the client is told.
    let (status, json, body) = problem(&format!("{}/quote/SECOND", service.api));
    assert_eq!(status, 502, "{body}");
    let detail = json["detail"].as_str().unwrap();
    assert!(detail.contains("NOT recorded"), "{body}");
    assert!(detail.contains("resilience.dlq_full"), "{body}");
}
