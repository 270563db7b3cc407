//! `POST /loggers` on the ops server checks its bearer token from the
//! request head, before any body is read: a request with a wrong token that
//! declares a body and sends none is answered 401 at once (were the body
//! awaited, no answer would come), over a raw TCP connection to a plain
//! `App`; the right token still changes the levels.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use pr_facade::app::{App, Exit};
use serde_json::Value;
use tokio::sync::mpsc;

const TOKEN: &str = "an-ops-token-of-32-characters-xx";

/// Sends `head` (and nothing more) and reads the answer until the server
/// closes the connection or the answer's body is complete; a generous read
/// timeout turns a server that waits for the body into a failed test.
fn exchange(addr: std::net::SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&answer);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(usize::MAX);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            Err(e) => panic!(
                "no complete answer ({e}); got: {}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    String::from_utf8(answer).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_with_a_wrong_token_is_refused_before_its_body_is_read() {
    let (_tx, rx) = mpsc::channel(1);
    let app = App::builder("loggers-test")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            ("APP__OPS__TOKEN", TOKEN),
        ])
        .install_globals(false)
        .signals(rx)
        .build()
        .await
        .unwrap();
    let ops = app.ops_addr().unwrap();
    let exit = app
        .run(async move {
            tokio::task::spawn_blocking(move || {
                // A wrong token, then no token: 1 MB declared (under the
                // body limit), not one byte sent.
                for auth in ["Authorization: Bearer wrong-token\r\n", ""] {
                    let answer = exchange(
                        ops,
                        &format!(
                            "POST /loggers HTTP/1.1\r\nHost: ops\r\n{auth}\
                             Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
                        ),
                    );
                    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
                    let lower = answer.to_ascii_lowercase();
                    assert!(lower.contains("www-authenticate: bearer"), "{answer}");
                    assert!(lower.contains("connection: close"), "{answer}");
                    let body: Value =
                        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
                    assert_eq!(body["code"], "logging.unauthorized", "{answer}");
                }
                // The right token: the body is read and the change made.
                let change = r#"{"filter":"debug"}"#;
                let answer = exchange(
                    ops,
                    &format!(
                        "POST /loggers HTTP/1.1\r\nHost: ops\r\nAuthorization: Bearer {TOKEN}\r\n\
                         Connection: close\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\n\r\n{change}",
                        change.len()
                    ),
                );
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
                assert!(answer.contains(r#""filter":"debug""#), "{answer}");
                // Reads need no token.
                let answer = exchange(
                    ops,
                    "GET /loggers HTTP/1.1\r\nHost: ops\r\nConnection: close\r\n\r\n",
                );
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            })
            .await
            .unwrap();
        })
        .await;
    assert_eq!(exit, Exit::Finished);
}
