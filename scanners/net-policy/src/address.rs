//! What kind of address an IP address is, for the policy: the ranges a URL from an image
//! must not reach by default. IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`)
//! and NAT64 (`64:ff9b::a.b.c.d`) IPv6 addresses are judged by the IPv4 address they carry:
//! otherwise `[::ffff:127.0.0.1]` would be a way around the IPv4 rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A class of addresses refused by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1: the scanning host itself.
    Loopback,
    /// 169.254.0.0/16, fe80::/10: cloud metadata endpoints live here (169.254.169.254).
    LinkLocal,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7 (and the deprecated site-local fec0::/10).
    Private,
    /// 100.64.0.0/10, shared by carrier-grade NAT and some clouds' internal services.
    Shared,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 0.0.0.0/8, :: (connecting to 0.0.0.0 reaches the host itself on Linux).
    Unspecified,
    /// 240.0.0.0/4 and the broadcast address 255.255.255.255.
    Reserved,
}

impl AddressClass {
    /// The adjective used in messages: "a loopback address".
    pub fn name(self) -> &'static str {
        match self {
            AddressClass::Loopback => "loopback",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Private => "private",
            AddressClass::Shared => "shared (carrier-grade NAT)",
            AddressClass::Multicast => "multicast",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The class of `ip`, or `None` for an ordinary (public unicast) address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, _, _] = ip.octets();
    Some(match (a, b) {
        (0, _) => AddressClass::Unspecified,
        (127, _) => AddressClass::Loopback,
        (169, 254) => AddressClass::LinkLocal,
        (10, _) | (192, 168) => AddressClass::Private,
        (172, b) if (16..32).contains(&b) => AddressClass::Private,
        (100, b) if (64..128).contains(&b) => AddressClass::Shared,
        (224..=239, _) => AddressClass::Multicast,
        (240..=255, _) => AddressClass::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let first = ip.segments()[0];
    Some(if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if first & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        AddressClass::Private
    } else if first & 0xff00 == 0xff00 {
        AddressClass::Multicast
    } else {
        return None;
    })
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped `::ffff:0:0/96`,
/// IPv4-compatible `::/96` (but not `::` and `::1`) and the NAT64 prefix `64:ff9b::/96`.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (mapped || compatible || nat64).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        assert_eq!(class("127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("127.255.0.9"), Some(AddressClass::Loopback));
        assert_eq!(class("169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("10.1.2.3"), Some(AddressClass::Private));
        assert_eq!(class("172.16.0.1"), Some(AddressClass::Private));
        assert_eq!(class("172.31.255.255"), Some(AddressClass::Private));
        assert_eq!(class("172.32.0.1"), None);
        assert_eq!(class("172.15.0.1"), None);
        assert_eq!(class("192.168.0.1"), Some(AddressClass::Private));
        assert_eq!(class("100.100.100.200"), Some(AddressClass::Shared));
        assert_eq!(class("224.0.0.1"), Some(AddressClass::Multicast));
        assert_eq!(class("0.0.0.0"), Some(AddressClass::Unspecified));
        assert_eq!(class("255.255.255.255"), Some(AddressClass::Reserved));
        assert_eq!(class("8.8.8.8"), None);
        assert_eq!(class("192.169.0.1"), None);
    }

    #[test]
    fn ipv6_classes() {
        assert_eq!(class("::1"), Some(AddressClass::Loopback));
        assert_eq!(class("::"), Some(AddressClass::Unspecified));
        assert_eq!(class("fe80::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("febf::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("fc00::1"), Some(AddressClass::Private));
        assert_eq!(class("fd12:3456::1"), Some(AddressClass::Private));
        assert_eq!(class("fec0::1"), Some(AddressClass::Private));
        assert_eq!(class("ff02::1"), Some(AddressClass::Multicast));
        assert_eq!(class("2001:4860:4860::8888"), None);
    }

    #[test]
    fn ipv6_carrying_ipv4_is_judged_as_ipv4() {
        assert_eq!(class("::ffff:127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("::ffff:169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("::ffff:8.8.8.8"), None);
        assert_eq!(class("::127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(AddressClass::LinkLocal));
        assert_eq!(class("64:ff9b::808:808"), None);
    }
}
