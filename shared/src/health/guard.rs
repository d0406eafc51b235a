//! The SSRF guard's address rule (docs/contract-part2.md 0 and 7.1): a health
//! probe may connect only to a public (global unicast) address. Pure, so
//! every refused class has its own test case.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("unspecified address")]
    Unspecified,
    #[error("\"this network\" address (0.0.0.0/8)")]
    ThisNetwork,
    #[error("loopback address")]
    Loopback,
    #[error("private address (RFC 1918)")]
    Private,
    #[error("shared address space (CGNAT, 100.64.0.0/10)")]
    SharedCgnat,
    #[error("link-local address")]
    LinkLocal,
    #[error("multicast address")]
    Multicast,
    #[error("broadcast address")]
    Broadcast,
    #[error("documentation, benchmarking or protocol-assignment address")]
    SpecialPurpose,
    #[error("reserved address")]
    Reserved,
    #[error("unique local address (fc00::/7)")]
    UniqueLocal,
    #[error("IPv4-mapped or IPv4-embedding IPv6 address")]
    EmbeddedIpv4,
    #[error("not a global unicast IPv6 address")]
    NotGlobalV6,
}

/// `Ok` for a public unicast address; why not otherwise.
pub fn check_address(ip: IpAddr) -> Result<(), Refused> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

fn check_v4(ip: Ipv4Addr) -> Result<(), Refused> {
    let [a, b, c, _] = ip.octets();
    Err(match (a, b, c) {
        _ if ip.is_unspecified() => Refused::Unspecified,
        (0, ..) => Refused::ThisNetwork,
        (127, ..) => Refused::Loopback,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => Refused::Private,
        (100, 64..=127, _) => Refused::SharedCgnat,
        (169, 254, _) => Refused::LinkLocal,
        (224..=239, ..) => Refused::Multicast,
        _ if ip.is_broadcast() => Refused::Broadcast,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => {
            Refused::SpecialPurpose
        }
        (240..=255, ..) => Refused::Reserved,
        _ => return Ok(()),
    })
}

fn check_v6(ip: Ipv6Addr) -> Result<(), Refused> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Err(Refused::Unspecified);
    }
    if ip.is_loopback() {
        return Err(Refused::Loopback);
    }
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::/96 (NAT64):
    // an IPv4 address in disguise.
    if ip.to_ipv4_mapped().is_some()
        || s[..6] == [0, 0, 0, 0, 0, 0]
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        return Err(Refused::EmbeddedIpv4);
    }
    match s[0] {
        0xff00..=0xffff => Err(Refused::Multicast),
        0xfe80..=0xfebf => Err(Refused::LinkLocal),
        0xfc00..=0xfdff => Err(Refused::UniqueLocal),
        // 6to4 and Teredo carry IPv4 addresses too.
        0x2002 => Err(Refused::EmbeddedIpv4),
        0x2001 if s[1] == 0 => Err(Refused::EmbeddedIpv4),
        0x2001 if s[1] == 0x0db8 => Err(Refused::SpecialPurpose),
        // IETF protocol assignments (2001::/23) other than the above.
        0x2001 if s[1] < 0x0200 => Err(Refused::SpecialPurpose),
        0x2000..=0x3fff => Ok(()),
        _ => Err(Refused::NotGlobalV6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_non_public_class() {
        let cases: [(&str, Result<(), Refused>); 36] = [
            ("0.0.0.0", Err(Refused::Unspecified)),
            ("0.1.2.3", Err(Refused::ThisNetwork)),
            ("127.0.0.1", Err(Refused::Loopback)),
            ("127.255.0.9", Err(Refused::Loopback)),
            ("10.0.0.1", Err(Refused::Private)),
            ("172.16.0.1", Err(Refused::Private)),
            ("172.22.0.1", Err(Refused::Private)),
            ("172.31.255.255", Err(Refused::Private)),
            ("192.168.1.1", Err(Refused::Private)),
            ("100.64.0.1", Err(Refused::SharedCgnat)),
            ("100.127.255.254", Err(Refused::SharedCgnat)),
            ("169.254.169.254", Err(Refused::LinkLocal)),
            ("224.0.0.1", Err(Refused::Multicast)),
            ("239.255.255.250", Err(Refused::Multicast)),
            ("255.255.255.255", Err(Refused::Broadcast)),
            ("192.0.2.1", Err(Refused::SpecialPurpose)),
            ("198.18.0.1", Err(Refused::SpecialPurpose)),
            ("240.0.0.1", Err(Refused::Reserved)),
            ("::", Err(Refused::Unspecified)),
            ("::1", Err(Refused::Loopback)),
            ("::ffff:127.0.0.1", Err(Refused::EmbeddedIpv4)),
            ("::ffff:8.8.8.8", Err(Refused::EmbeddedIpv4)),
            ("::127.0.0.1", Err(Refused::EmbeddedIpv4)),
            ("64:ff9b::a00:1", Err(Refused::EmbeddedIpv4)),
            ("2002:a00:1::1", Err(Refused::EmbeddedIpv4)),
            ("2001:0:4136:e378::1", Err(Refused::EmbeddedIpv4)),
            ("fe80::1", Err(Refused::LinkLocal)),
            ("fc00::1", Err(Refused::UniqueLocal)),
            ("fd12:3456::1", Err(Refused::UniqueLocal)),
            ("ff02::1", Err(Refused::Multicast)),
            ("2001:db8::1", Err(Refused::SpecialPurpose)),
            ("100::1", Err(Refused::NotGlobalV6)),
            // Public addresses pass.
            ("8.8.8.8", Ok(())),
            ("172.32.0.1", Ok(())),
            ("100.128.0.1", Ok(())),
            ("2606:4700:4700::1111", Ok(())),
        ];
        for (ip, want) in cases {
            assert_eq!(check_address(ip.parse().unwrap()), want, "{ip}");
        }
    }
}
