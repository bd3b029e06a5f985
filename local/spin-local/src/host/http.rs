//! Outbound HTTP control: only `allowed_outbound_hosts`; anything else is
//! `ErrorCode::HttpRequestDenied` for the guest (not a trap, not a runtime failure). Allowed
//! requests go out through [`crate::outbound::send`] (block_networks, client TLS, timeouts).

use crate::host::component_info::ComponentInfo;
use std::future::Future;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

pub struct OutboundHooks {
    component: Arc<ComponentInfo>,
}

impl OutboundHooks {
    pub(crate) fn new(component: Arc<ComponentInfo>) -> Self {
        Self { component }
    }
}

type SendResult = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        if !self.component.allowed_hosts.allows_uri(request.uri()) {
            eprintln!(
                "spin-local: component `{}` tried to make an HTTP request to {}, which is not in \
                 its allowed_outbound_hosts: denied",
                self.component.id,
                request.uri()
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let network = self.component.network.clone();
        Box::new(async move { crate::outbound::send(&network, request, options).await })
    }
}
