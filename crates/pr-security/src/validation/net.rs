//! URLs (WHATWG, via the `url` crate) with a policy and an SSRF guard, host
//! names and IP addresses.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use serde::{Deserialize, Serialize};
pub use url::Url;

use pr_core::validate::{Validate, Validator};

use crate::Error;

/// The longest URL [`parse_url`] and [`UrlPolicy::check`] accept, in bytes.
pub const MAX_URL_LEN: usize = 8192;

/// Parses `input` as the WHATWG URL Standard does (via the `url` crate),
/// against `base` when given. This is the parser browsers use, so the
/// result (its host in particular: `http://0x7f.1/` has host `127.0.0.1`)
/// is what a client would connect to.
///
/// # Errors
///
/// [`Error::InvalidUrl`] when the input (or base) does not parse or is longer
/// than [`MAX_URL_LEN`].
pub fn parse_url(input: &str, base: Option<&str>) -> Result<Url, Error> {
    if input.len() > MAX_URL_LEN || base.is_some_and(|b| b.len() > MAX_URL_LEN) {
        return Err(Error::InvalidUrl {
            issue: format!("longer than {MAX_URL_LEN} bytes"),
        });
    }
    let invalid = |e: url::ParseError| Error::InvalidUrl {
        issue: e.to_string(),
    };
    match base {
        None => Url::parse(input).map_err(invalid),
        Some(base) => {
            let base = Url::parse(base).map_err(|e| Error::InvalidUrl {
                issue: format!("base: {e}"),
            })?;
            base.join(input).map_err(invalid)
        }
    }
}

/// What URLs [`UrlPolicy::check`] accepts. `Default` is the safe choice for
/// URLs a server will fetch (webhooks, avatars, link previews): `https`
/// only, no user name or password, and the SSRF guard on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct UrlPolicy {
    /// Allowed schemes, lowercase.
    pub schemes: Vec<String>,
    /// Whether a user name or password may appear in the URL.
    pub allow_credentials: bool,
    /// Whether hosts may be loopback, private, link-local, unique-local,
    /// cloud-metadata or other non-public addresses and names
    /// (`localhost`, `*.internal`). Off by default: the SSRF guard.
    pub allow_private_hosts: bool,
    /// When not empty, only these hosts (exact, lowercase) are allowed.
    pub allowed_hosts: Vec<String>,
    /// Host names (exact, lowercase, no trailing dot) the SSRF guard lets
    /// through although the name looks internal: a single label
    /// (`kubernetes`), a cluster or site suffix (`api.svc`, `db.consul`).
    /// For a service this one is meant to call. Addresses are never exempt
    /// (that is `allow_private_hosts`), and the addresses such a name
    /// resolves to are still checked by the checked resolver (`resolve_checked`).
    pub allowed_internal_names: Vec<String>,
}

impl Default for UrlPolicy {
    fn default() -> Self {
        Self {
            schemes: vec!["https".to_owned()],
            allow_credentials: false,
            allow_private_hosts: false,
            allowed_hosts: Vec::new(),
            allowed_internal_names: Vec::new(),
        }
    }
}

/// Every problem at once, each at its key (`schemes`, `allowed_hosts`).
impl Validate for UrlPolicy {
    fn validate(&self, v: &mut Validator) {
        v.check(!self.schemes.is_empty(), "schemes", "must not be empty");
        for scheme in &self.schemes {
            let lowercase = !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
            v.check(
                lowercase,
                "schemes",
                format!("{scheme:?} is not a lowercase scheme"),
            );
        }
        for host in &self.allowed_hosts {
            v.check(
                !host.is_empty() && !host.chars().any(|c| c.is_ascii_uppercase()),
                "allowed_hosts",
                format!("{host:?} must be a non-empty lowercase host"),
            );
        }
        for name in &self.allowed_internal_names {
            v.check(
                !name.is_empty()
                    && !name.ends_with('.')
                    && !name.chars().any(|c| c.is_ascii_uppercase()),
                "allowed_internal_names",
                format!("{name:?} must be a non-empty lowercase name without a trailing dot"),
            );
        }
    }
}

impl UrlPolicy {
    /// `http` and `https`, otherwise the default.
    #[must_use]
    pub fn http_and_https() -> Self {
        Self {
            schemes: vec!["http".to_owned(), "https".to_owned()],
            ..Self::default()
        }
    }

    /// Parses `input` and checks it against the policy; returns the
    /// normalized URL.
    ///
    /// The SSRF guard looks at the host as the WHATWG parser understood it,
    /// so decimal (`http://2130706433/`), octal, hex (`http://0x7f.1/`) and
    /// short IPv4 forms, IPv4-mapped and other IPv6 forms that embed an IPv4
    /// address (`[::ffff:127.0.0.1]`, NAT64, 6to4), and names with a
    /// trailing dot (`localhost.`) are all seen for what they are. Names
    /// that resolve inside the network by convention are refused too: a
    /// single label (`kubernetes`, `db`, `ip6-localhost`: resolved through
    /// `/etc/hosts` or the resolver's search domains), the suffixes
    /// `localhost`, `local` (and so `cluster.local`), `svc`, `internal`,
    /// `consul`, `home.arpa`, `localdomain`, `home`, `lan`, `intranet`,
    /// `private` and `corp`, and the cloud metadata names; list the ones you
    /// mean to call in [`allowed_internal_names`](Self::allowed_internal_names).
    ///
    /// **Fetch the URL this returns, never the input string.** Parsers
    /// disagree: `http://example.com\@127.0.0.1/` is host `example.com`
    /// with path `/@127.0.0.1/` to WHATWG (a backslash is a path separator
    /// in `http` and `https`), and host `127.0.0.1` to some other parsers;
    /// the returned [`Url`] is what was checked.
    ///
    /// It cannot see what a DNS name resolves to, and a name can resolve
    /// to anything (wildcard DNS such as `127.0.0.1.nip.io`, rebinding that
    /// answers differently the second time): resolve with
    /// [`resolve_checked_blocking`], which checks every address and returns
    /// the ones to connect to, and connect to those, with no second lookup.
    /// A redirect is a new URL: check each hop with [`RedirectGuard`].
    ///
    /// # Examples
    ///
    /// ```
    /// use pr_security::validation::UrlPolicy;
    ///
    /// # fn main() -> Result<(), pr_security::Error> {
    /// let policy = UrlPolicy::default();
    /// assert_eq!(policy.check("HTTPS://Example.com/a/../b")?.as_str(), "https://example.com/b");
    /// for bad in ["http://example.com/", "https://user:pw@example.com/", "https://0x7f.1/",
    ///             "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/", "https://localhost./"] {
    ///     assert!(policy.check(bad).is_err(), "{bad}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] when it does not parse, [`Error::UrlNotAllowed`]
    /// naming the rule it breaks.
    pub fn check(&self, input: &str) -> Result<Url, Error> {
        let url = parse_url(input, None)?;
        let not_allowed = |issue: String| Error::UrlNotAllowed { issue };
        if !self.schemes.iter().any(|s| s == url.scheme()) {
            return Err(not_allowed(format!(
                "scheme {:?} is not allowed",
                url.scheme()
            )));
        }
        if !self.allow_credentials && (!url.username().is_empty() || url.password().is_some()) {
            return Err(not_allowed("credentials in the url".to_owned()));
        }
        let host = url
            .host()
            .ok_or_else(|| not_allowed("no host".to_owned()))?;
        if !self.allow_private_hosts {
            match host {
                url::Host::Ipv4(ip) => {
                    if !is_public_ip(IpAddr::V4(ip)) {
                        return Err(not_allowed(format!("non-public address {ip}")));
                    }
                }
                url::Host::Ipv6(ip) => {
                    if !is_public_ip(IpAddr::V6(ip)) {
                        return Err(not_allowed(format!("non-public address [{ip}]")));
                    }
                }
                url::Host::Domain(name) => {
                    let exempt = self
                        .allowed_internal_names
                        .iter()
                        .any(|n| n == name.strip_suffix('.').unwrap_or(name));
                    if !exempt && is_internal_name(name) {
                        return Err(not_allowed(format!("internal host name {name:?}")));
                    }
                }
            }
        }
        if !self.allowed_hosts.is_empty() {
            let name = url.host_str().unwrap_or_default();
            let name = name.strip_suffix('.').unwrap_or(name);
            if !self.allowed_hosts.iter().any(|h| h == name) {
                return Err(not_allowed(format!(
                    "host {name:?} is not in the allow-list"
                )));
            }
        }
        Ok(url)
    }
}

/// How many redirects a [`RedirectGuard`] follows by default (what curl's
/// `--max-redirs` examples and most clients use as a sane bound is 5–10;
/// a webhook or preview fetch needs one or two).
pub const DEFAULT_MAX_REDIRECTS: usize = 5;

impl UrlPolicy {
    /// Checks the addresses `host` resolved to: every one must be public
    /// (unless [`allow_private_hosts`](Self::allow_private_hosts)), so a
    /// name that answers with a mix (a public address and `127.0.0.1`, the
    /// rebinding pattern) is refused as a whole.
    ///
    /// # Errors
    ///
    /// [`Error::UrlNotAllowed`] naming the first non-public address,
    /// [`Error::ResolveFailed`] when there is none at all.
    pub fn check_resolved(&self, host: &str, addrs: &[SocketAddr]) -> Result<(), Error> {
        if addrs.is_empty() {
            return Err(Error::ResolveFailed {
                host: host.to_owned(),
                issue: "no addresses".to_owned(),
            });
        }
        if self.allow_private_hosts {
            return Ok(());
        }
        match addrs.iter().find(|a| !is_public_ip(a.ip())) {
            Some(bad) => Err(Error::UrlNotAllowed {
                issue: format!("host {host:?} resolves to non-public address {}", bad.ip()),
            }),
            None => Ok(()),
        }
    }
}

/// What to resolve for a checked URL: its host (a name, or an address
/// already checked) and port.
enum Target {
    Name(String, u16),
    Address(SocketAddr),
}

fn target(policy: &UrlPolicy, url: &Url) -> Result<(Url, Target), Error> {
    // Checked again here, so that a caller cannot pass an unchecked URL.
    let url = policy.check(url.as_str())?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Error::UrlNotAllowed {
            issue: format!("no port for scheme {:?}", url.scheme()),
        })?;
    let target = match url.host() {
        Some(url::Host::Ipv4(ip)) => Target::Address(SocketAddr::new(IpAddr::V4(ip), port)),
        Some(url::Host::Ipv6(ip)) => Target::Address(SocketAddr::new(IpAddr::V6(ip), port)),
        Some(url::Host::Domain(name)) => Target::Name(name.to_owned(), port),
        None => {
            return Err(Error::UrlNotAllowed {
                issue: "no host".to_owned(),
            });
        }
    };
    Ok((url, target))
}

/// Resolves the host of `url` with `lookup` (`tokio::net::lookup_host`, a
/// hickory resolver, ...), checks `url` and every address against `policy`,
/// and returns the addresses to connect to: connect to these, never look
/// the name up again (a second lookup may answer differently: DNS
/// rebinding). An address host (`https://93.184.216.34/`) is not looked up.
///
/// With hyper-util, return these from the `Service<Name>` given to
/// `HttpConnector::new_with_resolver`; with reqwest, from a
/// `reqwest::dns::Resolve`. The blocking twin uses the system resolver.
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use pr_security::validation::{UrlPolicy, Url, resolve_checked};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A name that answers with a loopback address (a rebinding attempt).
/// let lookup = |_host: String, port: u16| async move {
///     Ok::<_, std::io::Error>(vec![SocketAddr::from(([127, 0, 0, 1], port))])
/// };
/// let url = Url::parse("https://rebind.example.com/")?;
/// let policy = UrlPolicy::default();
/// // Any executor; this lookup is ready at once.
/// let mut resolving = pin!(resolve_checked(&policy, &url, lookup));
/// let Poll::Ready(result) = resolving.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
///     unreachable!("the lookup above never waits")
/// };
/// assert!(result.is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// What [`UrlPolicy::check`] and [`UrlPolicy::check_resolved`] return, and
/// [`Error::ResolveFailed`] when the lookup fails.
pub async fn resolve_checked<F, Fut>(
    policy: &UrlPolicy,
    url: &Url,
    lookup: F,
) -> Result<Vec<SocketAddr>, Error>
where
    F: FnOnce(String, u16) -> Fut,
    Fut: Future<Output = io::Result<Vec<SocketAddr>>>,
{
    match target(policy, url)? {
        (_, Target::Address(addr)) => Ok(vec![addr]),
        (_, Target::Name(host, port)) => {
            let addrs = lookup(host.clone(), port)
                .await
                .map_err(|e| Error::ResolveFailed {
                    host: host.clone(),
                    issue: e.to_string(),
                })?;
            policy.check_resolved(&host, &addrs)?;
            Ok(addrs)
        }
    }
}

/// [`resolve_checked`] through the system resolver (`getaddrinfo`, which
/// reads `/etc/hosts`), blocking the calling thread.
///
/// # Examples
///
/// ```
/// use pr_security::validation::{UrlPolicy, Url, resolve_checked_blocking};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let url = Url::parse("https://93.184.216.34/")?;
/// let addrs = resolve_checked_blocking(&UrlPolicy::default(), &url)?;
/// assert_eq!(addrs, ["93.184.216.34:443".parse()?]);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`resolve_checked`].
pub fn resolve_checked_blocking(policy: &UrlPolicy, url: &Url) -> Result<Vec<SocketAddr>, Error> {
    match target(policy, url)? {
        (_, Target::Address(addr)) => Ok(vec![addr]),
        (_, Target::Name(host, port)) => {
            let addrs: Vec<SocketAddr> = (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| Error::ResolveFailed {
                    host: host.clone(),
                    issue: e.to_string(),
                })?
                .collect();
            policy.check_resolved(&host, &addrs)?;
            Ok(addrs)
        }
    }
}

/// Follows redirects hop by hop under a [`UrlPolicy`]: each `Location` is
/// resolved against the URL it came from, checked as a new URL (an open
/// redirector on a public host can point at `http://169.254.169.254/`),
/// and counted against a hop limit. Resolve each hop's host with
/// [`resolve_checked`] before connecting, as for the first URL.
///
/// # Examples
///
/// ```
/// use pr_security::validation::{RedirectGuard, UrlPolicy};
///
/// # fn main() -> Result<(), pr_security::Error> {
/// let policy = UrlPolicy::default();
/// let mut guard = RedirectGuard::new(&policy, "https://example.com/a", 2)?;
/// assert_eq!(guard.follow("/b")?.as_str(), "https://example.com/b");
/// assert!(guard.follow("http://169.254.169.254/latest/meta-data/").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedirectGuard<'a> {
    policy: &'a UrlPolicy,
    current: Url,
    hops: usize,
    max_hops: usize,
}

impl<'a> RedirectGuard<'a> {
    /// Starts at `start`, checked against `policy`; at most `max_hops`
    /// redirects are followed ([`DEFAULT_MAX_REDIRECTS`] is a fair choice).
    ///
    /// # Errors
    ///
    /// What [`UrlPolicy::check`] returns for `start`.
    pub fn new(policy: &'a UrlPolicy, start: &str, max_hops: usize) -> Result<Self, Error> {
        Ok(Self {
            current: policy.check(start)?,
            policy,
            hops: 0,
            max_hops,
        })
    }

    /// The URL to fetch now: the start, or the last redirect followed.
    #[must_use]
    pub const fn current(&self) -> &Url {
        &self.current
    }

    /// How many redirects were followed.
    #[must_use]
    pub const fn hops(&self) -> usize {
        self.hops
    }

    /// Follows a redirect to `location` (absolute or relative to
    /// [`current`](Self::current)) and returns the URL to fetch next.
    /// A refused hop leaves the guard where it was.
    ///
    /// # Errors
    ///
    /// [`Error::UrlNotAllowed`] past the hop limit or when the new URL
    /// breaks the policy, [`Error::InvalidUrl`] when it does not parse.
    pub fn follow(&mut self, location: &str) -> Result<&Url, Error> {
        if self.hops >= self.max_hops {
            return Err(Error::UrlNotAllowed {
                issue: format!("more than {} redirects", self.max_hops),
            });
        }
        let next = parse_url(location, Some(self.current.as_str()))?;
        self.current = self.policy.check(next.as_str())?;
        self.hops += 1;
        Ok(&self.current)
    }
}

/// Names that resolve to the local machine, inside the network by
/// convention, or to cloud metadata services. A single label is internal:
/// no public host is one label, and the resolver completes it with its
/// search domains (`db` → `db.default.svc.cluster.local`) or `/etc/hosts`.
fn is_internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let last = name.rsplit('.').next().unwrap_or(&name);
    matches!(
        name.as_str(),
        "" | "localhost"
            | "metadata"
            | "metadata.google.internal"
            | "instance-data"
            | "metadata.azure.com"
            | "metadata.tencentyun.com"
    ) || !name.contains('.')
        || matches!(
            last,
            "localhost"
                | "local"
                | "internal"
                | "localdomain"
                | "home"
                | "lan"
                | "intranet"
                | "private"
                | "corp"
                | "svc"
                | "consul"
        )
        || name == "home.arpa"
        || name.ends_with(".home.arpa")
}

/// Whether `ip` is a public unicast address: not unspecified, loopback,
/// private (RFC 1918), shared (RFC 6598, where Alibaba's metadata lives),
/// link-local (where `169.254.169.254` lives), unique-local, site-local,
/// multicast, broadcast, documentation, benchmarking or reserved; for IPv6
/// forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4),
/// whether that address is public.
///
/// # Examples
///
/// ```
/// use pr_security::validation::is_public_ip;
///
/// assert!(is_public_ip("93.184.216.34".parse().unwrap()));
/// assert!(!is_public_ip("10.1.2.3".parse().unwrap()));
/// assert!(!is_public_ip("::ffff:169.254.169.254".parse().unwrap()));
/// assert!(!is_public_ip("fd00:ec2::254".parse().unwrap()));
/// ```
#[must_use]
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network"
        || a == 10
        || a == 127
        || (a == 100 && (64..=127).contains(&b)) // shared address space
        || (a == 169 && b == 254)
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..=19).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: tunnels to anywhere
        || (s[0] == 0x2001 && s[1] < 0x0200) // other IETF protocol assignments
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only
        || (s[0] == 0x3fff && s[1] & 0xf000 == 0) // 3fff::/20, documentation (RFC 9637)
        || s[0] == 0x5f00 // 5f00::/16, SRv6 SIDs (RFC 9602), not globally routed
        || s[0] == 0) // ::/16 other than the forms handled above
}

/// The IPv4 address an IPv6 address stands for, if any.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        // NAT64 (well-known and local-use prefixes)
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        // 6to4
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        // ::ffff:0:a.b.c.d (IPv4-translated)
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    None
}

/// Validates an IP address in its canonical text form (no leading zeros in
/// IPv4 octets, no zone id) and returns it.
///
/// # Errors
///
/// [`Error::InvalidIp`].
pub fn validate_ip(input: &str) -> Result<IpAddr, Error> {
    if input.len() > 64 {
        return Err(Error::InvalidIp {
            issue: "longer than 64 characters",
        });
    }
    input.parse().map_err(|_| Error::InvalidIp {
        issue: "not an ipv4 or ipv6 address",
    })
}

/// Validates a DNS host name and returns it in ASCII lowercase, without a
/// trailing dot. Internationalized names are converted to their `xn--` form
/// (UTS #46, via the `url` crate's IDNA). Labels are letters, digits and
/// hyphens, 1 to 63 characters, not starting or ending with a hyphen; the
/// name is at most 253 characters. IP addresses are not host names here.
///
/// # Examples
///
/// ```
/// use pr_security::validation::validate_hostname;
///
/// # fn main() -> Result<(), pr_security::Error> {
/// assert_eq!(validate_hostname("WWW.Example.com.")?, "www.example.com");
/// assert_eq!(validate_hostname("bücher.de")?, "xn--bcher-kva.de");
/// assert!(validate_hostname("under_score.com").is_err());
/// assert!(validate_hostname("127.0.0.1").is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InvalidHostname`].
pub fn validate_hostname(input: &str) -> Result<String, Error> {
    let bad = |issue| Error::InvalidHostname { issue };
    if input.is_empty() || input.len() > 1024 {
        return Err(bad("empty or too long"));
    }
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        match url::Host::parse(trimmed) {
            Ok(url::Host::Domain(d)) => d,
            Ok(_) => return Err(bad("an ip address, not a host name")),
            Err(_) => return Err(bad("not a valid internationalized name")),
        }
    };
    if ascii.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    let mut all_numeric_last = false;
    for label in ascii.split('.') {
        let b = label.as_bytes();
        if b.is_empty() {
            return Err(bad("empty label"));
        }
        if b.len() > 63 {
            return Err(bad("label longer than 63 characters"));
        }
        if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
            return Err(bad("character other than a letter, digit or hyphen"));
        }
        if b[0] == b'-' || b[b.len() - 1] == b'-' {
            return Err(bad("label starts or ends with a hyphen"));
        }
        all_numeric_last = b.iter().all(u8::is_ascii_digit);
    }
    if all_numeric_last {
        return Err(bad(
            "all-numeric top-level label (looks like an ip address)",
        ));
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_classes() {
        for private in [
            "0.0.0.0",
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "192.0.0.192",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::ffff:0:7f00:1",
            "2001:db8::1",
            "2001::1",
            "fec0::1",
        ] {
            assert!(!is_public_ip(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::",
        ] {
            assert!(is_public_ip(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn strict_ip_text() {
        assert!(validate_ip("010.0.0.1").is_err());
        assert!(validate_ip("1.2.3").is_err());
        assert!(validate_ip("fe80::1%eth0").is_err());
        assert_eq!(validate_ip("::1").unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn policy_validation() {
        pr_core::validate::check(&UrlPolicy::default()).unwrap();
        let bad = UrlPolicy {
            schemes: vec!["HTTP".into()],
            allowed_hosts: vec![String::new()],
            ..UrlPolicy::default()
        };
        let problems = pr_core::validate::check(&bad).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["schemes", "allowed_hosts"]);
    }
}
