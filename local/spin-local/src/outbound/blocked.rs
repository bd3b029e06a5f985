//! `[outbound_networking] block_networks`: which resolved addresses an outbound connection may
//! not use, decided exactly as Spin's `outbound-networking-config` does.

use ip_network::IpNetwork;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A cheaply clonable set of blocked networks.
#[derive(Debug, Clone, Default)]
pub struct BlockedNetworks {
    networks: Arc<[IpNetwork]>,
    /// `"private"`: every address that is not globally routable (`ip_network`'s `is_global`).
    block_private: bool,
}

impl BlockedNetworks {
    /// Like Spin: the networks are collapsed, and with `block_private` every collapsed network
    /// that is not global is dropped as redundant (even one that also holds global addresses).
    pub fn new(networks: &[IpNetwork], block_private: bool) -> Self {
        let networks = IpNetwork::collapse_addresses(networks)
            .into_iter()
            .filter(|network| !block_private || network.is_global())
            .collect();
        Self { networks, block_private }
    }

    pub fn is_empty(&self) -> bool {
        !self.block_private && self.networks.is_empty()
    }

    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        if self.block_private && !IpNetwork::from(ip).is_global() {
            return true;
        }
        if self.networks.iter().any(|network| network.contains(ip)) {
            return true;
        }
        // An IPv4-compatible or -mapped IPv6 address is checked as IPv4 too, so it cannot bypass.
        match ip {
            IpAddr::V6(v6) => v6.to_ipv4().is_some_and(|v4| self.is_blocked(IpAddr::V4(v4))),
            IpAddr::V4(_) => false,
        }
    }

    /// Removes the blocked addresses from `addrs` and returns them.
    pub fn remove_blocked(&self, addrs: &mut Vec<SocketAddr>) -> Vec<SocketAddr> {
        if self.is_empty() {
            return Vec::new();
        }
        let (blocked, allowed) = std::mem::take(addrs).into_iter().partition(|a| self.is_blocked(a.ip()));
        *addrs = allowed;
        blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> IpNetwork {
        IpNetwork::from_str_truncate(s).expect("valid network")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid address")
    }

    #[test]
    fn listed_networks_are_blocked_including_ipv4_mapped_addresses() {
        let blocked = BlockedNetworks::new(&[cidr("123.123.0.0/16"), cidr("2001::/96")], false);
        assert!(blocked.is_blocked(ip("123.123.123.123")));
        assert!(blocked.is_blocked(ip("2001::1000")));
        assert!(blocked.is_blocked(ip("::ffff:123.123.123.123")));
        assert!(!blocked.is_blocked(ip("123.100.100.100")));
        assert!(!blocked.is_blocked(ip("2002::1000")));
        assert!(!blocked.is_blocked(ip("127.0.0.1")));
    }

    #[test]
    fn private_blocks_every_address_that_is_not_global() {
        let blocked = BlockedNetworks::new(&[cidr("10.0.0.0/8")], true);
        for private in [
            "0.0.0.0",
            "10.10.10.10",
            "100.64.1.1",
            "127.0.0.1",
            "169.254.0.1",
            "192.0.0.1",
            "192.168.1.1",
            "::1",
            "::ffff:10.10.10.10",
            "::ffff:127.0.0.1",
            "fc00::f00d",
            "fe80::1",
        ] {
            assert!(blocked.is_blocked(ip(private)), "{private}");
        }
        assert!(!blocked.is_blocked(ip("123.123.123.123")));
        assert!(!blocked.is_blocked(ip("2600::beef")));
    }

    #[test]
    fn with_private_a_listed_network_that_is_not_global_is_dropped_as_spin_does() {
        // 192.0.0.0/24 (IETF protocol assignments) is not global, but 192.0.0.9 in it is: with
        // "private" Spin drops the listed network, so that address stays reachable.
        let listed = [cidr("192.0.0.0/24")];
        assert!(!BlockedNetworks::new(&listed, true).is_blocked(ip("192.0.0.9")));
        assert!(BlockedNetworks::new(&listed, true).is_blocked(ip("192.0.0.1")));
        assert!(BlockedNetworks::new(&listed, false).is_blocked(ip("192.0.0.9")));
    }

    #[test]
    fn remove_blocked_keeps_the_allowed_addresses() {
        let blocked = BlockedNetworks::new(&[cidr("123.123.0.0/16")], true);
        let mut addrs: Vec<SocketAddr> =
            ["123.200.0.1:443", "127.0.0.1:3000", "123.123.1.1:443"].iter().map(|a| a.parse().expect("addr")).collect();
        let removed = blocked.remove_blocked(&mut addrs);
        assert_eq!(addrs, vec!["123.200.0.1:443".parse::<SocketAddr>().expect("addr")]);
        assert_eq!(removed.len(), 2);
    }
}
