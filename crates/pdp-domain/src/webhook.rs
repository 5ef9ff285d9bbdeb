//! Webhooks of the open portal (R-OPN-09): the form of a subscriber's URL and the signature of
//! each delivery.
//!
//! A delivery is a JSON body posted to the URL with the header
//! `X-PDP-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the body under the subscription's
//! secret (shown to the subscriber once), as GitHub signs its webhooks; the receiver recomputes
//! it and compares in constant time. Where the URL points is checked at each delivery, against
//! the addresses its host resolves to then: a name is not an address.

use hmac::{KeyInit, Mac};

/// The most webhooks one account keeps.
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Why a webhook URL is refused, in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlProblem {
    pub zh: &'static str,
    pub en: &'static str,
}

/// Checks a webhook URL's form: `http` or `https`, a host, no user name or password (they would
/// be stored and shown), no fragment, at most [`MAX_URL_LEN`] characters.
pub fn check_url(text: &str) -> Result<url::Url, UrlProblem> {
    let bad = |zh, en| Err(UrlProblem { zh, en });
    if text.len() > MAX_URL_LEN {
        return bad("地址过长", "the URL is too long");
    }
    let Ok(u) = url::Url::parse(text.trim()) else {
        return bad("地址格式不正确", "the URL cannot be read");
    };
    if !matches!(u.scheme(), "http" | "https") {
        return bad("地址须以 http:// 或 https:// 开头", "the URL must start with http:// or https://");
    }
    if u.host().is_none() {
        return bad("地址缺少主机名", "the URL names no host");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return bad("地址中不得包含用户名或密码", "the URL must not carry a user name or password");
    }
    if u.fragment().is_some() {
        return bad("地址中不得包含片段（#）", "the URL must not carry a fragment (#)");
    }
    Ok(u)
}

/// Whether an address is one a delivery may reach from the platform: not loopback, private,
/// link-local, shared, multicast, unspecified or documentation space (a subscriber must not make
/// the platform call its own intranet), unless the deployment allows private receivers.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// The signature header's value of `body` under `secret`: `sha256=` and the hex HMAC-SHA256.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let bytes: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_form() {
        assert!(check_url("https://example.org/hook?x=1").is_ok());
        assert!(check_url("http://10.0.0.1:8080/").is_ok(), "the address is checked at delivery");
        for bad in [
            "ftp://example.org/",
            "https://user:pw@example.org/",
            "https://example.org/#x",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://example.org/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "198.18.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "202.96.128.86", "2400:3200::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn signatures_are_the_hmac_of_the_body() {
        // RFC 4231, test case 2.
        let s = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(s, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
