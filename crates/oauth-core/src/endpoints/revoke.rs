//! `POST /revoke` (RFC 7009).

use http::StatusCode;
use platform::HttpClient;
use platform::web::{self, Request, Response};

use super::Provider;
use super::client_auth::authenticate_client;
use super::error::OAuthError;
use super::form::Form;
use crate::tokens::{TokenTypeHint, revoke_token};

pub(super) async fn handle<D, H: HttpClient>(provider: &Provider<'_, D, H>, request: &Request) -> Response {
    match revoke(provider, request).await {
        Ok(()) => web::response(StatusCode::OK, &[("cache-control", "no-store")], Vec::new()),
        Err(error) => error.into_response(),
    }
}

async fn revoke<D, H: HttpClient>(provider: &Provider<'_, D, H>, request: &Request) -> Result<(), OAuthError> {
    let form = Form::parse(request)?;
    let resolved = authenticate_client(&provider.clients(), request, &form).await?;
    let token = form.require("token")?;
    let hint = TokenTypeHint::parse(form.get("token_type_hint"));
    revoke_token(provider.store, provider.clock, &resolved.client, token, hint)?;
    resolved.remember(provider.store);
    Ok(())
}
