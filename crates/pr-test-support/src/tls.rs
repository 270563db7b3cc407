//! Certificates made by a test (feature `tls`, on rcgen): a certificate
//! authority of its own and what it issues, so TLS tests need no committed
//! keys and nothing that expires.

pub use rcgen::ExtendedKeyUsagePurpose as Usage;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;

/// A certificate authority made for one test.
///
/// ```
/// use pr_test_support::tls::{TestCa, Usage};
///
/// let ca = TestCa::new("test CA");
/// let server = ca.issue("localhost", Usage::ServerAuth);
/// assert!(server.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub struct TestCa(CertifiedIssuer<'static, KeyPair>);

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A certificate issued by a [`TestCa`], with its private key.
#[derive(Clone, Debug)]
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
}

impl TestCa {
    /// A new self-signed CA named `name`, with a fresh key.
    ///
    /// # Panics
    ///
    /// If rcgen cannot make a key or a certificate.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        Self(CertifiedIssuer::self_signed(params, key).expect("a CA certificate"))
    }

    /// The CA's certificate, PEM (a trust anchor or client-CA file).
    #[must_use]
    pub fn pem(&self) -> String {
        self.0.pem()
    }

    /// The CA's certificate, DER (for a client's root store).
    #[must_use]
    pub fn der(&self) -> CertificateDer<'static> {
        self.0.der().clone()
    }

    /// A certificate for the DNS name `name` (also its common name), for
    /// `usage` (`ServerAuth`, `ClientAuth`), with a fresh key.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid DNS name, or rcgen cannot sign.
    #[must_use]
    pub fn issue(&self, name: &str, usage: Usage) -> TestCert {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("a DNS name");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.0)
            .expect("a signed certificate");
        TestCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}
