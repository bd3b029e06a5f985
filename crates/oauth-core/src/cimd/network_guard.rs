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
//! **Cost, and what is cached.** Without the setting, the first probe meets a closed port on
//! loopback at once; with it, each probe costs the runtime a table lookup, and Spin logs one
//! `ERROR … all destination IP(s) prohibited by runtime config` line for it. Before a fetch (a
//! cache miss, already counted by `super::throttle`) every probe runs, never from a cache: a
//! cached verdict could outlive a change of the runtime config, or come from another instance
//! of the deployment that has the setting while this one has not. The metadata document, which
//! anyone may fetch as often as they like, only says whether documents are offered: for that
//! the verdict is kept [`ADVERTISED_CHECK_SECS`] in the store (`oauth:cimd-network-check`), so
//! it costs a key-value read and at most one check (ten log lines) per interval, and a wrong
//! verdict only makes clients register instead, or see the refusal page.

use std::time::Duration;

use platform::outbound::ResponseLimit;
use platform::record;
use platform::{Clock, HttpClient, KeyValueStore, OutboundError};

use crate::keys;
use crate::records::{NetworkCheck, RECORD_VERSION};

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

/// How long the metadata document goes by the last check.
pub const ADVERTISED_CHECK_SECS: u64 = 5 * 60;

/// A private address the component can reach, and what the runtime answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{probe} was not refused by the runtime ({answer})")]
pub struct Reachable {
    pub probe: &'static str,
    pub answer: String,
}

/// Ok when the runtime refuses every probe as a blocked destination.
pub async fn private_networks_blocked(http: &dyn HttpClient) -> Result<(), Reachable> {
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

/// Whether private networks were found blocked, for the metadata document: the last check's
/// verdict while it is at most [`ADVERTISED_CHECK_SECS`] old, else a new check (kept, best
/// effort). A store that fails makes the check run every time.
pub async fn blocked_as_last_checked(store: &dyn KeyValueStore, clock: &dyn Clock, http: &dyn HttpClient) -> bool {
    if let Ok(Some(check)) = record::load::<NetworkCheck>(store, clock, &keys::network_check()) {
        return check.blocked;
    }
    let blocked = private_networks_blocked(http).await.is_ok();
    let check = NetworkCheck { v: RECORD_VERSION, blocked, expires_at: clock.now_unix() + ADVERTISED_CHECK_SECS };
    let _ = record::save(store, &keys::network_check(), &check);
    blocked
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use platform::{ManualClock, MemoryStore};

    use super::*;
    use crate::tests::documents::FakeDocuments;

    #[test]
    fn the_metadata_goes_by_a_check_at_most_five_minutes_old() {
        let (store, clock, documents) = (MemoryStore::new(), ManualClock::at(1_700_000_000), FakeDocuments::default());
        documents.open_private_network(PROBES[0]);
        assert!(!block_on(blocked_as_last_checked(&store, &clock, &documents)));
        assert_eq!(documents.requests(), 1);
        clock.advance(ADVERTISED_CHECK_SECS - 1);
        assert!(!block_on(blocked_as_last_checked(&store, &clock, &documents)), "kept");
        assert_eq!(documents.requests(), 1, "no new check");
        clock.advance(1);
        let blocked = FakeDocuments::default();
        assert!(block_on(blocked_as_last_checked(&store, &clock, &blocked)), "checked again");
        assert_eq!(store.record_keys(), [keys::network_check()], "one key for the deployment");
    }

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
