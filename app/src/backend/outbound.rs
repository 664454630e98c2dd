//! Where the product may send requests: outgoing URLs an admin types (Slack's webhook, and
//! later playbooks' webhooks) go over https to public addresses only, so the product can't
//! be turned against the network it runs in (cloud metadata at 169.254.169.254, a
//! database on localhost). `VCSM_ALLOW_PRIVATE_URLS=1` lifts this for installations whose
//! relay really is inside (and for tests' stand-in servers).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::error::AppError;

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, multicast, broadcast or unspecified, nor an IPv6 form
/// of one of those.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Checks an outgoing URL an admin typed, for the form's `field`.
///
/// # Errors
/// `Validation` naming what is wrong: not a URL, not https, a host that is an address
/// inside the network, or longer than 500 characters.
pub fn check_url(raw: &str, field: &str, allow_private: bool) -> Result<String, AppError> {
    let raw = raw.trim();
    let url = reqwest::Url::parse(raw)
        .map_err(|_| AppError::validation(field, "must be a URL such as https://example.com/…"))?;
    let Some(host) = url.host_str() else {
        return Err(AppError::validation(field, "must name a host"));
    };
    if raw.len() > 500 {
        return Err(AppError::validation(
            field,
            "must be at most 500 characters",
        ));
    }
    if allow_private {
        return if matches!(url.scheme(), "https" | "http") {
            Ok(raw.to_string())
        } else {
            Err(AppError::validation(field, "must be an http(s) URL"))
        };
    }
    if url.scheme() != "https" {
        return Err(AppError::validation(field, "must be an https URL"));
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let private_literal = host.parse::<IpAddr>().is_ok_and(|ip| !is_public_ip(ip));
    if private_literal || host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost") {
        return Err(AppError::validation(
            field,
            "must point to a public address, not one inside this network",
        ));
    }
    Ok(raw.to_string())
}

/// A DNS resolver that gives only public addresses, so a name that resolves (or is made
/// to resolve, later) to an address inside the network is refused at connection time.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                found.into_iter().filter(|a| is_public_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The process's client for outgoing HTTP: public addresses only unless `allow_private`.
pub fn http_client(allow_private: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("virtual-csm/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    };
    builder.build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public_ip(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "52.1.2.3", "2606:4700::1111"] {
            assert!(is_public_ip(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn outgoing_urls_must_be_https_to_a_public_host() {
        let ok = |u: &str| check_url(u, "secret", false).is_ok();
        assert!(ok("https://hooks.slack.com/services/T/B/X"));
        assert!(!ok("http://hooks.slack.com/services/T/B/X"));
        assert!(!ok("https://127.0.0.1:8080/x"));
        assert!(!ok("https://[::1]/x"));
        assert!(!ok("https://169.254.169.254/latest/meta-data"));
        assert!(!ok("https://localhost/x"));
        assert!(!ok("file:///etc/passwd"));
        assert!(check_url("http://127.0.0.1:9/x", "secret", true).is_ok());
        assert!(check_url("ftp://127.0.0.1/x", "secret", true).is_err());
    }
}
