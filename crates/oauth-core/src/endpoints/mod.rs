//! The `oauth-provider` component's endpoints over `http` types, host-agnostic:
//!
//! | Path | Methods |
//! | --- | --- |
//! | `/.well-known/oauth-authorization-server` | GET, HEAD (RFC 8414) |
//! | `/.well-known/oauth-protected-resource`, `.../mcp`, `.../sse` | GET, HEAD (RFC 9728) |
//! | `/register` | POST (RFC 7591) |
//! | `/token` | POST (RFC 6749 §3.2) |
//! | `/revoke` | POST (RFC 7009) |
//!
//! Every path answers CORS preflights, adds CORS headers for requests with `Origin`, and
//! answers other methods with 405 + `Allow`. Client mistakes are 4xx with an OAuth JSON error;
//! store failures are 503 `temporarily_unavailable`; a caller past a rate limit ([`Limits`]) gets
//! 429 ([`OAuthError::rate_limited`]). Registrations, issued, refreshed, revoked and refused
//! tokens and rate-limit refusals go to the audit trail. The component runs the housekeeping a
//! request owes (`platform::housekeeping::after_response`) once its response is out.

mod client_auth;
mod error;
mod form;
pub(crate) mod grant_error;
mod metadata;
mod register;
mod revoke;
mod token;

#[cfg(test)]
mod tests;

use http::{Method, StatusCode};
use platform::rate_limit::Limit;
use platform::web::{self, Cors, Request, Response};
use platform::{AuditEvent, Event, Ports};

use crate::cimd::{CimdSettings, ClientResolver};
use crate::directory::UserDirectory;
pub use crate::settings::Limits;
use crate::settings::Settings;
use metadata::McpEndpoint;

pub use error::{OAuthError, SERVER_ERROR_DESCRIPTION, STORE_DOWN_DESCRIPTION};

/// Largest request body the endpoints accept (registration metadata, token forms).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Answers one request: reads oauth-core's [`Settings`] (once) and this server's public origin,
/// then the route. `directory` re-reads users at refresh (Clerk's Backend API in the component).
pub async fn handle(ports: Ports<'_>, directory: &dyn UserDirectory, request: &Request) -> Response {
    let settings = match Settings::from_variables(ports.variables) {
        Ok(settings) => settings,
        Err(error) => return OAuthError::misconfigured(error).into_response(),
    };
    let base_url = match web::base_url(request) {
        Ok(base_url) => base_url,
        Err(error) => return OAuthError::misdirected(&error).into_response(),
    };
    Provider { ports, directory, settings, base_url }.handle(request).await
}

/// The answer when the key-value store cannot be opened (503 `temporarily_unavailable`).
pub fn store_unavailable(error: &platform::StoreError) -> Response {
    OAuthError::store(error).into_response()
}

/// The authorization server for one request.
pub struct Provider<'a> {
    pub ports: Ports<'a>,
    /// Re-reads users at refresh.
    pub directory: &'a dyn UserDirectory,
    pub settings: Settings,
    /// Our public origin without a trailing slash (`platform::web::base_url`): the issuer.
    pub base_url: web::BaseUrl,
}

/// What a path allows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    AuthorizationServerMetadata,
    ProtectedResourceMetadata(McpEndpoint),
    Register,
    Token,
    Revoke,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        match path {
            "/.well-known/oauth-authorization-server" => Some(Route::AuthorizationServerMetadata),
            "/.well-known/oauth-protected-resource" | "/.well-known/oauth-protected-resource/mcp" => {
                Some(Route::ProtectedResourceMetadata(McpEndpoint::StreamableHttp))
            }
            "/.well-known/oauth-protected-resource/sse" => {
                Some(Route::ProtectedResourceMetadata(McpEndpoint::LegacySse))
            }
            "/register" => Some(Route::Register),
            "/token" => Some(Route::Token),
            "/revoke" => Some(Route::Revoke),
            _ => None,
        }
    }

    fn allow(self) -> &'static str {
        match self {
            Route::AuthorizationServerMetadata | Route::ProtectedResourceMetadata(_) => "GET, HEAD, OPTIONS",
            _ => "POST, OPTIONS",
        }
    }

    fn cors(self) -> Cors {
        Cors {
            allow_methods: self.allow(),
            allow_headers: Cors::DEFAULT_ALLOW_HEADERS,
            expose_headers: Cors::DEFAULT_EXPOSE_HEADERS,
        }
    }

    fn accepts(self, method: &Method) -> bool {
        match self {
            Route::AuthorizationServerMetadata | Route::ProtectedResourceMetadata(_) => {
                method == Method::GET || method == Method::HEAD
            }
            _ => method == Method::POST,
        }
    }
}

impl Provider<'_> {
    /// Answers one request.
    pub async fn handle(&self, request: &Request) -> Response {
        let Some(route) = Route::of(web::path(request)) else {
            return web::response(StatusCode::NOT_FOUND, &[("content-type", "text/plain; charset=utf-8")], "not found");
        };
        if web::is_preflight(request) {
            return route.cors().preflight();
        }
        let mut response = self.dispatch(route, request).await;
        if request.method() == Method::HEAD {
            response.body_mut().clear();
        }
        route.cors().apply(request, &mut response);
        response
    }

    async fn dispatch(&self, route: Route, request: &Request) -> Response {
        if !route.accepts(request.method()) {
            return web::method_not_allowed(route.allow());
        }
        if request.body().len() > MAX_BODY_BYTES {
            return OAuthError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "the request body is too large")
                .into_response();
        }
        match route {
            Route::AuthorizationServerMetadata => {
                let ports = &self.ports;
                let documents = self.documents().advertised(ports.store, ports.clock, ports.http).await;
                metadata::authorization_server(&self.base_url, documents)
            }
            Route::ProtectedResourceMetadata(endpoint) => metadata::protected_resource(&self.base_url, endpoint),
            Route::Register => register::handle(self, request),
            Route::Token => token::handle(self, request).await,
            Route::Revoke => revoke::handle(self, request).await,
        }
    }

    /// Whether client metadata documents are used, for this server.
    fn documents(&self) -> CimdSettings {
        self.settings.clients.documents.for_server(&self.base_url.url)
    }

    /// Resolves `client_id`s, registered or documents, for the caller of `request`.
    fn clients(&self, request: &Request) -> ClientResolver<'_> {
        self.settings.clients.resolver(&self.ports, &self.base_url.url, web::client_ip(request))
    }

    /// An audit event about `request` (with the caller's address).
    fn event(&self, event: Event, request: &Request) -> AuditEvent {
        AuditEvent::new(event).client_addr(web::client_ip(request))
    }

    /// The 429 for a caller `limit` refused, recorded in the audit trail.
    fn refuse(&self, limit: &Limit, retry_after: u64, request: &Request, client_id: Option<&str>) -> Response {
        self.ports.audit.record(self.limited_event(limit.name, retry_after, request, client_id));
        OAuthError::rate_limited(limit, retry_after).into_response()
    }

    /// The audit event of a request the limit named `limit` refused.
    fn limited_event(&self, limit: &str, retry_after: u64, request: &Request, client_id: Option<&str>) -> AuditEvent {
        let mut event = self.event(Event::RateLimited, request).limit(limit).retry_after(retry_after);
        if let Some(client_id) = client_id {
            event = event.client_id(client_id);
        }
        event
    }
}
