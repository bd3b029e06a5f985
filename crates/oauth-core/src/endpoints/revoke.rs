//! `POST /revoke` (RFC 7009).

use http::StatusCode;
use platform::web::{self, Request, Response};
use platform::{Clock, KeyValueStore};

use super::client_auth::authenticate_client;
use super::error::OAuthError;
use super::form::Form;
use crate::tokens::{TokenTypeHint, revoke_token};

pub(super) fn handle(store: &dyn KeyValueStore, clock: &dyn Clock, request: &Request) -> Response {
    match revoke(store, clock, request) {
        Ok(()) => web::response(StatusCode::OK, &[("cache-control", "no-store")], Vec::new()),
        Err(error) => error.into_response(),
    }
}

fn revoke(store: &dyn KeyValueStore, clock: &dyn Clock, request: &Request) -> Result<(), OAuthError> {
    let form = Form::parse(request)?;
    let client = authenticate_client(store, clock, request, &form)?;
    let token = form.require("token")?;
    revoke_token(store, clock, &client, token, TokenTypeHint::parse(form.get("token_type_hint")))?;
    Ok(())
}
