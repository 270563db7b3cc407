//! Who is calling: the client's IP address, for rate limits and logs.
//!
//! The client is the peer's address, unless the peer is one of the
//! configured trusted proxies (a load balancer, an ingress): then it is the
//! address those proxies recorded, read from the right of `Forwarded`
//! (RFC 7239, its `for=` parameters) or, when that header is absent,
//! `X-Forwarded-For`: the right-most entry that is not itself a trusted
//! proxy. A header from an untrusted peer is never read, so a client that
//! rotates `X-Forwarded-For` is still the same client. A malformed entry
//! (an obfuscated `for=_hidden`, `unknown`, garbage) stops the walk at the
//! last address known good.
//!
//! ```
//! use std::net::SocketAddr;
//! use pr_http::client::TrustedProxies;
//!
//! let proxies: TrustedProxies = ["10.0.0.0/8"].iter().map(|n| n.parse().unwrap()).collect();
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-forwarded-for", "203.0.113.7, 10.1.2.3".parse().unwrap());
//! let peer: SocketAddr = "10.0.0.5:40000".parse().unwrap();
//! assert_eq!(proxies.client(&headers, peer).to_string(), "203.0.113.7");
//! // The same header from a peer that is not a proxy is ignored.
//! let stranger: SocketAddr = "198.51.100.9:40000".parse().unwrap();
//! assert_eq!(proxies.client(&headers, stranger).to_string(), "198.51.100.9");
//! ```

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The networks whose requests may name their client in forwarding headers.
/// Empty (the default): the client is always the peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromIterator<IpNet> for TrustedProxies {
    fn from_iter<I: IntoIterator<Item = IpNet>>(networks: I) -> Self {
        Self(networks.into_iter().collect())
    }
}

impl TrustedProxies {
    /// Whether `ip` is in one of the networks.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client of a request from `peer` with `headers`; see the
    /// [module](self).
    #[must_use]
    pub fn client(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let forwarded = forwarded_for(headers);
        let entries = if forwarded.is_empty() {
            x_forwarded_for(headers)
        } else {
            forwarded
        };
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = entry.map(|ip| ip.to_canonical()) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// The peer's address, when the server gave it: axum's `ConnectInfo`
/// (feature `axum`) or a `SocketAddr` in the request's extensions.
pub(crate) fn peer<B>(request: &http::Request<B>) -> Option<SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(info.0);
    }
    request.extensions().get::<SocketAddr>().copied()
}

/// `X-Forwarded-For`'s entries, every line in order; `None` for one that is
/// not an address.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or(",").split(','))
        .map(|entry| entry.trim().parse().ok())
        .collect()
}

/// `Forwarded`'s `for=` values, every element in order; `None` for one that
/// is not an address (`unknown`, an obfuscated `_name`, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut entries = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        let Ok(value) = value.to_str() else {
            entries.push(None);
            continue;
        };
        for element in value.split(',') {
            let node = element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .map(|(_, node)| node.trim());
            if let Some(node) = node {
                entries.push(parse_node(node));
            }
        }
    }
    entries
}

/// A `for=` node: `192.0.2.1`, `"192.0.2.1:8080"`, `"[2001:db8::1]"`,
/// `"[2001:db8::1]:8080"`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let host = node.rsplit_once(':').map_or(node, |(host, _port)| host);
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(networks: &[&str]) -> TrustedProxies {
        networks.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 1234)
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_peer() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            TrustedProxies::default()
                .client(&h, peer("9.9.9.9"))
                .to_string(),
            "9.9.9.9"
        );
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "2001:db8::/32"]);
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
            ("x-forwarded-for", "10.0.0.9"),
        ]);
        // 6.6.6.6 may be forged by 1.2.3.4; 1.2.3.4 was recorded by our proxies.
        assert_eq!(p.client(&h, peer("10.0.0.1")).to_string(), "1.2.3.4");
        // Only proxies: the left-most.
        let h = headers(&[("x-forwarded-for", "10.0.0.7")]);
        assert_eq!(p.client(&h, peer("10.0.0.1")).to_string(), "10.0.0.7");
        // An IPv4-mapped peer counts as its IPv4 address.
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(p.client(&h, peer("::ffff:10.0.0.1")).to_string(), "1.2.3.4");
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_reads_every_node_form() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "7.7.7.7"),
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
        ]);
        assert_eq!(
            p.client(&h, peer("10.0.0.1")).to_string(),
            "2001:db8:cafe::17"
        );
        let h = headers(&[(
            "forwarded",
            "proto=http;For=\"192.0.2.60:8080\";by=203.0.113.43",
        )]);
        assert_eq!(p.client(&h, peer("10.0.0.1")).to_string(), "192.0.2.60");
    }

    #[test]
    fn a_malformed_entry_stops_at_the_last_good_address() {
        let p = proxies(&["10.0.0.0/8"]);
        for bad in ["garbage", "unknown", "1.2.3.4.5", ""] {
            let h = headers(&[("x-forwarded-for", bad)]);
            assert_eq!(
                p.client(&h, peer("10.0.0.1")).to_string(),
                "10.0.0.1",
                "{bad:?}"
            );
        }
        let h = headers(&[("forwarded", "for=_hidden, for=10.0.0.3")]);
        assert_eq!(p.client(&h, peer("10.0.0.1")).to_string(), "10.0.0.3");
        let h = headers(&[("x-forwarded-for", "1.1.1.1, junk, 10.0.0.3")]);
        assert_eq!(p.client(&h, peer("10.0.0.1")).to_string(), "10.0.0.3");
    }
}
