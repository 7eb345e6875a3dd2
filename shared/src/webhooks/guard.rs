//! Where a webhook may go: `https` only (plain `http` only where the stage allows
//! loopback, a local stage), and never to a private, loopback, link-local, CGNAT,
//! multicast, reserved or unspecified address. The URL is checked when an endpoint is
//! added and again at every delivery, on the addresses the name resolves to then (the
//! sender connects only to addresses that passed).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The setting a local stage sets to allow `http://` and loopback receivers.
pub const ALLOW_HTTP_LOOPBACK_ENV: &str = "LOYALTY_WEBHOOKS_ALLOW_HTTP_LOOPBACK";

/// What the stage allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// `http://` and loopback addresses (127.0.0.0/8, ::1): local stages only.
    pub allow_http_loopback: bool,
}

impl Policy {
    /// From `LOYALTY_WEBHOOKS_ALLOW_HTTP_LOOPBACK` (`1` allows; unset or anything else
    /// does not).
    pub fn from_env() -> Self {
        Policy { allow_http_loopback: std::env::var(ALLOW_HTTP_LOOPBACK_ENV).is_ok_and(|v| v.trim() == "1") }
    }

    pub fn local() -> Self {
        Policy { allow_http_loopback: true }
    }

    /// Why a connection to `ip` is refused, if it is.
    pub fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        let reason = forbidden(ip)?;
        if reason == LOOPBACK && self.allow_http_loopback {
            return None;
        }
        Some(reason)
    }
}

const LOOPBACK: &str = "a loopback address";

/// What kind of address no webhook may reach, if `ip` is one.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_loopback() => LOOPBACK,
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address",
        _ if a == 100 && (64..128).contains(&b) => "a shared (CGNAT) address",
        _ if ip.is_multicast() => "a multicast address",
        _ if a >= 240 => "a reserved address",
        _ if a == 192 && b == 0 && c == 0 => "a reserved address",
        _ if a == 198 && (b == 18 || b == 19) => "a reserved address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address inside IPv6 (mapped, NAT64, 6to4) is judged as that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return forbidden_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    if s[0] == 0x2002 {
        if let Some(r) = forbidden_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8)) {
            return Some(r);
        }
    }
    Some(match () {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => LOOPBACK,
        _ if (s[0] & 0xfe00) == 0xfc00 => "a private address",
        _ if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 => "a link-local address",
        _ if ip.is_multicast() => "a multicast address",
        // IPv4-compatible (deprecated) ::a.b.c.d
        _ if s[0..6] == [0, 0, 0, 0, 0, 0] => "a reserved address",
        _ => return None,
    })
}

/// The URL of an endpoint, checked: absolute, `https` (or `http` where allowed), a
/// host, no user name or password, at most 2,048 characters; an IP address as host is
/// checked like a resolved one.
pub fn check_url(url: &str, policy: &Policy) -> Result<http::Uri, String> {
    if url.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    let uri: http::Uri = url.parse().map_err(|_| "must be an absolute https URL".to_owned())?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if policy.allow_http_loopback => {}
        Some("http") => return Err("must be https".into()),
        _ => return Err("must be an absolute https URL".into()),
    }
    let authority = uri.authority().ok_or("must name a host")?;
    if authority.as_str().contains('@') {
        return Err("must not carry a user name or password".into());
    }
    let host = authority.host();
    if host.is_empty() {
        return Err("must name a host".into());
    }
    if let Some(ip) = literal_ip(host) {
        if let Some(reason) = policy.refuses(ip) {
            return Err(format!("must not be {reason}"));
        }
    }
    Ok(uri)
}

/// The host as an IP address, if it is one (`[::1]` included).
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for bad in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
        ] {
            assert!(forbidden(ip(bad)).is_some(), "{bad}");
        }
        for good in ["93.184.216.34", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(forbidden(ip(good)), None, "{good}");
        }
    }

    #[test]
    fn loopback_only_where_the_stage_allows_it() {
        let (live, local) = (Policy::default(), Policy::local());
        for lo in ["127.0.0.1", "::1"] {
            assert!(live.refuses(ip(lo)).is_some());
            assert_eq!(local.refuses(ip(lo)), None);
        }
        assert!(local.refuses(ip("10.0.0.1")).is_some(), "loopback allowed, private still not");
    }

    #[test]
    fn urls_are_https_with_a_public_host() {
        let live = Policy::default();
        assert!(check_url("https://hooks.example.com/in?x=1", &live).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "/relative",
            "https://user:pw@hooks.example.com/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8080/",
            "https://127.0.0.1/",
        ] {
            assert!(check_url(bad, &live).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9000/hook", &Policy::local()).is_ok());
        assert!(check_url("http://[::1]:9000/hook", &Policy::local()).is_ok());
        assert!(check_url("http://10.0.0.1/hook", &Policy::local()).is_err());
    }
}
