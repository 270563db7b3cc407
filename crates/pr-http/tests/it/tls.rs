//! `ServerTls` behind a TLS accept loop on loopback, called by a rustls client: certificates made
//! by the test (a CA, server and client certificates), TLS 1.2 and 1.3, a hand-written TLS 1.1
//! hello, client certificates, reloads by hand and by the watcher.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pr_http::tls::{Reloaded, ServerTls, TlsConfig, TlsVersion};
use pr_test_support::tls::{TestCa as Ca, TestCert as Leaf, Usage};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Writes `leaf` as the files of `config`.
fn install(config: &TlsConfig, leaf: &Leaf) {
    std::fs::write(&config.cert_file, &leaf.cert_pem).unwrap();
    std::fs::write(&config.key_file, &leaf.key_pem).unwrap();
}

fn config_in(dir: &Path) -> TlsConfig {
    let mut config = TlsConfig::default();
    config.cert_file = dir.join("tls.crt");
    config.key_file = dir.join("tls.key");
    config
}

/// A TLS accept loop that answers each connection with `hello` and closes it.
async fn serve(tls: &ServerTls) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.acceptor();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.write_all(b"hello").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

/// What a client saw of a handshake that completed and delivered `hello`.
#[derive(Debug)]
struct Seen {
    leaf: CertificateDer<'static>,
    version: rustls::ProtocolVersion,
    alpn: Option<Vec<u8>>,
}

/// Connects to `addr` as `localhost`, trusting `root`, offering `versions`, with a client
/// certificate when given; reads the greeting.
async fn connect(
    addr: SocketAddr,
    root: &CertificateDer<'static>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    client: Option<&Leaf>,
) -> std::io::Result<Seen> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![leaf.der.clone()],
                PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let mut stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let mut greeting = Vec::new();
    stream.read_to_end(&mut greeting).await?;
    assert_eq!(greeting, b"hello");
    let (_, session) = stream.get_ref();
    Ok(Seen {
        leaf: session.peer_certificates().unwrap()[0].clone(),
        version: session.protocol_version().unwrap(),
        alpn: session.alpn_protocol().map(<[u8]>::to_vec),
    })
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[tokio::test]
async fn a_client_trusting_the_ca_completes_a_handshake_with_tls_1_3_or_1_2() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("test CA");
    let leaf = ca.issue("localhost", Usage::ServerAuth);
    let config = config_in(dir.path());
    install(&config, &leaf);
    let tls = ServerTls::new(&config).unwrap();
    let addr = serve(&tls).await;

    let seen = connect(addr, &ca.der(), BOTH, None).await.unwrap();
    assert_eq!(seen.leaf, leaf.der);
    assert_eq!(seen.version, rustls::ProtocolVersion::TLSv1_3);
    assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]));
    let seen = connect(addr, &ca.der(), TLS12, None).await.unwrap();
    assert_eq!(seen.version, rustls::ProtocolVersion::TLSv1_2);

    // A client trusting another CA refuses the server.
    let other = Ca::new("another CA");
    assert!(connect(addr, &other.der(), BOTH, None).await.is_err());
}

#[tokio::test]
async fn min_version_1_3_refuses_a_tls_1_2_client() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("test CA");
    let mut config = config_in(dir.path());
    config.min_version = TlsVersion::V1_3;
    install(&config, &ca.issue("localhost", Usage::ServerAuth));
    let addr = serve(&ServerTls::new(&config).unwrap()).await;
    assert!(connect(addr, &ca.der(), TLS12, None).await.is_err());
    let seen = connect(addr, &ca.der(), BOTH, None).await.unwrap();
    assert_eq!(seen.version, rustls::ProtocolVersion::TLSv1_3);
}

/// A TLS 1.1 `ClientHello` (RFC 4346 §7.4.1.2), as an old client sends it: legacy version 0x0302,
/// two CBC suites, no extensions (so no `supported_versions`).
fn tls_1_1_client_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x02];
    hello.extend([0x5a; 32]); // random
    hello.push(0); // no session id
    hello.extend([0x00, 0x04, 0x00, 0x2f, 0x00, 0x35]); // AES128-SHA, AES256-SHA
    hello.extend([0x01, 0x00]); // compression: null
    let mut handshake = vec![0x01, 0x00];
    handshake.extend(u16::try_from(hello.len()).unwrap().to_be_bytes());
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x02];
    record.extend(u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test]
async fn a_tls_1_1_client_is_refused_with_a_fatal_alert() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("test CA");
    let config = config_in(dir.path());
    install(&config, &ca.issue("localhost", Usage::ServerAuth));
    let addr = serve(&ServerTls::new(&config).unwrap()).await;

    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&tls_1_1_client_hello()).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    // One alert record and the connection closed: type 21, then a fatal level (2) and
    // handshake_failure (40; rustls shares nothing with a TLS 1.1 hello) or protocol_version (70).
    assert_eq!(answer.len(), 7, "{answer:?}");
    assert_eq!(
        answer[0], 21,
        "an alert record, not a ServerHello: {answer:?}"
    );
    assert_eq!(answer[5], 2, "a fatal alert: {answer:?}");
    assert!(matches!(answer[6], 40 | 70), "{answer:?}");
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificates_get_through() {
    let dir = pr_test_support::temp_dir("tls");
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let mut config = config_in(dir.path());
    let ca_file = dir.path().join("clients.crt");
    std::fs::write(&ca_file, client_ca.pem()).unwrap();
    config.client_ca_file = Some(ca_file);
    install(&config, &server_ca.issue("localhost", Usage::ServerAuth));
    let addr = serve(&ServerTls::new(&config).unwrap()).await;

    let member = client_ca.issue("prometheus", Usage::ClientAuth);
    connect(addr, &server_ca.der(), BOTH, Some(&member))
        .await
        .unwrap();
    assert!(
        connect(addr, &server_ca.der(), BOTH, None).await.is_err(),
        "no client certificate"
    );
    let stranger = Ca::new("another CA").issue("prometheus", Usage::ClientAuth);
    assert!(
        connect(addr, &server_ca.der(), BOTH, Some(&stranger))
            .await
            .is_err(),
        "a certificate from another CA"
    );
    assert!(
        connect(addr, &server_ca.der(), TLS12, None).await.is_err(),
        "no client certificate, TLS 1.2"
    );
}

#[tokio::test]
async fn a_reload_serves_the_new_pair_and_a_broken_pair_keeps_the_old_one() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("test CA");
    let first = ca.issue("localhost", Usage::ServerAuth);
    let config = config_in(dir.path());
    install(&config, &first);
    let tls = ServerTls::new(&config).unwrap();
    let addr = serve(&tls).await;
    assert_eq!(tls.reload().unwrap(), Reloaded::Unchanged);

    let second = ca.issue("localhost", Usage::ServerAuth);
    install(&config, &second);
    assert_eq!(tls.reload().unwrap(), Reloaded::Replaced);
    let seen = connect(addr, &ca.der(), BOTH, None).await.unwrap();
    assert_eq!(
        seen.leaf, second.der,
        "the acceptor made before the reload serves the new pair"
    );

    // Half-way through a renewal: a new certificate beside the old key.
    let third = ca.issue("localhost", Usage::ServerAuth);
    std::fs::write(&config.cert_file, &third.cert_pem).unwrap();
    let error = tls.reload().unwrap_err();
    let text = error.to_string();
    assert!(text.contains("tls.key"), "{text}");
    assert!(text.contains("does not belong"), "{text}");
    assert_eq!(
        pr_errors::CodedError::code(&error).as_str(),
        "http.tls_files"
    );
    let seen = connect(addr, &ca.der(), BOTH, None).await.unwrap();
    assert_eq!(seen.leaf, second.der, "the old pair is still served");
    std::fs::write(&config.key_file, &third.key_pem).unwrap();
    assert_eq!(tls.reload().unwrap(), Reloaded::Replaced);
    let seen = connect(addr, &ca.der(), BOTH, None).await.unwrap();
    assert_eq!(seen.leaf, third.der);
}

#[tokio::test(start_paused = true)]
async fn the_watcher_applies_a_change_within_one_interval() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("test CA");
    let config = config_in(dir.path());
    install(&config, &ca.issue("localhost", Usage::ServerAuth));
    let tls = ServerTls::new(&config).unwrap();
    let watcher = tokio::spawn(tls.clone().watch());

    install(&config, &ca.issue("localhost", Usage::ServerAuth));
    tokio::time::sleep(config.reload_interval.as_std() + std::time::Duration::from_millis(1)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        tls.reload().unwrap(),
        Reloaded::Unchanged,
        "the watcher took the new pair already"
    );
    watcher.abort();
}

#[test]
fn unusable_files_are_refused_naming_the_file_and_never_the_key() {
    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("test CA");
    let leaf = ca.issue("localhost", Usage::ServerAuth);
    let config = config_in(dir.path());

    let missing = ServerTls::new(&config).unwrap_err().to_string();
    assert!(
        missing.contains("tls.crt") && missing.contains("cannot be read"),
        "{missing}"
    );

    std::fs::write(&config.cert_file, "not a certificate").unwrap();
    std::fs::write(&config.key_file, &leaf.key_pem).unwrap();
    let text = ServerTls::new(&config).unwrap_err().to_string();
    assert!(
        text.contains("tls.crt") && text.contains("no PEM certificate"),
        "{text}"
    );

    // The certificate where the key should be; then a key damaged in its middle.
    std::fs::write(&config.cert_file, &leaf.cert_pem).unwrap();
    std::fs::write(&config.key_file, &leaf.cert_pem).unwrap();
    let text = ServerTls::new(&config).unwrap_err().to_string();
    assert!(
        text.contains("tls.key") && text.contains("no PEM private key"),
        "{text}"
    );
    let body: String = leaf
        .key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let damaged = leaf.key_pem.replace(&body[10..40], &"A".repeat(30));
    std::fs::write(&config.key_file, &damaged).unwrap();
    let text = ServerTls::new(&config).unwrap_err().to_string();
    assert!(text.contains("tls.key"), "{text}");
    for line in leaf
        .key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
    {
        assert!(
            !text.contains(&line[..16.min(line.len())]),
            "key material in {text}"
        );
    }

    let mut invalid = config_in(dir.path());
    invalid.cert_file = "".into();
    invalid.reload_interval = pr_core::units::Duration::from_secs(0);
    let text = ServerTls::new(&invalid).unwrap_err().to_string();
    assert!(
        text.contains("cert_file") && text.contains("reload_interval"),
        "{text}"
    );
}

#[test]
fn the_config_reads_its_units_and_versions() {
    let config: TlsConfig = serde_json::from_value(serde_json::json!({
        "cert_file": "/etc/tls/tls.crt",
        "key_file": "/etc/tls/tls.key",
        "min_version": "1.3",
        "reload_interval": "30s",
    }))
    .unwrap();
    assert_eq!(config.min_version, TlsVersion::V1_3);
    assert_eq!(config.reload_interval.as_std().as_secs(), 30);
    let unknown = serde_json::from_value::<TlsConfig>(serde_json::json!({ "min_version": "1.1" }));
    assert!(unknown.is_err());
}

/// The outbound client against a TLS server whose certificate comes from a private CA: refused
/// until the CA is added to the client's roots, then answered over TLS.
#[cfg(feature = "client")]
#[tokio::test]
async fn the_outbound_client_trusts_a_private_ca_it_is_given() {
    use pr_http::outbound::HttpClient;

    let dir = pr_test_support::temp_dir("tls");
    let ca = Ca::new("private CA");
    let config = config_in(dir.path());
    install(&config, &ca.issue("localhost", Usage::ServerAuth));
    let acceptor = ServerTls::new(&config).unwrap().acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(hyper::body::Bytes::from_static(b"secure")),
                    ))
                });
                // The server offers h2 and http/1.1 by ALPN: serve whichever was agreed.
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    let base_url = format!("https://localhost:{port}");

    let stranger = HttpClient::builder("private-api")
        .base_url(base_url.clone())
        .build()
        .unwrap();
    let error = stranger.get("/").send().await.unwrap_err();
    assert_eq!(
        pr_errors::CodedError::code(&error).as_str(),
        "http.client_connect",
        "Mozilla's roots do not hold the private CA"
    );

    let client = HttpClient::builder("private-api")
        .base_url(base_url)
        .add_root_certificates_pem(ca.pem().as_bytes())
        .build()
        .unwrap();
    let response = client.get("/").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(&response.body()[..], b"secure");
}
