//! The SSRF guard against a table of tricky addresses, internal names,
//! resolved addresses and redirects.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use pr_errors::CodedError;
use pr_security::validation::{
    DEFAULT_MAX_REDIRECTS, RedirectGuard, Url, UrlPolicy, resolve_checked, resolve_checked_blocking,
};

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

#[test]
fn internal_names_and_special_blocks_are_rejected() {
    let policy = UrlPolicy::http_and_https();
    for url in [
        // /etc/hosts names on Debian and Ubuntu (`::1`).
        "http://ip6-localhost/",
        "http://ip6-loopback/",
        // One label: completed by the resolver's search domains.
        "http://kubernetes/",
        "http://db:5432/",
        "http://rancher-metadata/",
        "http://kubernetes.default.svc/",
        "http://api.ns.svc.cluster.local/",
        "http://vault.service.consul/",
        "http://printer.home.arpa/",
        "http://home.arpa/",
        "http://nas.local/",
        "http://x.internal/",
        "http://metadata.tencentyun.com/",
        // 3fff::/20 (documentation, RFC 9637) and 5f00::/16 (SRv6, RFC 9602).
        "http://[3fff::1]/",
        "http://[3fff:fff:ffff::1]/",
        "http://[5f00::1]/",
        "http://[5f00:ffff::1]/",
    ] {
        let err = policy.check(url).expect_err(url);
        assert_eq!(err.code().as_str(), "security.url_not_allowed", "{url}");
    }
    // Just outside the blocks.
    for url in [
        "http://[3fff:1000::1]/",
        "http://[5f01::1]/",
        "http://arpa.example/",
    ] {
        policy.check(url).expect(url);
    }
}

#[test]
fn internal_names_can_be_allowed_one_by_one() {
    let mut policy = UrlPolicy::http_and_https();
    policy.allowed_internal_names = vec!["kubernetes".into(), "api.svc".into()];
    pr_core::validate::check(&policy).unwrap();
    policy.check("http://kubernetes/").unwrap();
    policy.check("http://kubernetes./").unwrap();
    policy.check("http://api.svc/").unwrap();
    assert!(policy.check("http://db/").is_err());
    assert!(policy.check("http://other.svc/").is_err());
    // Addresses are never exempt.
    policy.allowed_internal_names = vec!["127.0.0.1".into()];
    assert!(policy.check("http://127.0.0.1/").is_err());
    policy.allowed_internal_names = vec!["Kubernetes.".into()];
    assert!(pr_core::validate::check(&policy).is_err());
}

/// WHATWG: in a special scheme a backslash is a path separator, so the
/// host is `example.com`; the guard returns the URL it checked, which is
/// the one to fetch.
#[test]
fn backslash_is_a_path_separator_and_the_checked_url_is_returned() {
    let policy = UrlPolicy::http_and_https();
    let url = policy.check("http://example.com\\@127.0.0.1/").unwrap();
    assert_eq!(url.host_str(), Some("example.com"));
    assert_eq!(url.as_str(), "http://example.com/@127.0.0.1/");
    let url = policy
        .check("https://example.com\\\\evil.internal/x")
        .unwrap();
    assert_eq!(url.host_str(), Some("example.com"));
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the test lookups never wait"),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn resolved_addresses_are_checked_every_one() {
    let policy = UrlPolicy::default();
    let url = Url::parse("https://rebind.example.com/").unwrap();
    let answer = |addrs: Vec<SocketAddr>| {
        move |host: String, port: u16| {
            assert_eq!((host.as_str(), port), ("rebind.example.com", 443));
            async move { Ok::<_, io::Error>(addrs) }
        }
    };
    // A public address alone is returned, to connect to.
    let public = vec![addr("93.184.216.34:443")];
    assert_eq!(
        ready(resolve_checked(&policy, &url, answer(public.clone()))).unwrap(),
        public
    );
    // One non-public address among public ones refuses the whole answer.
    for bad in [
        "127.0.0.1:443",
        "[::1]:443",
        "169.254.169.254:443",
        "[::ffff:10.0.0.1]:443",
    ] {
        let mixed = vec![addr("93.184.216.34:443"), addr(bad)];
        let err = ready(resolve_checked(&policy, &url, answer(mixed))).unwrap_err();
        assert_eq!(err.code().as_str(), "security.url_not_allowed", "{bad}");
    }
    let err = ready(resolve_checked(&policy, &url, answer(Vec::new()))).unwrap_err();
    assert_eq!(err.code().as_str(), "security.resolve_failed");
    let failing =
        |_: String, _: u16| async { Err::<Vec<SocketAddr>, _>(io::Error::other("nxdomain")) };
    let err = ready(resolve_checked(&policy, &url, failing)).unwrap_err();
    assert_eq!(err.code().as_str(), "security.resolve_failed");
    // An address host is not looked up; an unchecked URL is checked.
    let never = |_: String, _: u16| async { unreachable!("no lookup for an address") };
    let literal = Url::parse("https://93.184.216.34:8443/").unwrap();
    assert_eq!(
        ready(resolve_checked(&policy, &literal, never)).unwrap(),
        [addr("93.184.216.34:8443")]
    );
    let internal = Url::parse("https://169.254.169.254/").unwrap();
    let never = |_: String, _: u16| async { unreachable!("refused before any lookup") };
    assert!(ready(resolve_checked(&policy, &internal, never)).is_err());
}

/// The system resolver reads `/etc/hosts`: `localhost`, let through by
/// name, resolves to loopback and is refused by address.
#[test]
fn the_blocking_resolver_checks_what_the_system_answers() {
    let mut policy = UrlPolicy::http_and_https();
    policy.allowed_internal_names = vec!["localhost".into()];
    let url = Url::parse("http://localhost:8080/").unwrap();
    let err = resolve_checked_blocking(&policy, &url).unwrap_err();
    assert_eq!(err.code().as_str(), "security.url_not_allowed", "{err}");
    policy.allow_private_hosts = true;
    let addrs = resolve_checked_blocking(&policy, &url).unwrap();
    assert!(
        addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 8080),
        "{addrs:?}"
    );
}

#[test]
fn redirects_are_checked_hop_by_hop() {
    let policy = UrlPolicy::default();
    let mut guard = RedirectGuard::new(&policy, "https://example.com/a/b", 3).unwrap();
    assert_eq!(
        guard.follow("../c").unwrap().as_str(),
        "https://example.com/c"
    );
    assert_eq!(
        guard.follow("https://example.org/").unwrap().as_str(),
        "https://example.org/"
    );
    // A refused hop (private, downgraded, internal name) leaves the guard where it was.
    for bad in [
        "https://169.254.169.254/latest/meta-data/",
        "http://example.net/",
        "https://kubernetes/",
        "https://[::1]/",
    ] {
        assert!(guard.follow(bad).is_err(), "{bad}");
        assert_eq!(guard.current().as_str(), "https://example.org/");
    }
    assert_eq!(guard.hops(), 2);
    guard.follow("/d").unwrap();
    let err = guard.follow("/e").unwrap_err();
    assert_eq!(err.code().as_str(), "security.url_not_allowed");
    assert!(err.to_string().contains("more than 3 redirects"), "{err}");
    assert!(RedirectGuard::new(&policy, "https://localhost/", DEFAULT_MAX_REDIRECTS).is_err());
}
