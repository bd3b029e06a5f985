//! `grant_type=authorization_code`.

use platform::{Clock, KeyValueStore};

use super::issue::{Issue, issue};
use super::{GrantError, TokenResponse};
use crate::grants;
use crate::keys;
use crate::records::{ClientRecord, CodeRecord, GrantState};
use crate::rules::{pkce, resource};
use crate::storage;

/// The code-specific parameters of a token request.
#[derive(Debug, Clone, Default)]
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// Exchanges an authorization code for tokens, for the already authenticated `client`.
///
/// Every check happens before the code is consumed, so a refused request changes nothing. The
/// code is consumed by a compare-and-swap to its `redeemed` form; presenting a redeemed code
/// again revokes the grant and every token already issued from it (RFC 6749 §4.1.2).
pub fn exchange_code(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    request: &CodeExchange<'_>,
) -> Result<TokenResponse, GrantError> {
    if !client.metadata.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(GrantError::UnauthorizedClient);
    }
    let key = keys::code(request.code);
    let loaded = storage::load::<CodeRecord>(store, clock, &key)?
        .ok_or_else(|| GrantError::invalid_grant("unknown or expired authorization code"))?;
    let code = &loaded.record;
    if code.redeemed {
        revoke_issued(store, clock, &code.grant_id)?;
        return Err(GrantError::invalid_grant("the authorization code was already used"));
    }
    check(client, code, request)?;
    let redeemed = CodeRecord { redeemed: true, ..code.clone() };
    if !storage::swap(store, &key, &loaded, &redeemed)? {
        return Err(GrantError::invalid_grant("the authorization code was already used"));
    }
    let grant = grants::load(store, clock, &code.grant_id)?
        .filter(|g| g.record.state == GrantState::Pending)
        .ok_or_else(|| GrantError::invalid_grant("the grant for this code no longer exists"))?;
    let props = grant.record.props.clone();
    issue(store, clock, &grant, Issue { scope: code.scope.clone(), props, previous_refresh: None })
}

/// A replayed code revokes the tokens already issued from it. While the first redemption is
/// still in flight (grant `Pending`) there is nothing issued yet and the replay only fails, so
/// of several concurrent redemptions exactly one succeeds.
fn revoke_issued(store: &dyn KeyValueStore, clock: &dyn Clock, grant_id: &str) -> Result<(), GrantError> {
    if grants::load(store, clock, grant_id)?.is_some_and(|g| g.record.state == GrantState::Active) {
        grants::revoke_grant(store, clock, grant_id)?;
    }
    Ok(())
}

/// The bindings of the code: client, redirect URI, PKCE verifier, resource.
fn check(client: &ClientRecord, code: &CodeRecord, request: &CodeExchange<'_>) -> Result<(), GrantError> {
    if code.client_id != client.client_id {
        return Err(GrantError::invalid_grant("the code was issued to another client"));
    }
    match request.redirect_uri {
        Some(uri) if uri != code.redirect_uri => {
            return Err(GrantError::invalid_grant("redirect_uri does not match the authorization request"));
        }
        None if code.redirect_uri_provided => {
            return Err(GrantError::InvalidRequest("redirect_uri is required".into()));
        }
        _ => {}
    }
    let verifier =
        request.code_verifier.ok_or_else(|| GrantError::InvalidRequest("code_verifier is required (PKCE)".into()))?;
    if !pkce::verify(verifier, &code.code_challenge) {
        return Err(GrantError::invalid_grant("code_verifier does not match the code_challenge"));
    }
    if request.resource.is_some_and(|r| !resource::names(r, &code.resource)) {
        return Err(GrantError::InvalidTarget);
    }
    Ok(())
}
