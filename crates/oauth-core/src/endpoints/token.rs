//! `POST /token`: `authorization_code` and `refresh_token` grants.

use http::StatusCode;
use platform::HttpClient;
use platform::web::{self, Request, Response};

use super::Provider;
use super::client_auth::authenticate_client;
use super::error::OAuthError;
use super::form::Form;
use crate::cimd::ResolvedClient;
use crate::clients::touch_client;
use crate::directory::UserDirectory;
use crate::tokens::{CodeExchange, GrantError, RefreshRequest, Rotation, TokenResponse, exchange_code, refresh};

pub(super) async fn handle<D: UserDirectory, H: HttpClient>(
    provider: &Provider<'_, D, H>,
    request: &Request,
) -> Response {
    match token(provider, request).await {
        Ok((resolved, tokens)) => {
            // Best effort: a failed touch or cache write must not cost the client its tokens.
            let _ = touch_client(provider.store, provider.clock, &resolved.client.client_id);
            resolved.remember(provider.store);
            let mut response = web::json(StatusCode::OK, &tokens);
            web::append_header(&mut response, "pragma", "no-cache");
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn token<D: UserDirectory, H: HttpClient>(
    provider: &Provider<'_, D, H>,
    request: &Request,
) -> Result<(ResolvedClient, TokenResponse), OAuthError> {
    let form = Form::parse(request)?;
    let resolved = authenticate_client(&provider.clients(), request, &form).await?;
    let client = &resolved.client;
    let (store, clock) = (provider.store, provider.clock);
    let result = match form.require("grant_type")? {
        "authorization_code" => {
            let exchange = CodeExchange {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
                resource: form.get("resource"),
            };
            exchange_code(store, clock, client, &exchange)
        }
        "refresh_token" => {
            let refresh_request = RefreshRequest {
                refresh_token: form.require("refresh_token")?,
                scope: form.get("scope"),
                resource: form.get("resource"),
            };
            let rotation = Rotation { grace_secs: provider.refresh_grace_secs, sleep: provider.sleep };
            refresh(store, clock, provider.directory, &rotation, client, &refresh_request).await
        }
        other => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            ));
        }
    };
    let tokens = result.map_err(grant_error)?;
    Ok((resolved, tokens))
}

/// The client's side of a refused grant; an internal failure is described generically and its
/// details go to the log ([`OAuthError::detail`]).
fn grant_error(error: GrantError) -> OAuthError {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let answer = match error.internal_cause() {
        Some(generic) => OAuthError::new(status, error.code(), generic).with_detail(&error),
        None => OAuthError::new(status, error.code(), error.to_string()),
    };
    OAuthError { retry_after: error.retry_after(), ..answer }
}
