//! `POST /register` (RFC 7591), at most `rate_limit_register_per_hour` attempts per client
//! address (valid or not: each costs work and may store a client).

use http::StatusCode;
use platform::rate_limit::{Subject, Verdict};
use platform::web::{self, Request, Response};
use platform::{Clock, Event, KeyValueStore};
use serde_json::{Value, json};

use super::Provider;
use super::error::OAuthError;
use crate::clients::{Registration, RegistrationError, register_client};
use crate::rules::redirect_uri::RedirectPolicy;

pub(super) fn handle(provider: &Provider<'_>, request: &Request) -> Response {
    let limit = &provider.settings.limits.register;
    let subject = Subject::Address(web::client_ip(request));
    // A store that cannot count lets the request through (see `platform::rate_limit`).
    if let Ok(Verdict::Limited { retry_after }) = limit.hit(provider.ports.store, provider.ports.clock, subject) {
        return provider.refuse(limit, retry_after, request, None);
    }
    match register(provider.ports.store, provider.ports.clock, &provider.settings.clients.redirect_policy, request) {
        Ok(registration) => {
            let client = &registration.client;
            let method = client.metadata.token_endpoint_auth_method.as_str();
            let event = provider.event(Event::ClientRegistered, request).client_id(&client.client_id);
            provider.ports.audit.record(event.detail(&format!("token_endpoint_auth_method {method}")));
            web::json(StatusCode::CREATED, &response_body(&registration))
        }
        Err(error) => error.into_response(),
    }
}

fn register(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    policy: &RedirectPolicy,
    request: &Request,
) -> Result<Registration, OAuthError> {
    // RFC 7591 §3.1: the metadata is sent as JSON; anything else is an unsupported media type.
    if web::media_type(request).as_deref() != Some("application/json") {
        return Err(OAuthError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_client_metadata",
            "the body must be application/json",
        ));
    }
    register_client(store, clock, policy, request.body()).map_err(|e| match e {
        RegistrationError::InvalidRedirectUri(d) => OAuthError::bad_request("invalid_redirect_uri", d),
        RegistrationError::InvalidClientMetadata(d) => OAuthError::bad_request("invalid_client_metadata", d),
        RegistrationError::Store(e) => OAuthError::record(&e),
        RegistrationError::Random(e) => OAuthError::server_error(e),
    })
}

/// The registered metadata plus the client's credentials (the secret, this once).
fn response_body(registration: &Registration) -> Value {
    let client = &registration.client;
    let mut body = serde_json::to_value(&client.metadata).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut body {
        fields.insert("client_id".into(), json!(client.client_id));
        fields.insert("client_id_issued_at".into(), json!(client.client_id_issued_at));
        if let Some(secret) = &registration.client_secret {
            fields.insert("client_secret".into(), json!(secret));
            fields.insert("client_secret_expires_at".into(), json!(0));
        }
    }
    body
}
