//! Where dangol may send a request it was told to send (an SMS or Kakao provider now; webhooks and
//! destinations later): the HTTP client those requests go through, which never follows a
//! redirect (a 303 must not turn a provider's URL into a read of some other page), and, with
//! `--deny-private-targets`, refuses this machine's and private networks' addresses both for an
//! address written in the URL and for whatever a name resolves to (the addresses checked are the
//! ones connected to, so a name cannot be re-pointed after the check).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Whether `ip` is this machine's, a private network's, or otherwise not on the public internet:
/// loopback, RFC 1918, carrier-grade NAT (100.64/10), link-local, unique local (fc00::/7),
/// unspecified, broadcast, documentation, and IPv4 written inside IPv6.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Refuses a URL whose host is a private address written out, or `localhost`, when private
/// targets are denied. A name is checked when it is resolved ([`client`]).
pub fn check_url(url: &str, deny_private: bool) -> Result<(), String> {
    if !deny_private {
        return Ok(());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    // The parser writes every form of an address out plainly (`http://2130706433/` is 127.0.0.1).
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let private = match host.parse::<IpAddr>() {
        Ok(ip) => is_private(ip),
        Err(_) => host.is_empty() || host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost"),
    };
    if private {
        return Err(format!(
            "{url:?} is on this machine or a private network, which this server is not allowed to reach (--deny-private-targets)"
        ));
    }
    Ok(())
}

/// The HTTP client for requests to addresses the shop configured: no redirects; with
/// `deny_private`, names resolving to private addresses fail to connect.
pub fn client(deny_private: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if deny_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build().map_err(|e| format!("http client: {e}"))
}

/// Resolves with the system's resolver and keeps only public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses on this machine or a private network (--deny-private-targets)"
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What may be shown of an answer from a configured address: its first 120 characters, without
/// control characters and with runs of white space as one space.
pub fn excerpt(body: &str) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in body.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
        if out.chars().count() >= 120 {
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_told_apart() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "211.234.1.1", "2001:4860:4860::8888"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
        assert!(check_url("http://127.0.0.1:9/x", true).is_err());
        assert!(check_url("http://[::1]/x", true).is_err());
        assert!(check_url("http://localhost/x", true).is_err());
        assert!(check_url("http://2130706433/x", true).is_err());
        assert!(check_url("https://sms.example.com/send", true).is_ok());
        assert!(check_url("http://127.0.0.1:9/x", false).is_ok());
    }

    #[test]
    fn an_excerpt_is_short_and_plain() {
        assert_eq!(
            excerpt("  {\"ok\": true,\n\r\t \"id\": 7}  "),
            "{\"ok\": true, \"id\": 7}"
        );
        assert_eq!(excerpt(&"가".repeat(500)).chars().count(), 121);
        assert_eq!(excerpt("a\u{1b}[31mb"), "a [31mb");
    }
}
