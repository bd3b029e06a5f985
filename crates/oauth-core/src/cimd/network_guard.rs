//! Whether this component is kept away from private networks, found out before any document is
//! fetched.
//!
//! A `client_id` URL names a host the caller chose; the URL rules (`super::client_id`) refuse
//! private and special-use hosts, but a public name can resolve to `10.0.0.7` or
//! `169.254.169.254`. Only the runtime sees the addresses a name resolves to: Spin refuses them
//! when its runtime config says `[outbound_networking] block_networks = ["private"]` (every
//! address that is not globally routable), answering `destination-ip-prohibited` without
//! connecting. Spin reads that file only when it is given (`spin up --runtime-config-file`), and
//! the component cannot read its runtime config, so it asks the runtime: before fetching, it
//! sends one request to an address of each kind of non-public range (loopback, the RFC 1918
//! ranges, link-local and the cloud metadata address, shared address space, "this network",
//! IPv6 loopback, unique-local and link-local), all allowed by `allowed_outbound_hosts`
//! (`https://*:443`). Only if every one is refused as prohibited are documents fetched; any
//! other answer (a connection refused, a TLS error, a response) means that range is reachable,
//! and the fetch is refused with a log line naming the setting. With the setting, every probe
//! is answered by the runtime at once, without a packet sent or a name looked up (checked
//! against Spin 3.5.0 and 4.0.2: `factor-outbound-http`'s `remove_blocked_addrs` runs on the
//! resolved addresses before connecting, and an IP literal resolves to itself); `spin-local`
//! does the same.
//!
//! The answer is not cached: without the setting, the first probe meets a closed port on
//! loopback at once; with it, the probes cost the runtime a table lookup each, less than a
//! key-value read would, and a cached verdict could outlive a change of the runtime config.
//! Probes run only when a document is about to be fetched (a cache miss, already counted by
//! `super::throttle`) or the metadata document is built.

use std::time::Duration;

use platform::outbound::ResponseLimit;
use platform::{HttpClient, OutboundError};

/// How long one probe may take: enough for a connection refused or a TLS error on a reachable
/// range (the first probe is loopback, so that is the usual case), never long.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One address of each kind of range `block_networks = ["private"]` refuses, on the port
/// documents are fetched from.
pub const PROBES: [&str; 10] = [
    "https://127.0.0.1/",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.0.1/",
    "https://169.254.169.254/",
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    "https://[::1]/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
];

/// A private address the component can reach, and what the runtime answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{probe} was not refused by the runtime ({answer})")]
pub struct Reachable {
    pub probe: &'static str,
    pub answer: String,
}

/// Ok when the runtime refuses every probe as a blocked destination.
pub async fn private_networks_blocked<H: HttpClient>(http: &H) -> Result<(), Reachable> {
    for probe in PROBES {
        let reachable = |answer: String| Reachable { probe, answer };
        let request = http::Request::get(probe)
            .extension(ResponseLimit(0))
            .body(Vec::new())
            .map_err(|e| reachable(e.to_string()))?;
        match http.send(request, PROBE_TIMEOUT).await {
            Err(OutboundError::Prohibited { .. }) => {}
            Err(other) => return Err(reachable(other.to_string())),
            Ok(response) => return Err(reachable(format!("HTTP {}", response.status().as_u16()))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::tests::documents::FakeDocuments;

    #[test]
    fn blocked_when_the_runtime_refuses_every_probe_and_nothing_left_the_host() {
        let documents = FakeDocuments::default();
        assert_eq!(block_on(private_networks_blocked(&documents)), Ok(()));
        assert_eq!(documents.requests(), 0, "prohibited probes never reach a server");
    }

    #[test]
    fn one_reachable_range_is_enough_to_refuse() {
        let documents = FakeDocuments::default();
        documents.open_private_network("https://169.254.169.254/");
        let reachable = block_on(private_networks_blocked(&documents)).unwrap_err();
        assert_eq!(reachable.probe, "https://169.254.169.254/");
        assert!(reachable.answer.contains("404"), "{reachable}");
    }

    #[test]
    fn probes_are_ip_literals_on_port_443_in_non_public_ranges() {
        for probe in PROBES {
            let url = url::Url::parse(probe).unwrap();
            assert_eq!((url.scheme(), url.port_or_known_default(), url.path()), ("https", Some(443), "/"));
            let public = match url.host() {
                Some(url::Host::Ipv4(ip)) => {
                    !(ip.is_private()
                        || ip.is_loopback()
                        || ip.is_link_local()
                        || ip.is_unspecified()
                        || ip.octets()[0] == 100)
                }
                Some(url::Host::Ipv6(ip)) => !(ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()),
                _ => true,
            };
            assert!(!public, "{probe}");
        }
    }
}
