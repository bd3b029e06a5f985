//! oauth-provider: the authorization server's metadata documents, `/register`, `/token` and
//! `/revoke` (routes in `spin.toml`). All logic is in `oauth_core::endpoints`; this component
//! gives it the request's ports and Clerk's Backend API (which re-reads users at refresh).

use clerk_client::ClerkDirectory;
use oauth_core::endpoints::{self, MAX_BODY_BYTES};
use platform::StoreError;
use platform::web::{Request, Response};
use spin_platform::Component;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: Component = Component { name: "oauth-provider", max_body_bytes: MAX_BODY_BYTES, store_unavailable };

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(&COMPONENT, request, response_out, async |request, ports| {
        let directory = ClerkDirectory::from_variables(ports.variables, ports.http);
        endpoints::handle(ports, &directory, &request).await
    })
    .await;
}

fn store_unavailable(_: &Request, error: &StoreError) -> Response {
    endpoints::store_unavailable(error)
}
