//! `POST /revoke` (RFC 7009).

use http::StatusCode;
use platform::Event;
use platform::web::{self, Request, Response};

use super::Provider;
use super::client_auth::authenticate_client;
use super::error::OAuthError;
use super::form::Form;
use crate::tokens::{Revoked, TokenTypeHint, revoke_token};

pub(super) async fn handle(provider: &Provider<'_>, request: &Request) -> Response {
    match revoke(provider, request).await {
        Ok((client_id, revoked)) => {
            let (grant_id, detail) = match &revoked {
                Revoked::AccessToken { grant_id } => (Some(grant_id), "an access token"),
                Revoked::Grant { grant_id } => (Some(grant_id), "a refresh token and its grant"),
                Revoked::Nothing => (None, "nothing: unknown token, or another client's"),
            };
            let mut event = provider.event(Event::TokenRevoked, request).client_id(&client_id).detail(detail);
            if let Some(grant_id) = grant_id {
                event = event.grant_id(grant_id);
            }
            provider.ports.audit.record(event);
            web::response(StatusCode::OK, &[("cache-control", "no-store")], Vec::new())
        }
        Err(error) => {
            if let Some(limit) = &error.limit {
                let retry_after = error.retry_after.map_or(0, u64::from);
                provider.ports.audit.record(provider.limited_event(limit, retry_after, request, None));
            }
            error.into_response()
        }
    }
}

/// The authenticated client's id and what its request revoked.
async fn revoke(provider: &Provider<'_>, request: &Request) -> Result<(String, Revoked), OAuthError> {
    let form = Form::parse(request)?;
    let clients = provider.clients(request);
    let resolved = authenticate_client(&clients, request, &form).await?;
    let token = form.require("token")?;
    let hint = TokenTypeHint::parse(form.get("token_type_hint"));
    let revoked = revoke_token(provider.ports.store, provider.ports.clock, &resolved.client, token, hint)?;
    clients.remember(&resolved);
    Ok((resolved.client.client_id, revoked))
}
