//! TLS for a service's listeners, on rustls (feature `tls`): a certificate
//! and key from files, reloaded when they change on disk, TLS 1.2 and 1.3
//! only, client certificates required when a CA is given.
//!
//! [`ServerTls`] is built from a [`TlsConfig`] and hands out a
//! [`TlsAcceptor`](tokio_rustls::TlsAcceptor) for an accept loop (pr-facade's
//! `App` uses it for the ops server and the API). [`ServerTls::watch`]
//! re-reads the files every `reload_interval`.
//!
//! Choices, and why:
//!
//! - **Polling, not file events.** Kubernetes swaps a mounted secret by
//!   re-pointing a symlink, which inotify watchers miss or see twice; reading
//!   two small files every few seconds costs nothing and sees every change,
//!   whatever replaced them. A change is applied only when both files parse
//!   and the key matches the certificate: a half-written pair (the
//!   certificate renewed, the key not yet) keeps the old pair serving, is
//!   counted (`pr_http_tls_reloads_total{outcome="failed"}`) and logged, and
//!   is tried again at the next look.
//! - **One `ServerConfig` for the process's life**: the certificate is
//!   picked per handshake by a resolver holding the current pair, so a reload
//!   never rebuilds the acceptor and connections in flight keep theirs.
//! - **TLS 1.2 and 1.3 only** (rustls implements nothing older; a TLS 1.1
//!   client is refused with a `protocol_version` alert), ring's cipher
//!   suites, ALPN `h2` and `http/1.1`.
//! - **Client certificates**: with `client_ca_file` every client must present
//!   a certificate from that CA (mutual TLS), so an ops port can demand more
//!   than a network policy. The CA file is read once, at start.
//!
//! ```
//! use pr_http::tls::{TlsConfig, ServerTls};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = pr_test_support::temp_dir("tls-doc");
//! # let made = pr_test_support::tls::TestCa::new("CA")
//! #     .issue("localhost", pr_test_support::tls::Usage::ServerAuth);
//! # std::fs::write(dir.path().join("tls.crt"), made.cert_pem)?;
//! # std::fs::write(dir.path().join("tls.key"), made.key_pem)?;
//! let mut config = TlsConfig::default();
//! config.cert_file = dir.path().join("tls.crt");
//! config.key_file = dir.path().join("tls.key");
//! let tls = ServerTls::new(&config)?;
//! let acceptor = tls.acceptor(); // accept TCP connections through it
//! # let _ = acceptor;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pr_core::units::Duration;
use pr_core::validate::{Validate, Validator};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The largest certificate, key or CA file read (a chain of a few
/// certificates is a few KiB; anything near this is not a PEM file).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A listener's TLS settings (`tls` under the listener's section, e.g.
/// `ops.tls`). `cert_file` and `key_file` are required; the rest have safe
/// defaults.
///
/// ```toml
/// [ops.tls]
/// cert_file = "/etc/tls/tls.crt"       # PEM, the leaf first, then its chain
/// key_file = "/etc/tls/tls.key"        # PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC)
/// client_ca_file = "/etc/tls/ca.crt"   # optional: require client certificates from it
/// min_version = "1.2"                  # or "1.3"
/// reload_interval = "10s"              # how often the files are looked at
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// The certificate chain, PEM, the server's own certificate first.
    pub cert_file: PathBuf,
    /// The private key of the first certificate, PEM.
    pub key_file: PathBuf,
    /// When set, clients must present a certificate issued by a CA in this
    /// PEM file (mutual TLS); unset, no client certificate is asked for.
    pub client_ca_file: Option<PathBuf>,
    /// The oldest protocol version accepted.
    pub min_version: TlsVersion,
    /// How often the certificate and key files are read again to see
    /// whether they changed.
    pub reload_interval: Duration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: PathBuf::new(),
            key_file: PathBuf::new(),
            client_ca_file: None,
            min_version: TlsVersion::V1_2,
            reload_interval: Duration::from_secs(10),
        }
    }
}

impl Validate for TlsConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(
            !self.cert_file.as_os_str().is_empty(),
            "cert_file",
            "must be set: the PEM certificate chain",
        );
        v.check(
            !self.key_file.as_os_str().is_empty(),
            "key_file",
            "must be set: the PEM private key",
        );
        v.check(
            self.client_ca_file
                .as_ref()
                .is_none_or(|path| !path.as_os_str().is_empty()),
            "client_ca_file",
            "must not be empty: leave it unset to ask for no client certificate",
        );
        v.check(
            self.reload_interval.as_std() >= std::time::Duration::from_secs(1),
            "reload_interval",
            "must be at least 1s",
        );
    }
}

/// The oldest TLS version a listener accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    #[serde(rename = "1.2")]
    V1_2,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    V1_3,
}

/// A listener's TLS: the rustls configuration and the certificate it
/// serves, which [`reload`](Self::reload) replaces when the files change.
/// Cheap to clone; clones share the certificate.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    current: Arc<Current>,
    files: Arc<TlsConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_file", &self.files.cert_file)
            .field("key_file", &self.files.key_file)
            .field("client_ca_file", &self.files.client_ca_file)
            .field("min_version", &self.files.min_version)
            .finish_non_exhaustive()
    }
}

/// What [`ServerTls::reload`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reloaded {
    /// The files hold what is being served.
    Unchanged,
    /// The files changed and the new pair is served from the next handshake.
    Replaced,
}

impl ServerTls {
    /// Reads the files of `config` and builds the TLS configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for settings that break their rules;
    /// [`Error::Tls`] naming the file when one cannot be read, holds no
    /// PEM item of the expected kind, or the key does not fit the
    /// certificate.
    pub fn new(config: &TlsConfig) -> Result<Self, Error> {
        pr_core::validate::check(config).map_err(|problems| Error::InvalidConfig { problems })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = Pair::read(config, &provider)?;
        let current = Arc::new(Current {
            provider: Arc::clone(&provider),
            pair: Mutex::new(pair),
        });
        let versions: &[&rustls::SupportedProtocolVersion] = match config.min_version {
            TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::V1_3 => &[&rustls::version::TLS13],
        };
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| Error::Tls {
                path: config.cert_file.clone(),
                problem: format!("the TLS provider refuses the versions: {e}"),
            })?;
        let builder = match &config.client_ca_file {
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in certificates(path)? {
                    roots.add(cert).map_err(|e| Error::Tls {
                        path: path.clone(),
                        problem: format!("a CA certificate is not usable: {e}"),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| Error::Tls {
                    path: path.clone(),
                    problem: format!("the client CAs are not usable: {e}"),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut server =
            builder.with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(server),
            current,
            files: Arc::new(config.clone()),
        })
    }

    /// An acceptor for this configuration; every acceptor made from this
    /// value, before or after a reload, serves the current certificate.
    #[must_use]
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }

    /// The rustls configuration, for an accept loop of one's own.
    #[must_use]
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.config)
    }

    /// Reads the certificate and key files again and serves them from the
    /// next handshake if they changed. On an error the old pair goes on
    /// being served.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] naming the file, as [`new`](Self::new).
    pub fn reload(&self) -> Result<Reloaded, Error> {
        let (cert_pem, key_pem) = read_pair_files(&self.files)?;
        {
            let pair = pr_core::sync::lock(&self.current.pair);
            if pair.cert_pem == cert_pem && *pair.key_pem == *key_pem {
                return Ok(Reloaded::Unchanged);
            }
        }
        let pair = Pair::parse(&self.files, cert_pem, key_pem, &self.current.provider)?;
        *pr_core::sync::lock(&self.current.pair) = pair;
        Ok(Reloaded::Replaced)
    }

    /// Reloads every `reload_interval` until the future is dropped: run it
    /// beside the accept loop (`tokio::select!` or a spawned task aborted
    /// at shutdown). Each reload is counted in
    /// `pr_http_tls_reloads_total{outcome}` (`replaced`, `failed`; feature
    /// `metrics`) and logged: a replacement at info, a failure at warn
    /// naming the file, once per distinct failure.
    pub async fn watch(self) {
        let mut interval = tokio::time::interval(self.files.reload_interval.as_std());
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: the files were just read.
        interval.tick().await;
        let mut last_failure: Option<String> = None;
        loop {
            interval.tick().await;
            match self.reload() {
                Ok(Reloaded::Unchanged) => last_failure = None,
                Ok(Reloaded::Replaced) => {
                    last_failure = None;
                    count_reload("replaced");
                    tracing::info!(
                        event = "http.tls_reloaded",
                        cert_file = %self.files.cert_file.display(),
                        "TLS certificate reloaded"
                    );
                }
                Err(e) => {
                    count_reload("failed");
                    let text = e.to_string();
                    if last_failure.as_deref() != Some(text.as_str()) {
                        tracing::warn!(
                            event = "http.tls_reload_failed",
                            error = %text,
                            "TLS certificate not reloaded; the previous one is still served"
                        );
                        last_failure = Some(text);
                    }
                }
            }
        }
    }
}

#[cfg(feature = "metrics")]
fn count_reload(outcome: &'static str) {
    metrics::describe_counter!(
        "pr_http_tls_reloads_total",
        "TLS certificate reloads by outcome (replaced, failed)."
    );
    metrics::counter!("pr_http_tls_reloads_total", "outcome" => outcome).increment(1);
}

#[cfg(not(feature = "metrics"))]
fn count_reload(_outcome: &'static str) {}

/// The pair being served, and the resolver that serves it.
struct Current {
    provider: Arc<CryptoProvider>,
    pair: Mutex<Pair>,
}

impl fmt::Debug for Current {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Current").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&pr_core::sync::lock(&self.pair).key))
    }
}

/// A certificate chain and its key, with the files' bytes they came from
/// (to see whether the files changed).
struct Pair {
    key: Arc<CertifiedKey>,
    cert_pem: Vec<u8>,
    key_pem: zeroize::Zeroizing<Vec<u8>>,
}

impl Pair {
    fn read(config: &TlsConfig, provider: &CryptoProvider) -> Result<Self, Error> {
        let (cert_pem, key_pem) = read_pair_files(config)?;
        Self::parse(config, cert_pem, key_pem, provider)
    }

    fn parse(
        config: &TlsConfig,
        cert_pem: Vec<u8>,
        key_pem: zeroize::Zeroizing<Vec<u8>>,
        provider: &CryptoProvider,
    ) -> Result<Self, Error> {
        let chain = parse_certificates(&config.cert_file, &cert_pem)?;
        let tls_error = |path: &Path, problem: String| Error::Tls {
            path: path.to_owned(),
            problem,
        };
        // Never put the key's bytes or rustls' description of them in a message.
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
            tls_error(
                &config.key_file,
                "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".to_owned(),
            )
        })?;
        let signing = provider.key_provider.load_private_key(key).map_err(|_| {
            tls_error(
                &config.key_file,
                "the private key is not usable (unsupported algorithm or damaged)".to_owned(),
            )
        })?;
        let key = CertifiedKey::new(chain, signing);
        key.keys_match().map_err(|_| {
            tls_error(
                &config.key_file,
                format!(
                    "the private key does not belong to the first certificate of {}",
                    config.cert_file.display()
                ),
            )
        })?;
        Ok(Self {
            key: Arc::new(key),
            cert_pem,
            key_pem,
        })
    }
}

/// The certificate and key files' bytes (the key's wiped when dropped).
fn read_pair_files(config: &TlsConfig) -> Result<(Vec<u8>, zeroize::Zeroizing<Vec<u8>>), Error> {
    let cert = read_bounded(&config.cert_file)?;
    let key = zeroize::Zeroizing::new(read_bounded(&config.key_file)?);
    Ok((cert, key))
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let io_error = |e: std::io::Error| Error::Tls {
        path: path.to_owned(),
        problem: format!("cannot be read: {e}"),
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Tls {
            path: path.to_owned(),
            problem: format!("is larger than {MAX_FILE_BYTES} bytes: not a PEM file"),
        });
    }
    Ok(bytes)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    parse_certificates(path, &read_bounded(path)?)
}

fn parse_certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls {
            path: path.to_owned(),
            problem: format!("is not valid PEM: {e}"),
        })?;
    if chain.is_empty() {
        return Err(Error::Tls {
            path: path.to_owned(),
            problem: "holds no PEM certificate".to_owned(),
        });
    }
    Ok(chain)
}
