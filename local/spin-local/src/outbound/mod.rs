//! Outbound networking, as Spin's `factor-outbound-networking` and `factor-outbound-http`:
//! - [`allowed_hosts`]: `allowed_outbound_hosts`, parsed and matched by Spin's rules, and checked
//!   when the app loads as released Spin checks it ([`load_check`]);
//! - [`config`]: the runtime config's `[outbound_networking]` and `[[client_tls]]`.
//!
//! Connections are made the way Spin makes them, for requests the allow-list let through:
//! - the host name is resolved, and addresses in `[outbound_networking] block_networks` are
//!   dropped; when none is left the guest gets `destination-ip-prohibited` ([`blocked`]);
//! - https uses rustls with the component's `[[client_tls]]` entry for that host, or Spin's
//!   default roots (platform plus webpki) ([`tls`]);
//! - the guest's `request-options` timeouts apply, 600 s each by default ([`send`]);
//! - a connection whose response was read to its end is reused by the app's next request to the
//!   same origin, from any component ([`pool`]).

pub mod allowed_hosts;
mod blocked;
pub mod config;
pub(crate) mod load_check;
mod pool;
mod send;
mod tls;

pub use allowed_hosts::{AllowedHost, AllowedHosts, Entry, parse_entries};
pub use config::OutboundNetworking;

pub use blocked::BlockedNetworks;
pub use pool::ConnectionPool;
pub use send::send;
pub use tls::{ClientCert, ClientTls, ComponentTls, TlsConfigs};

/// The app's outbound networking settings, from its runtime config.
#[derive(Debug, Clone, Default)]
pub struct AppNetwork {
    blocked: BlockedNetworks,
    tls: TlsConfigs,
    pool: ConnectionPool,
}

impl AppNetwork {
    /// Builds the TLS client configurations; an entry Spin would refuse at start-up is an error.
    pub fn new(config: OutboundNetworking) -> Result<Self, String> {
        Ok(Self { blocked: config.blocked, tls: TlsConfigs::new(config.client_tls)?, pool: ConnectionPool::default() })
    }

    pub fn for_component(&self, component_id: &str) -> ComponentNetwork {
        ComponentNetwork {
            component_id: component_id.to_string(),
            blocked: self.blocked.clone(),
            tls: self.tls.for_component(component_id),
            pool: self.pool.clone(),
        }
    }
}

/// What one component's outbound connections may use.
#[derive(Debug, Clone, Default)]
pub struct ComponentNetwork {
    component_id: String,
    blocked: BlockedNetworks,
    tls: ComponentTls,
    /// The app's pool, shared with every other component.
    pool: ConnectionPool,
}
