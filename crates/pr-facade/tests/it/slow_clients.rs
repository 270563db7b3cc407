//! The demo service against slow clients, as a child process over real TCP:
//! 2,000 connections trickling request heads into a service whose
//! open-files limit is 1,024 leave its probes answering (the API's
//! connection cap is fitted to the limit, the ops server keeps its own
//! descriptors); a half-sent head does not hold a SIGTERM's drain; a stdout
//! nobody reads (a stalled log collector) neither stops the service nor
//! holds its exit.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use serde_json::Value;

use crate::e2e::Service;

/// Connections the test opens against the API.
const CONNECTIONS: u64 = 2_000;
/// The child's open-files limit (soft and hard): systemd's default soft limit.
const CHILD_OPEN_FILES: u64 = 1_024;
/// Descriptors the test itself needs besides its connections.
const OWN_FDS: u64 = 256;

/// Raises this process's soft open-files limit so it can hold its
/// connections; how many it can hold.
fn raise_own_limit() -> u64 {
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let wanted = (CONNECTIONS + OWN_FDS).min(hard);
    if limit.current.is_none_or(|soft| soft < wanted) {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            },
        )
        .unwrap();
    }
    wanted - OWN_FDS
}

/// `GET /health/live` with a 5 s bound: the status, or the error.
fn live(ops: &str) -> Result<u16, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    agent
        .get(format!("{ops}/health/live"))
        .call()
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

#[test]
fn two_thousand_trickling_connections_leave_the_probes_answering() {
    let connections = raise_own_limit();
    assert!(
        connections > CHILD_OPEN_FILES,
        "this machine's hard open-files limit leaves the test {connections} connections, \
         no more than the child's limit"
    );
    let mut service = Service::start_with_open_files(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"0ms\"\nmax_latency = \"1ms\"\n",
        CHILD_OPEN_FILES,
    );
    let api: SocketAddr = service.api.trim_start_matches("http://").parse().unwrap();

    // Open every connection with a head that never ends. Beyond the cap and
    // the kernel's backlog a connect waits or fails: that is the service
    // pushing back, and those are counted, not failures of the test.
    let threads = 8;
    let per_thread = connections / threads;
    let openers: Vec<_> = (0..threads)
        .map(|_| {
            thread::spawn(move || {
                let mut open = Vec::new();
                for _ in 0..per_thread {
                    // Past the cap and the backlog a connect waits for a SYN retry:
                    // a short bound keeps the test quick, and such a client is
                    // one the service is pushing back on anyway.
                    let Ok(mut stream) =
                        TcpStream::connect_timeout(&api, Duration::from_millis(250))
                    else {
                        continue;
                    };
                    if stream
                        .write_all(b"GET /quote/ACME HTTP/1.1\r\nHost: demo\r\nX-Trickle: ")
                        .is_ok()
                    {
                        open.push(stream);
                    }
                }
                open
            })
        })
        .collect();
    let mut open: Vec<TcpStream> = openers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        open.len() as u64 > CHILD_OPEN_FILES,
        "only {} connections opened",
        open.len()
    );

    // Trickle a byte into every head, and probe between rounds.
    for round in 0..3 {
        open.retain_mut(|stream| stream.write_all(b"a").is_ok());
        let answer = live(&service.ops);
        assert_eq!(
            answer,
            Ok(200),
            "round {round}, {} connections trickling:\n{}",
            open.len(),
            service.output()
        );
        thread::sleep(Duration::from_millis(200));
    }

    // The API's cap was fitted to the limit, and said so.
    let log = std::fs::read_to_string(service.log_file()).unwrap();
    let lowered = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["event"] == "app.connection_cap_lowered" && l["listener"] == "api")
        .unwrap_or_else(|| panic!("no app.connection_cap_lowered for the API in:\n{log}"));
    assert_eq!(lowered["granted"], 1024 - 64 - 64, "{lowered}");

    // Still serving, and a SIGTERM with all those heads half-read drains
    // cleanly: exit 0, not the deadline's 1.
    drop(open);
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());
}

#[test]
fn a_half_sent_head_does_not_hold_the_drain() {
    let mut service = Service::start(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"0ms\"\nmax_latency = \"1ms\"\n\
         [shutdown]\ndrain_timeout = \"30s\"\n\
         [api.limits]\nheader_read_timeout = \"600s\"\n",
    );
    let api: SocketAddr = service.api.trim_start_matches("http://").parse().unwrap();
    let mut half = TcpStream::connect(api).unwrap();
    half.write_all(b"GET /quote/ACME HTTP/1.1\r\nHost: demo\r\nX-Half: ")
        .unwrap();
    // A whole request on another connection is answered, so the service is
    // serving connections (and has read the half head's bytes, or will).
    let (status, body) = crate::e2e::get(&format!("{}/quote/ACME", service.api));
    assert_eq!(status, 200, "{body}");
    service.terminate();
    // Exit 0 (drained) rather than 1 after the 30 s deadline.
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());
    drop(half);
}

#[test]
fn a_stdout_nobody_reads_leaves_the_demo_serving_and_exiting_0() {
    let mut service = Service::start_with_stalled_stdout(
        "[dependency]\nfailure_rate = 1.0\nmin_latency = \"0ms\"\nmax_latency = \"0ms\"\n\
         [http.rate_limit]\nenabled = false\n\
         [logging.console.queue]\ncapacity = 64\n",
    );
    // Every quote fails (at once, once the breaker is open) and logs a
    // warning: far more than a pipe (64 KiB) and the queue (64 lines) hold.
    let agent = crate::e2e::agent();
    let mut dropped = 0;
    let mut console = Value::Null;
    for round in 0..50 {
        for n in 0..100 {
            let url = format!("{}/quote/S{round}x{n}", service.api);
            let response = agent.get(&url).call().unwrap();
            assert!(response.status().as_u16() >= 500);
        }
        let (status, body) = crate::e2e::get(&format!("{}/status", service.ops));
        assert_eq!(status, 200, "{body}");
        let doc: Value = serde_json::from_str(&body).unwrap();
        console = doc["logging"]["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "console")
            .cloned()
            .unwrap_or_default();
        dropped = console["dropped"].as_u64().unwrap_or(0);
        if dropped > 0 {
            break;
        }
    }
    assert!(dropped > 0, "the console never filled its queue: {console}");
    // Lines are dropped, not waited for: the probes answer and SIGTERM ends
    // the process with 0 (the flush gives up at its deadline).
    assert_eq!(live(&service.ops), Ok(200));
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());
}
