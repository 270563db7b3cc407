//! The app's listeners with TLS (feature `tls`), over real TCP on loopback with a rustls client
//! and hyper: the ops server configured by `ops.tls` (also requiring client certificates), the
//! API by `ApiListener::with_tls`, plain HTTP refused, a silent client cut off, an unreadable
//! certificate stopping the start.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use http_body_util::BodyExt as _;
use pr_errors::CodedError as _;
use pr_facade::app::{ApiListener, App, HttpLimits};
use pr_test_support::tls::{TestCa, Usage};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Writes a certificate for `name` from `ca` and its key as `<file>.crt` and `<file>.key` in `dir`.
fn issue(ca: &TestCa, dir: &Path, file: &str, name: &str, usage: Usage) {
    let cert = ca.issue(name, usage);
    std::fs::write(dir.join(format!("{file}.crt")), cert.cert_pem).unwrap();
    std::fs::write(dir.join(format!("{file}.key")), cert.key_pem).unwrap();
}

/// `GET path` over HTTPS to `localhost` at `addr`, trusting `root`, with the client certificate
/// `<client>.crt` / `.key` from `dir` when given: the status and body.
async fn get_https(
    addr: SocketAddr,
    root: &CertificateDer<'static>,
    client: Option<(&Path, &str)>,
    path: &str,
) -> Result<(u16, String), Box<dyn std::error::Error + Send + Sync>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone())?;
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots);
    let config = match client {
        Some((dir, name)) => {
            let chain = CertificateDer::pem_file_iter(dir.join(format!("{name}.crt")))?
                .collect::<Result<Vec<_>, _>>()?;
            let key = PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key")))?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let tls = connector
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, "localhost")
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// An app whose ops server has TLS from `dir` (`ops.crt`, `ops.key`, and `clients.crt` as the
/// client CA when `mutual`), serving an API with TLS (`api.crt`, `api.key`) too.
async fn app(dir: &Path, mutual: bool) -> App {
    let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let mut env = vec![
        ("APP__OPS__ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "APP__LOGGING__CONSOLE__ENABLED".to_owned(),
            "false".to_owned(),
        ),
        ("APP__OPS__TLS__CERT_FILE".to_owned(), file("ops.crt")),
        ("APP__OPS__TLS__KEY_FILE".to_owned(), file("ops.key")),
        (
            "APP__OPS__LIMITS__HEADER_READ_TIMEOUT".to_owned(),
            "1s".to_owned(),
        ),
    ];
    if mutual {
        env.push((
            "APP__OPS__TLS__CLIENT_CA_FILE".to_owned(),
            file("clients.crt"),
        ));
    }
    let mut api_tls = pr_http::tls::TlsConfig::default();
    api_tls.cert_file = dir.join("api.crt");
    api_tls.key_file = dir.join("api.key");
    App::builder("tls-test")
        .env_vars(env)
        .install_globals(false)
        .api(move |_config| {
            ApiListener::new(SocketAddr::from(([127, 0, 0, 1], 0)), HttpLimits::default())
                .with_tls(Some(api_tls.clone()))
        })
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_server_and_the_api_serve_https_and_refuse_plain_http() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = TestCa::new("test CA");
    issue(&ca, dir.path(), "ops", "localhost", Usage::ServerAuth);
    issue(&ca, dir.path(), "api", "localhost", Usage::ServerAuth);
    let app = app(dir.path(), false).await;
    let ops = app.ops_addr().unwrap();
    let api = app.api_addr().unwrap();
    let router = Router::new().route("/hello", get(|| async { "hello" }));
    let served = tokio::spawn(app.serve(router));

    let (status, _) = get_https(ops, &ca.der(), None, "/health/live")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, body) = get_https(api, &ca.der(), None, "/hello").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "hello"));

    // Plain HTTP gets no HTTP answer: the server reads a TLS record that is not one.
    let mut plain = tokio::net::TcpStream::connect(ops).await.unwrap();
    plain
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // A client that connects and never says hello is dropped after the header-read timeout.
    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(ops).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(30), silent.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the silent client is closed, not kept"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    served.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_client_ca_the_ops_server_takes_only_its_clients() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = TestCa::new("server CA");
    let clients = TestCa::new("client CA");
    issue(&ca, dir.path(), "ops", "localhost", Usage::ServerAuth);
    issue(&ca, dir.path(), "api", "localhost", Usage::ServerAuth);
    std::fs::write(dir.path().join("clients.crt"), clients.pem()).unwrap();
    issue(
        &clients,
        dir.path(),
        "scraper",
        "scraper",
        Usage::ClientAuth,
    );
    issue(
        &TestCa::new("another CA"),
        dir.path(),
        "stranger",
        "scraper",
        Usage::ClientAuth,
    );
    let app = app(dir.path(), true).await;
    let ops = app.ops_addr().unwrap();
    let served = tokio::spawn(app.serve(Router::new()));

    let (status, _) = get_https(
        ops,
        &ca.der(),
        Some((dir.path(), "scraper")),
        "/health/ready",
    )
    .await
    .unwrap();
    assert!(status == 200 || status == 503, "{status}");
    assert!(
        get_https(ops, &ca.der(), None, "/health/live")
            .await
            .is_err(),
        "no client certificate"
    );
    assert!(
        get_https(
            ops,
            &ca.der(),
            Some((dir.path(), "stranger")),
            "/health/live"
        )
        .await
        .is_err(),
        "a client certificate from another CA"
    );
    served.abort();
}

#[tokio::test]
async fn an_unreadable_certificate_stops_the_start_naming_the_listener_and_the_file() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = TestCa::new("test CA");
    issue(&ca, dir.path(), "api", "localhost", Usage::ServerAuth);
    // No ops.crt.
    let error = App::builder("tls-test")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            (
                "APP__OPS__TLS__CERT_FILE",
                dir.path().join("ops.crt").to_str().unwrap(),
            ),
            (
                "APP__OPS__TLS__KEY_FILE",
                dir.path().join("ops.key").to_str().unwrap(),
            ),
        ])
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(error.code().as_str(), "app.tls_failed");
    let text = pr_errors::chain(&error).to_string();
    assert!(text.contains("ops") && text.contains("ops.crt"), "{text}");

    // A setting that breaks its rules is a configuration problem, reported with the others.
    let error = App::builder("tls-test")
        .env_vars([
            ("APP__OPS__ADDR", "127.0.0.1:0"),
            ("APP__LOGGING__CONSOLE__ENABLED", "false"),
            ("APP__OPS__TLS__KEY_FILE", "/nowhere/tls.key"),
            ("APP__OPS__TLS__RELOAD_INTERVAL", "0s"),
        ])
        .install_globals(false)
        .build()
        .await
        .unwrap_err();
    assert_eq!(error.code().as_str(), "app.invalid_config");
    let text = format!("{}", pr_errors::chain(&error));
    assert!(
        text.contains("ops.tls.cert_file") && text.contains("ops.tls.reload_interval"),
        "{text}"
    );
}
