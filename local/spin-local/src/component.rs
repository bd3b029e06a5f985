//! What the runtime knows about one component: its grants, its variables, its compiled code.

use crate::host::HostState;
pub use crate::host::component_info::ComponentInfo;
use std::sync::Arc;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// A component ready to instantiate per request.
#[derive(Clone)]
pub struct LoadedComponent {
    pub info: Arc<ComponentInfo>,
    pub pre: ProxyPre<HostState>,
}
