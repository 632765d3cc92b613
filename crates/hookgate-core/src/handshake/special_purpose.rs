//! The addresses a callback must not reach: the IANA IPv4 and IPv6 Special-Purpose
//! Address Registries (RFC 6890), whole, one row per registry entry with its RFC,
//! and the few blocks outside them that are never a callback target (multicast,
//! deprecated site-local and IPv4-compatible IPv6, SIIT's IPv4-translated form).
//!
//! The rows follow the registries as IANA publishes them in the version that lists
//! RFC 9780's dummy IPv6 prefix (`100:0:0:1::/64`), RFC 9665's SRP anycast address
//! (`2001:1::3/128`), RFC 9637's documentation block (`3fff::/20`) and RFC 9602's SRv6
//! SIDs (`5f00::/16`). A new entry of the registries is a new row here (and a test
//! row comes with it: the tests walk the table).
//!
//! Every row is denied, the entries IANA marks globally reachable among them (PCP and
//! TURN anycast, AS112, AMT, ORCHIDv2, DETs, `64:ff9b::/96`): each is a service
//! address or a translator, not a place a webhook's confirmation is served from, and
//! a translator (NAT64, 6to4, Teredo) reaches an address it hides. The one exception
//! is `::ffff:0:0/96`, IPv4-mapped addresses: such an address *is* the IPv4 host it
//! embeds (a dual-stack socket connects to that host), so it is judged as that IPv4
//! address. [`CallbackPolicyBuilder::allow_private_addresses`] lifts the whole check.
//!
//! [`CallbackPolicyBuilder::allow_private_addresses`]: super::CallbackPolicyBuilder::allow_private_addresses

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One block of addresses: its first address and prefix length, its name in the
/// registry and the RFC that assigns it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block<A> {
    pub(crate) first: A,
    pub(crate) len: u8,
    pub(crate) name: &'static str,
    pub(crate) rfc: &'static str,
}

const fn v4(o: [u8; 4], len: u8, name: &'static str, rfc: &'static str) -> Block<Ipv4Addr> {
    Block {
        first: Ipv4Addr::new(o[0], o[1], o[2], o[3]),
        len,
        name,
        rfc,
    }
}

const fn v6(s: [u16; 8], len: u8, name: &'static str, rfc: &'static str) -> Block<Ipv6Addr> {
    Block {
        first: Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
        name,
        rfc,
    }
}

/// The IANA IPv4 Special-Purpose Address Registry, in its order.
#[rustfmt::skip]
pub(crate) const IPV4_REGISTRY: &[Block<Ipv4Addr>] = &[
    v4([0, 0, 0, 0], 8, "\"This network\"", "RFC 791, 3.2"),
    v4([0, 0, 0, 0], 32, "\"This host on this network\"", "RFC 1122, 3.2.1.3"),
    v4([10, 0, 0, 0], 8, "Private-Use", "RFC 1918"),
    v4([100, 64, 0, 0], 10, "Shared Address Space", "RFC 6598"),
    v4([127, 0, 0, 0], 8, "Loopback", "RFC 1122, 3.2.1.3"),
    v4([169, 254, 0, 0], 16, "Link Local", "RFC 3927"),
    v4([172, 16, 0, 0], 12, "Private-Use", "RFC 1918"),
    v4([192, 0, 0, 0], 24, "IETF Protocol Assignments", "RFC 6890, 2.1"),
    v4([192, 0, 0, 0], 29, "IPv4 Service Continuity Prefix", "RFC 7335"),
    v4([192, 0, 0, 8], 32, "IPv4 dummy address", "RFC 7600"),
    v4([192, 0, 0, 9], 32, "Port Control Protocol Anycast", "RFC 7723"),
    v4([192, 0, 0, 10], 32, "Traversal Using Relays around NAT Anycast", "RFC 8155"),
    v4([192, 0, 0, 170], 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, 2.2"),
    v4([192, 0, 0, 171], 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, 2.2"),
    v4([192, 0, 2, 0], 24, "Documentation (TEST-NET-1)", "RFC 5737"),
    v4([192, 31, 196, 0], 24, "AS112-v4", "RFC 7535"),
    v4([192, 52, 193, 0], 24, "AMT", "RFC 7450"),
    v4([192, 88, 99, 0], 24, "Deprecated (6to4 Relay Anycast)", "RFC 7526"),
    v4([192, 88, 99, 2], 32, "6a44-relay anycast address", "RFC 6751"),
    v4([192, 168, 0, 0], 16, "Private-Use", "RFC 1918"),
    v4([192, 175, 48, 0], 24, "Direct Delegation AS112 Service", "RFC 7534"),
    v4([198, 18, 0, 0], 15, "Benchmarking", "RFC 2544"),
    v4([198, 51, 100, 0], 24, "Documentation (TEST-NET-2)", "RFC 5737"),
    v4([203, 0, 113, 0], 24, "Documentation (TEST-NET-3)", "RFC 5737"),
    v4([240, 0, 0, 0], 4, "Reserved", "RFC 1112, 4"),
    v4([255, 255, 255, 255], 32, "Limited Broadcast", "RFC 8190, RFC 919, 7"),
];

/// IPv4 blocks outside the registry that are never a callback target.
#[rustfmt::skip]
pub(crate) const IPV4_OTHER: &[Block<Ipv4Addr>] = &[
    v4([224, 0, 0, 0], 4, "Multicast", "RFC 5771"),
];

/// The IANA IPv6 Special-Purpose Address Registry, in its order. `::ffff:0:0/96`
/// is judged by the IPv4 address it maps (see the [module docs](self)).
#[rustfmt::skip]
pub(crate) const IPV6_REGISTRY: &[Block<Ipv6Addr>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "Loopback Address", "RFC 4291"),
    v6([0; 8], 128, "Unspecified Address", "RFC 4291"),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, "IPv4-mapped Address", "RFC 4291"),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "IPv4-IPv6 Translat.", "RFC 6052"),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "IPv4-IPv6 Translat.", "RFC 8215"),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "Discard-Only Address Block", "RFC 6666"),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "Dummy IPv6 Prefix", "RFC 9780"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF Protocol Assignments", "RFC 2928"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "TEREDO", "RFC 4380, RFC 8190"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, "Port Control Protocol Anycast", "RFC 7723"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, "Traversal Using Relays around NAT Anycast", "RFC 8155"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, "DNS-SD Service Registration Protocol Anycast", "RFC 9665"),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "Benchmarking", "RFC 5180, RFC Errata 1752"),
    v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, "AMT", "RFC 7450"),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, "AS112-v6", "RFC 7535"),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28, "Deprecated (previously ORCHID)", "RFC 4843"),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, "ORCHIDv2", "RFC 7343"),
    v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374"),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "Documentation", "RFC 3849"),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4", "RFC 3056"),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "Direct Delegation AS112 Service", "RFC 7534"),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "Documentation", "RFC 9637"),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "Segment Routing (SRv6) SIDs", "RFC 9602"),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "Unique-Local", "RFC 4193, RFC 8190"),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "Link-Local Unicast", "RFC 4291"),
];

/// IPv6 blocks outside the registry that are never a callback target.
#[rustfmt::skip]
pub(crate) const IPV6_OTHER: &[Block<Ipv6Addr>] = &[
    v6([0; 8], 96, "IPv4-compatible (deprecated)", "RFC 4291, 2.5.5.1"),
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96, "IPv4-translated (SIIT)", "RFC 2765, 2.1"),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "Site-local (deprecated)", "RFC 3879"),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "Multicast", "RFC 4291"),
];

/// The IPv4-mapped block, judged by the address it maps.
const IPV4_MAPPED: usize = 2;

/// An address as a number: IPv4 in 32 bits, IPv6 in 128.
pub(crate) trait Bits: Copy {
    const BITS: u32;
    fn bits(self) -> u128;
    fn from_bits(bits: u128) -> Self;
}

impl Bits for Ipv4Addr {
    const BITS: u32 = 32;
    fn bits(self) -> u128 {
        u128::from(u32::from(self))
    }
    fn from_bits(bits: u128) -> Self {
        Self::from(bits as u32)
    }
}

impl Bits for Ipv6Addr {
    const BITS: u32 = 128;
    fn bits(self) -> u128 {
        u128::from(self)
    }
    fn from_bits(bits: u128) -> Self {
        Self::from(bits)
    }
}

impl<A: Bits> Block<A> {
    /// The host bits of the block's addresses.
    fn host_mask(&self) -> u128 {
        (u128::MAX >> (128 - A::BITS))
            .checked_shr(u32::from(self.len))
            .unwrap_or(0)
    }

    /// Whether `ip` is in the block.
    pub(crate) fn contains(&self, ip: A) -> bool {
        ip.bits() & !self.host_mask() == self.first.bits()
    }

    /// The block's last address.
    #[cfg(test)]
    fn last(&self) -> A {
        A::from_bits(self.first.bits() | self.host_mask())
    }
}

impl<A: std::fmt::Display> std::fmt::Display for Block<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} ({}, {})",
            self.first, self.len, self.name, self.rfc
        )
    }
}

/// The block that makes `ip` an address a callback must not reach, if any: the
/// first row of the tables that holds it (for an IPv4-mapped address, the row that
/// holds the IPv4 address it maps).
pub(crate) fn special_block(ip: IpAddr) -> Option<SpecialBlock> {
    match ip {
        IpAddr::V4(ip) => v4_block(ip).map(SpecialBlock::V4),
        IpAddr::V6(ip) => {
            if IPV6_REGISTRY[IPV4_MAPPED].contains(ip) {
                let mapped = <Ipv4Addr as Bits>::from_bits(ip.bits());
                return v4_block(mapped).map(SpecialBlock::V4);
            }
            IPV6_REGISTRY
                .iter()
                .chain(IPV6_OTHER)
                .find(|b| b.contains(ip))
                .map(SpecialBlock::V6)
        }
    }
}

fn v4_block(ip: Ipv4Addr) -> Option<&'static Block<Ipv4Addr>> {
    IPV4_REGISTRY
        .iter()
        .chain(IPV4_OTHER)
        .find(|b| b.contains(ip))
}

/// A row of the tables (for the log line of a refused callback).
#[derive(Clone, Copy, Debug)]
pub(crate) enum SpecialBlock {
    V4(&'static Block<Ipv4Addr>),
    V6(&'static Block<Ipv6Addr>),
}

impl std::fmt::Display for SpecialBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(b) => b.fmt(f),
            Self::V6(b) => b.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(ip: IpAddr) -> bool {
        special_block(ip).is_some()
    }

    /// `rows` are network addresses, within their family's length, named.
    fn rows_are_network_addresses<A: Bits + std::fmt::Debug>(rows: &[&Block<A>]) {
        for b in rows {
            assert!(u32::from(b.len) <= A::BITS && b.contains(b.first), "{b:?}");
            assert_eq!(b.first.bits() & b.host_mask(), 0, "{b:?} has host bits");
            assert!(!b.name.is_empty() && b.rfc.starts_with("RFC "), "{b:?}");
        }
    }

    #[test]
    fn every_row_is_a_network_address_and_named() {
        rows_are_network_addresses(&IPV4_REGISTRY.iter().chain(IPV4_OTHER).collect::<Vec<_>>());
        rows_are_network_addresses(&IPV6_REGISTRY.iter().chain(IPV6_OTHER).collect::<Vec<_>>());
        assert_eq!(IPV6_REGISTRY[IPV4_MAPPED].name, "IPv4-mapped Address");
    }

    /// Each of `rows` but the one at `judged_apart`: its first, middle and last
    /// address are denied, and the addresses just outside it are denied only when
    /// another row holds them (so no block is larger or smaller than its row says).
    fn rows_are_denied_whole<A>(rows: &[&Block<A>], judged_apart: Option<usize>)
    where
        A: Bits + std::fmt::Debug + std::fmt::Display + Into<IpAddr>,
    {
        for (i, b) in rows.iter().enumerate() {
            if Some(i) == judged_apart {
                continue;
            }
            let (first, last) = (b.first.bits(), b.last().bits());
            for ip in [first, last, first + (last - first) / 2].map(A::from_bits) {
                assert!(denied(ip.into()), "{ip} in {b:?}");
            }
            let max = u128::MAX >> (128 - A::BITS);
            let outside = [
                first.checked_sub(1),
                last.checked_add(1).filter(|&n| n <= max),
            ];
            for out in outside.into_iter().flatten().map(A::from_bits) {
                let elsewhere = rows.iter().any(|o| o.contains(out));
                assert_eq!(denied(out.into()), elsewhere, "{out} next to {b:?}");
            }
        }
    }

    #[test]
    fn every_row_is_denied_from_its_first_to_its_last_address() {
        rows_are_denied_whole(
            &IPV4_REGISTRY.iter().chain(IPV4_OTHER).collect::<Vec<_>>(),
            None,
        );
        let v6: Vec<_> = IPV6_REGISTRY.iter().chain(IPV6_OTHER).collect();
        rows_are_denied_whole(&v6, Some(IPV4_MAPPED));
        // Judged by the mapped IPv4 address: 0.0.0.0 and 255.255.255.255.
        let mapped = v6[IPV4_MAPPED];
        assert!(denied(mapped.first.into()) && denied(mapped.last().into()));
    }

    #[test]
    fn ipv4_mapped_addresses_are_judged_by_the_address_they_map() {
        for (ip, deny) in [
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:169.254.169.254", true),
            ("::ffff:192.0.0.170", true),
            ("::ffff:224.0.0.1", true),
            ("::ffff:20.1.2.3", false),
            ("::ffff:8.8.8.8", false),
        ] {
            assert_eq!(denied(ip.parse().unwrap()), deny, "{ip}");
        }
    }

    #[test]
    fn the_addresses_that_passed_before_are_denied() {
        for ip in [
            // IPv4-translated (SIIT): ::ffff:0:127.0.0.1.
            "::ffff:0:7f00:1",
            "::ffff:0:808:808",
            "100::1",
            "100::ffff:ffff:ffff:ffff",
            "100:0:0:1::1",
            "2001:2::1",
            "2001:3::1",
            "2001:4:112::1",
            "2001:10::1",
            "2001:20::1",
            "2001:30::1",
            "2001:1ff::1",
            "2002:1401:203::1",
            "2620:4f:8000::1",
            "3fff::1",
            "3fff:fff:ffff::1",
            "5f00::1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.175.48.1",
        ] {
            assert!(denied(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "20.1.2.3",
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "192.0.1.1",
            "192.88.100.1",
            "2603:1000::1",
            "2001:4860::8888",
            "2001:200::1",
            "2620:4f:8001::1",
            "3fff:1000::1",
            "2a00:1450::1",
            "5f01::1",
        ] {
            assert!(!denied(ip.parse().unwrap()), "{ip}");
        }
    }
}
