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
mod metadata;
mod register;
mod revoke;
mod token;

#[cfg(test)]
mod tests;

use http::{Method, StatusCode};
use platform::rate_limit::{self, Limit};
use platform::web::{self, Cors, Request, Response};
use platform::{AuditEvent, AuditLog, Clock, Event, HttpClient, KeyValueStore, Sleep, VariableError, Variables};

use crate::cimd::{CimdSettings, ClientResolver};
use crate::directory::UserDirectory;
use crate::rules::redirect_uri::RedirectPolicy;
use metadata::McpEndpoint;

pub use error::{OAuthError, SERVER_ERROR_DESCRIPTION, STORE_DOWN_DESCRIPTION};

/// Largest request body the endpoints accept (registration metadata, token forms).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The authorization server's dependencies for one request.
pub struct Provider<'a, D, H> {
    pub store: &'a dyn KeyValueStore,
    pub clock: &'a dyn Clock,
    /// Re-reads users at refresh (Clerk's Backend API in the component).
    pub directory: &'a D,
    /// Our public origin without a trailing slash (`platform::web::base_url`): the issuer.
    pub base_url: web::BaseUrl,
    /// The refresh-token grace window ([`crate::tokens::Rotation`]).
    pub refresh_grace_secs: u64,
    /// How a refresh waits for a concurrent rotation of the same token.
    pub sleep: &'a dyn Sleep,
    /// Fetches client metadata documents (`crate::cimd`).
    pub http: &'a H,
    /// Whether client metadata documents are used.
    pub cimd: CimdSettings,
    /// Which private-use redirect schemes registrations may use.
    pub redirect_policy: RedirectPolicy,
    /// The rate limits of these endpoints.
    pub limits: Limits,
    /// Where security events go.
    pub audit: &'a dyn AuditLog,
}

/// The rate limits of these endpoints (`platform::rate_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `POST /register` per client address.
    pub register: Limit,
    /// Failed `/token` requests per client (per client address for unknown clients).
    pub token_failures: Limit,
    /// Successful refreshes per grant.
    pub refreshes: Limit,
}

impl Limits {
    /// From `rate_limit_register_per_hour`, `rate_limit_token_failures_per_minute` and
    /// `rate_limit_refreshes_per_hour`.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        Ok(Self {
            register: rate_limit::REGISTER.from_variables(vars)?,
            token_failures: rate_limit::TOKEN_FAILURES.from_variables(vars)?,
            refreshes: rate_limit::REFRESHES.from_variables(vars)?,
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        let default = |spec: rate_limit::LimitSpec| spec.with_max(spec.default_max);
        Self {
            register: default(rate_limit::REGISTER),
            token_failures: default(rate_limit::TOKEN_FAILURES),
            refreshes: default(rate_limit::REFRESHES),
        }
    }
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

impl<D: UserDirectory, H: HttpClient> Provider<'_, D, H> {
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
                let documents = self.cimd.advertised(self.store, self.clock, self.http).await;
                metadata::authorization_server(&self.base_url, documents)
            }
            Route::ProtectedResourceMetadata(endpoint) => metadata::protected_resource(&self.base_url, endpoint),
            Route::Register => register::handle(self, request),
            Route::Token => token::handle(self, request).await,
            Route::Revoke => revoke::handle(self, request).await,
        }
    }
}

impl<D, H: HttpClient> Provider<'_, D, H> {
    /// Resolves `client_id`s, registered or documents, for the caller of `request`.
    fn clients(&self, request: &Request) -> ClientResolver<'_, H> {
        ClientResolver {
            store: self.store,
            clock: self.clock,
            http: self.http,
            settings: self.cimd,
            redirect_policy: &self.redirect_policy,
            caller: web::client_ip(request),
        }
    }
}

impl<D, H> Provider<'_, D, H> {
    /// An audit event about `request` (with the caller's address).
    fn event(&self, event: Event, request: &Request) -> AuditEvent {
        AuditEvent::new(event).client_addr(web::client_ip(request))
    }

    /// The 429 for a caller `limit` refused, recorded in the audit trail.
    fn refuse(&self, limit: &Limit, retry_after: u64, request: &Request, client_id: Option<&str>) -> Response {
        self.audit.record(self.limited_event(limit.name, retry_after, request, client_id));
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
