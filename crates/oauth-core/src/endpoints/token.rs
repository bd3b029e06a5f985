//! `POST /token`: `authorization_code` and `refresh_token` grants.

use http::StatusCode;
use platform::web::{self, Request, Response};

use super::Provider;
use super::client_auth::authenticate_client;
use super::error::OAuthError;
use super::form::Form;
use crate::clients::touch_client;
use crate::directory::UserDirectory;
use crate::records::ClientRecord;
use crate::tokens::{CodeExchange, GrantError, RefreshRequest, Rotation, TokenResponse, exchange_code, refresh};

pub(super) async fn handle<D: UserDirectory>(provider: &Provider<'_, D>, request: &Request) -> Response {
    match token(provider, request).await {
        Ok((client, tokens)) => {
            // Best effort: a failed touch must not cost the client its tokens.
            let _ = touch_client(provider.store, provider.clock, &client.client_id);
            let mut response = web::json(StatusCode::OK, &tokens);
            web::append_header(&mut response, "pragma", "no-cache");
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn token<D: UserDirectory>(
    provider: &Provider<'_, D>,
    request: &Request,
) -> Result<(ClientRecord, TokenResponse), OAuthError> {
    let form = Form::parse(request)?;
    let client = authenticate_client(provider.store, provider.clock, request, &form)?;
    let (store, clock) = (provider.store, provider.clock);
    let result = match form.require("grant_type")? {
        "authorization_code" => {
            let exchange = CodeExchange {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
                resource: form.get("resource"),
            };
            exchange_code(store, clock, &client, &exchange)
        }
        "refresh_token" => {
            let refresh_request = RefreshRequest {
                refresh_token: form.require("refresh_token")?,
                scope: form.get("scope"),
                resource: form.get("resource"),
            };
            let rotation = Rotation { grace_secs: provider.refresh_grace_secs, sleep: provider.sleep };
            refresh(store, clock, provider.directory, &rotation, &client, &refresh_request).await
        }
        other => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            ));
        }
    };
    result.map(|tokens| (client, tokens)).map_err(grant_error)
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
