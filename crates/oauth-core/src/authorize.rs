//! The authorization endpoint's model, called by the sign-in flow (`/authorize`, `/callback`):
//! validate the request, and, once the user has signed in and consented, create the grant and
//! its single-use code.
//!
//! Until the client and redirect URI are known, errors must not redirect (an HTML 400 page).
//! After that, an error *may* go back to the client's redirect URI with `error`, `state` and
//! `iss` (RFC 6749 §4.1.2.1, RFC 9207), but only the sign-in flow knows whether it should: a
//! registered URI is not yet a trusted one, since anyone can register any client (RFC 9700
//! §4.11.2), so it redirects only to a URI this browser's user approved for this client.

use platform::record::{self, RecordError};
use platform::secret::{RandomError, random_token};
use platform::web::single_value;
use platform::{Clock, KeyValueStore};

use crate::cimd::{self, ClientResolver, DocumentRefused, Limited, ResolveError};
use crate::clients::lookup_client;
use crate::grants;
use crate::keys;
use crate::lifetimes::AUTHORIZATION_CODE_TTL;
use crate::props::UserProps;
use crate::records::{ClientRecord, CodeRecord, RECORD_VERSION};
use crate::rules::redirect_uri::RedirectPolicy;
use crate::rules::{pkce, redirect_uri, resource, scope};
use crate::validated::{ErrorRedirect, ValidatedAuthorization, with_query};

/// Longest `state` accepted, in bytes. The request (state included) is stored for 10 minutes
/// before anyone has signed in, so it is bounded; clients send 20 to 100 characters.
pub const MAX_STATE_BYTES: usize = 1024;

/// Why an authorization request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// `client_id` is missing or repeated. Must not redirect: show a 400 page.
    #[error("the request has no single client_id")]
    MissingClientId,
    /// The client is unknown or expired. Must not redirect: show a 400 page.
    #[error("unknown client")]
    UnknownClient,
    /// The `client_id` is a URL whose metadata document cannot be used. Must not redirect: show
    /// a 400 page, and log why.
    #[error(transparent)]
    Document(DocumentRefused),
    /// The `client_id` is a URL, and its caller named too many document clients, or too many
    /// fetches are under way. Must not redirect: a 429 page.
    #[error(transparent)]
    Limited(Limited),
    /// `redirect_uri` is missing (and the client registered several), repeated, or not
    /// registered. Must not redirect: show a 400 page.
    #[error("invalid redirect_uri: {0}")]
    InvalidRedirectUri(String),
    /// The client and redirect URI are registered: the error may go back to the client, if the
    /// user approved this redirect URI for it (otherwise show it on a page).
    #[error("{}: {}", .0.error, .0.error_description)]
    Redirect(Box<ErrorRedirect>),
    /// The operator blocked this client. Must not redirect: show a page.
    #[error("this app was blocked by the server's operator")]
    Blocked,
    /// The store failed: a 503 page (nothing was trusted yet, so no redirect).
    #[error(transparent)]
    Store(#[from] RecordError),
}

impl AuthorizeError {
    /// True when the error must be shown to the user instead of redirected to the client,
    /// whatever the user approved before.
    pub fn must_not_redirect(&self) -> bool {
        !matches!(self, AuthorizeError::Redirect(_))
    }
}

/// Validates an authorization request (the query of `GET /authorize`), resolving its client
/// with `clients` (a registered client, or a metadata document fetched now unless cached; a
/// fetched document is cached only when the request is valid).
///
/// `base_url` is our public origin (issuer); the resource is `<base>/mcp`. The redirect URI
/// must be registered and still acceptable under today's `policy`.
pub async fn validate_authorization_request(
    clients: &ClientResolver<'_>,
    base_url: &str,
    policy: &RedirectPolicy,
    query: &[(String, String)],
) -> Result<ValidatedAuthorization, AuthorizeError> {
    let client_id = single_value(query, "client_id")
        .ok()
        .flatten()
        .filter(|c| !c.is_empty())
        .ok_or(AuthorizeError::MissingClientId)?;
    // Before anything is fetched for it.
    if crate::admin::is_blocked(clients.store, clients.clock, client_id)? {
        return Err(AuthorizeError::Blocked);
    }
    let resolved = match clients.resolve(client_id).await {
        Ok(Some(resolved)) => resolved,
        Ok(None) => return Err(AuthorizeError::UnknownClient),
        Err(ResolveError::Document(refused)) => return Err(AuthorizeError::Document(refused)),
        Err(ResolveError::Limited(limited)) => return Err(AuthorizeError::Limited(limited)),
        Err(ResolveError::Store(error)) => return Err(AuthorizeError::Store(error)),
    };
    let validated = validate_for_client(&resolved.client, base_url, policy, query)?;
    clients.remember(&resolved);
    Ok(validated)
}

/// The checks of an authorization request once its client is known.
fn validate_for_client(
    client: &ClientRecord,
    base_url: &str,
    policy: &RedirectPolicy,
    query: &[(String, String)],
) -> Result<ValidatedAuthorization, AuthorizeError> {
    let registered = &client.metadata.redirect_uris;
    let requested = single_value(query, "redirect_uri")
        .map_err(|_| AuthorizeError::InvalidRedirectUri("redirect_uri is repeated".into()))?;
    let redirect_uri = match (requested, registered.as_slice()) {
        (Some(uri), _) if redirect_uri::matches_registered(registered, uri) => uri.to_owned(),
        (Some(_), _) => {
            return Err(AuthorizeError::InvalidRedirectUri("redirect_uri is not registered for this client".into()));
        }
        (None, [only]) => only.clone(),
        (None, _) => return Err(AuthorizeError::InvalidRedirectUri("redirect_uri is required".into())),
    };
    // Registered under an older or laxer policy (a scheme since removed from the allow-list).
    redirect_uri::validate(&redirect_uri, policy).map_err(|e| AuthorizeError::InvalidRedirectUri(e.to_string()))?;
    let issuer = base_url.trim_end_matches('/').to_owned();
    let state = single_value(query, "state").ok().flatten();
    // Too long to store, and to echo back in an error redirect.
    let state_too_long = state.is_some_and(|s| s.len() > MAX_STATE_BYTES);
    let state = state.filter(|_| !state_too_long).map(str::to_owned);
    let fail = |error: &str, description: &str| {
        AuthorizeError::Redirect(Box::new(ErrorRedirect {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            error: error.to_owned(),
            error_description: description.to_owned(),
            state: state.clone(),
            iss: issuer.clone(),
        }))
    };
    let param =
        |name: &str| single_value(query, name).map_err(|_| fail("invalid_request", &format!("{name} is repeated")));

    if state_too_long {
        return Err(fail("invalid_request", &format!("state is longer than {MAX_STATE_BYTES} bytes")));
    }
    if single_value(query, "state").is_err() {
        return Err(fail("invalid_request", "state is repeated"));
    }
    match param("response_type")? {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => return Err(fail("unsupported_response_type", "only response_type=code is supported")),
    }
    if !client.metadata.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail("unauthorized_client", "the client may not use the authorization code grant"));
    }
    let code_challenge = pkce::validate_challenge(param("code_challenge")?, param("code_challenge_method")?)
        .map_err(|e| fail("invalid_request", &e.to_string()))?;
    let scope = scope::requested(param("scope")?).map_err(|e| fail("invalid_scope", &e.to_string()))?;
    let resource = requested_resource(query, base_url).map_err(|description| fail("invalid_target", description))?;

    Ok(ValidatedAuthorization {
        client_id: client.client_id.clone(),
        client_name: client.metadata.client_name.clone(),
        client_uri: client.metadata.client_uri.clone(),
        logo_uri: client.metadata.logo_uri.clone(),
        tos_uri: client.metadata.tos_uri.clone(),
        policy_uri: client.metadata.policy_uri.clone(),
        redirect_uri,
        redirect_uri_provided: requested.is_some(),
        state,
        scope,
        code_challenge,
        resource,
        issuer,
    })
}

/// The resource the tokens are for: ours, whether or not the client named it. Only one
/// resource exists here, so several `resource` parameters are refused.
fn requested_resource(query: &[(String, String)], base_url: &str) -> Result<String, &'static str> {
    let named: Vec<&str> = query.iter().filter(|(k, _)| k == "resource").map(|(_, v)| v.as_str()).collect();
    match named.as_slice() {
        [] => Ok(resource::mcp_resource(base_url)),
        [one] => resource::resolve(one, base_url).ok_or("resource is not this MCP server"),
        _ => Err("only one resource may be requested"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    /// The client was removed (expired) while the user was signing in.
    #[error("the client no longer exists")]
    ClientGone,
    #[error(transparent)]
    Store(#[from] RecordError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Creates the grant for `props` and a single-use authorization code (10 minutes, bound to the
/// client, redirect URI, PKCE challenge and resource). Returns the redirect URL to the client
/// with `code`, `state` and `iss`.
///
/// On error, redirect with [`ValidatedAuthorization::error_redirect`]`("server_error", ..)`
/// (or show a page for [`CompleteError::ClientGone`]).
pub fn complete_authorization(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    validated: &ValidatedAuthorization,
    props: UserProps,
) -> Result<String, CompleteError> {
    // A registered client may have expired during the sign-in. A document client has no
    // record to lose: its document was verified at `/authorize` minutes ago, and `/token`
    // verifies it again before any token is issued.
    if !cimd::is_url(&validated.client_id) && lookup_client(store, clock, &validated.client_id)?.is_none() {
        return Err(CompleteError::ClientGone);
    }
    let now = clock.now_unix();
    let expires_at = now + AUTHORIZATION_CODE_TTL;
    let grant_id = random_token()?;
    grants::create_pending(store, &grant_id, validated, props, now, expires_at)?;
    let code = random_token()?;
    let record = CodeRecord {
        v: RECORD_VERSION,
        grant_id,
        client_id: validated.client_id.clone(),
        redirect_uri: validated.redirect_uri.clone(),
        redirect_uri_provided: validated.redirect_uri_provided,
        code_challenge: validated.code_challenge.clone(),
        resource: validated.resource.clone(),
        scope: validated.scope.clone(),
        expires_at,
        redeemed: false,
    };
    record::save(store, &keys::code(&code), &record)?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &validated.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &validated.issuer));
    Ok(with_query(&validated.redirect_uri, &pairs))
}
