//! The SSRF guard against a table of tricky addresses.

use pr_errors::CodedError;
use pr_security::validation::UrlPolicy;

#[test]
fn tricky_addresses_are_rejected() {
    let policy = UrlPolicy::http_and_https();
    let table = [
        "http://0x7f.1/",
        "http://2130706433/",
        "http://017700000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://127.000.000.001/",
        "http://0/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::1]/",
        "http://[0:0:0:0:0:0:0:1]/",
        "http://[::]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://0xa9fea9fe/",
        "http://2852039166/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://100.100.100.200/",
        "http://192.0.0.192/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.0.1/",
        "http://localhost/",
        "http://localhost./",
        "http://LOCALHOST/",
        "http://api.localhost/",
        "http://metadata.google.internal/",
        "http://metadata/",
        "http://foo.internal./",
        "http://%6c%6f%63%61%6c%68%6f%73%74/",
        "http://127.0.0.1:80@example.com/",
        "http://example.com@127.0.0.1/",
        "http://user:pass@example.com/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "\u{1}javascript:alert(1)",
        "http://[::ffff:127.0.0.1]:8080/",
    ];
    for url in table {
        let err = policy.check(url).expect_err(url);
        assert!(
            matches!(
                err.code().as_str(),
                "security.url_not_allowed" | "security.invalid_url"
            ),
            "{url}: {err}"
        );
    }
    for ok in [
        "https://example.com/",
        "http://93.184.216.34/",
        "https://[2606:4700:4700::1111]/",
        "https://xn--bcher-kva.de/",
    ] {
        policy.check(ok).expect(ok);
    }
}

#[test]
fn policy_knobs() {
    let default = UrlPolicy::default();
    assert!(default.check("http://example.com/").is_err());
    let mut lax = UrlPolicy::http_and_https();
    lax.allow_private_hosts = true;
    lax.allow_credentials = true;
    lax.check("http://user:pw@127.0.0.1:8080/").unwrap();
    let mut listed = UrlPolicy::default();
    listed.allowed_hosts = vec!["api.example.com".into()];
    listed.check("https://api.example.com./x").unwrap();
    assert!(listed.check("https://evil.example.com/").is_err());
    let err = default.check("not a url").unwrap_err();
    assert_eq!(err.code().as_str(), "security.invalid_url");
}
