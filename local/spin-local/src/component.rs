//! What the runtime knows about one component: its grants, its variables, its compiled code.

use crate::host::HostState;
use crate::host::stdio::ComponentOutput;
use crate::kv::Stores;
use crate::network::ComponentNetwork;
use crate::outbound::AllowedHosts;
use crate::variables::{Resolver, Template};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// Per-component configuration the host interfaces consult.
#[derive(Debug)]
pub struct ComponentInfo {
    pub id: String,
    /// Labels granted by `key_value_stores`.
    pub key_value_stores: Vec<String>,
    /// Component variables (templates over application variables).
    pub variables: BTreeMap<String, Template>,
    pub environment: BTreeMap<String, String>,
    pub allowed_hosts: AllowedHosts,
    /// Blocked networks and TLS client configuration for its outbound requests.
    pub network: ComponentNetwork,
    pub resolver: Arc<Resolver>,
    pub stores: Stores,
    /// Where the guest's stdout and stderr go (log files in the state dir, the runtime's stderr).
    pub output: ComponentOutput,
}

/// A component ready to instantiate per request.
#[derive(Clone)]
pub struct LoadedComponent {
    pub info: Arc<ComponentInfo>,
    pub pre: ProxyPre<HostState>,
}
