//! The app's API listener against slow and greedy clients, over real TCP on
//! loopback: a half-sent head is cut off by the header-read timeout, an idle
//! connection by the idle timeout, the connection cap holds a further
//! client back until a slot frees, and a signal closes half-read
//! connections at once, so the drain ends long before its deadline.
//!
//! HTTP/2 (prior knowledge, as a proxy speaks it) is served with the
//! configured stream limit, and an idle HTTP/2 connection is closed too.
//!
//! Nothing is timed: each test waits for an event (a closed socket, an
//! answer, an exit) with patience far above the configured limits, and the
//! one "not yet answered" check can only pass spuriously, never fail so.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use pr_facade::app::{App, Exit, HttpLimits};
use pr_facade::config::Duration as ConfigDuration;
use tokio::sync::mpsc;

/// How long a test waits for something that should happen.
const PATIENCE: Duration = Duration::from_secs(30);

/// An app serving a tiny router on an API listener with `limits`; its
/// signal sender, and the task running it.
async fn serve(
    limits: HttpLimits,
    drain_timeout: &str,
) -> (SocketAddr, mpsc::Sender<()>, tokio::task::JoinHandle<Exit>) {
    let (tx, rx) = mpsc::channel(2);
    let app = App::builder("listener-test")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            ("APP__SHUTDOWN__DRAIN_TIMEOUT", drain_timeout),
        ])
        .install_globals(false)
        .signals(rx)
        .api(move |_config| (SocketAddr::from(([127, 0, 0, 1], 0)), limits.clone()))
        .build()
        .await
        .unwrap();
    let addr = app.api_addr().unwrap();
    let router = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let task = tokio::spawn(app.serve(router));
    (addr, tx, task)
}

/// Waits until the server closes `stream` (a read returns 0 or an error
/// other than a timeout); panics after [`PATIENCE`].
fn wait_closed(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the server kept the connection"
        );
    }
}

/// One request on `stream`; the answer's text (read until the server
/// closes, as `Connection: close` asks).
fn request(stream: &mut TcpStream, path: &str) -> String {
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn limits() -> HttpLimits {
    let mut limits = HttpLimits::default();
    limits.header_read_timeout = ConfigDuration::from_millis(300);
    limits.idle_timeout = ConfigDuration::from_millis(300);
    limits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_and_an_idle_connection_are_cut_off() {
    // The idle timeout far away: a connection that never sends a request
    // is closed by the header-read timeout alone.
    let mut limits = limits();
    limits.idle_timeout = ConfigDuration::from_secs(600);
    let (addr, _signals, _task) = serve(limits, "30s").await;
    tokio::task::spawn_blocking(move || {
        // A head that never ends.
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            .unwrap();
        // A connection that never sends anything.
        let mut idle = TcpStream::connect(addr).unwrap();
        wait_closed(&mut slow);
        wait_closed(&mut idle);
        // The router still serves, and sees the peer's address.
        let mut fresh = TcpStream::connect(addr).unwrap();
        let local = fresh.local_addr().unwrap();
        let answer = request(&mut fresh, "/peer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&local.to_string()), "{answer}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_further_client_waits_until_a_slot_frees() {
    let mut limits = HttpLimits::default();
    limits.max_connections = Some(2);
    let (addr, _signals, _task) = serve(limits, "30s").await;
    tokio::task::spawn_blocking(move || {
        // Two connections hold the two slots (each answered once, so each
        // is known to be accepted, and kept alive).
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\n\r\n")
                .unwrap();
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            held.push(stream);
        }
        // A third connects (the kernel's backlog) but is not served...
        let mut third = TcpStream::connect(addr).unwrap();
        third
            .write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .unwrap();
        third
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 1024];
        match third.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("served beyond the cap: {other:?}"),
        }
        // ...until a slot frees.
        drop(held.pop());
        third.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut answer = String::new();
        third.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_closes_half_read_connections_at_once_and_the_drain_ends_in_time() {
    // Timeouts far beyond the drain deadline: only the shutdown can close
    // the connection in time.
    let mut limits = HttpLimits::default();
    limits.header_read_timeout = ConfigDuration::from_secs(600);
    limits.idle_timeout = ConfigDuration::from_secs(600);
    let (addr, signals, task) = serve(limits, "20s").await;
    let mut half = tokio::task::spawn_blocking(move || {
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\nX-Half: ")
            .unwrap();
        // The server has the bytes once a request on a second connection
        // is answered (it serves connections concurrently).
        let answer = request(&mut TcpStream::connect(addr).unwrap(), "/peer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        half
    })
    .await
    .unwrap();
    signals.send(()).await.unwrap();
    // Drained, not past the 20 s deadline: the half-read connection did not
    // count as work in flight.
    assert_eq!(task.await.unwrap(), Exit::Drained);
    tokio::task::spawn_blocking(move || wait_closed(&mut half))
        .await
        .unwrap();
}

/// `GET /peer` over an HTTP/2 connection: the response, its body unread.
async fn h2_get_peer(
    client: &mut h2::client::SendRequest<axum::body::Bytes>,
    addr: SocketAddr,
) -> http::Response<h2::RecvStream> {
    let request = http::Request::get(format!("http://{addr}/peer"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    response.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_served_with_its_stream_limit_and_an_idle_connection_is_closed() {
    let mut limits = limits();
    limits.http2_max_concurrent_streams = 7;
    let (addr, _signals, _task) = serve(limits, "30s").await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let response = h2_get_peer(&mut client, addr).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        text.extend_from_slice(&chunk);
    }
    assert_eq!(String::from_utf8(text).unwrap(), local.to_string());
    // The server's SETTINGS carried the configured limit.
    assert_eq!(client.current_max_send_streams(), 7);
    // Idle past `idle_timeout`: the server says GOAWAY and the connection
    // ends (the client keeps its handle, so it is not the one closing).
    let ended = tokio::time::timeout(PATIENCE, connection).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection was kept open");
    drop(client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_goaway_to_an_http2_client_instead_of_dropping_it() {
    let mut limits = HttpLimits::default();
    limits.idle_timeout = ConfigDuration::from_secs(600);
    let (addr, signals, task) = serve(limits, "20s").await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, mut connection) = h2::client::handshake(tcp).await.unwrap();
    let mut ping_pong = connection.ping_pong().unwrap();
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    assert_eq!(h2_get_peer(&mut client, addr).await.status(), 200);
    // Frames that are not a request (a PING here; SETTINGS acks, window
    // updates) must not make the connection look like a half-read head.
    ping_pong.ping(h2::Ping::opaque()).await.unwrap();
    signals.send(()).await.unwrap();
    assert_eq!(task.await.unwrap(), Exit::Drained);
    // The connection ended with the server's GOAWAY, which a client reads as
    // "retry elsewhere": not a dropped socket.
    let ended = tokio::time::timeout(PATIENCE, connection)
        .await
        .expect("the connection ended")
        .unwrap();
    let refused = match client.ready().await {
        Err(e) => e,
        Ok(mut ready) => {
            let request = http::Request::get(format!("http://{addr}/peer"))
                .body(())
                .unwrap();
            match ready.send_request(request, true) {
                Err(e) => e,
                Ok((response, _)) => response.await.unwrap_err(),
            }
        }
    };
    assert!(
        ended.is_ok() || ended.as_ref().is_err_and(h2::Error::is_go_away),
        "{ended:?}"
    );
    assert!(refused.is_go_away(), "{refused:?}");
}

/// With the `http` feature, `App::serve` puts pr-http's stack from the `http` section around the
/// router: a trusted request id is echoed, a route's panic is a 500 problem.
#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_section_is_applied_around_the_router() {
    let app = App::builder("listener-test")
        .env_vars([
            ("APP__OPS__ENABLED", "false"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            ("APP__HTTP__REQUEST_ID__TRUST_INCOMING", "true"),
        ])
        .install_globals(false)
        .api(|_config| (SocketAddr::from(([127, 0, 0, 1], 0)), HttpLimits::default()))
        .build()
        .await
        .unwrap();
    let addr = app.api_addr().unwrap();
    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/broken", get(broken));
    let task = tokio::spawn(app.serve(router));
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let response = agent
            .get(format!("http://{addr}/hello"))
            .header("x-request-id", "gateway-42")
            .call()
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-request-id"], "gateway-42");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let mut broken = agent.get(format!("http://{addr}/broken")).call().unwrap();
        assert_eq!(broken.status(), 500);
        assert_eq!(broken.headers()["content-type"], "application/problem+json");
        let body = broken.body_mut().read_to_string().unwrap();
        assert!(body.contains("http.panic"), "{body}");
    })
    .await
    .unwrap();
    task.abort();
}

async fn broken() -> &'static str {
    panic!("broken")
}
