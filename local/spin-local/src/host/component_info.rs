//! What the host interfaces know of the component they serve: its stores, variables,
//! environment, outbound rules and output.

use crate::host::stdio::ComponentOutput;
use crate::kv::Stores;
use crate::outbound::{AllowedHosts, ComponentNetwork};
use crate::variables::{Resolver, Template};
use std::collections::BTreeMap;
use std::sync::Arc;

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
