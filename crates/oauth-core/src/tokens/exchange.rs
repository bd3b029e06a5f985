//! `grant_type=authorization_code`.

use platform::record::{self, Claim};
use platform::{Clock, KeyValueStore};

use super::issue::{Issue, commit, mint};
use super::{CLIENT_BLOCKED, GrantError, Issued};
use crate::admin;
use crate::grants;
use crate::keys;
use crate::records::{ClientRecord, CodeRecord, GrantState};
use crate::rules::scope::ScopePolicy;
use crate::rules::{pkce, resource};
use crate::user_access;

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
/// code is then claimed (an atomic increment; the first wins): exactly one presentation issues
/// a token pair. Every other presentation, concurrent or later, revokes the grant (RFC 6749
/// §4.1.2), so whenever a code is presented twice the pair issued from it ends up dead, in
/// whichever order the writes land (see [`crate::grants`]). The winner still answers with its
/// pair: exactly one 200 per code.
///
/// The access token carries the part of the approved scopes the user's role (as read at
/// sign-in) may hold, by `scopes`.
pub fn exchange_code(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    scopes: &ScopePolicy,
    client: &ClientRecord,
    request: &CodeExchange<'_>,
) -> Result<Issued, GrantError> {
    if !client.metadata.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(GrantError::UnauthorizedClient);
    }
    if admin::is_blocked(store, clock, &client.client_id)? {
        return Err(GrantError::invalid_grant(CLIENT_BLOCKED));
    }
    let key = keys::code(request.code);
    let code = record::load::<CodeRecord>(store, clock, &key)?
        .ok_or_else(|| GrantError::invalid_grant("unknown or expired authorization code"))?;
    if code.redeemed {
        return Err(replayed(store, clock, &code));
    }
    check(client, &code, request)?;
    match record::claim(store, clock, &key, &code)? {
        Claim::Won => {}
        Claim::Lost { .. } => return Err(replayed(store, clock, &code)),
        Claim::Expired => return Err(GrantError::invalid_grant("unknown or expired authorization code")),
    }
    // The claim's winner is the code record's only writer from here: mark it used, so later
    // presentations are recognised without claiming.
    record::rewrite(store, &key, code.expires_at, &CodeRecord { redeemed: true, ..code.clone() })?;
    let grant = grants::load(store, clock, &code.grant_id)?
        .filter(|g| g.state == GrantState::Pending)
        .ok_or_else(|| GrantError::invalid_grant("the grant for this code no longer exists"))?;
    if user_access::ended_for(store, clock, &grant)? {
        return Err(GrantError::invalid_grant("the user's access was ended (deleted or banned)"));
    }
    let scope = scopes.for_role(&code.scope, grant.props.role.as_deref());
    let issue = Issue { scope, props: grant.props.clone(), previous_refresh: None };
    let minted = mint(store, clock, &grant, &issue)?;
    // Revoked by a concurrent replay or not, this is the one pair of this code: it is answered
    // (and, when revoked, already deleted).
    commit(store, clock, &grant, issue, &minted)?;
    Ok(Issued { response: minted.response, grant_id: grant.grant_id, user_id: Some(grant.props.user_id) })
}

/// A presentation of a code someone else redeemed: revoke the grant and what it issued.
fn replayed(store: &dyn KeyValueStore, clock: &dyn Clock, code: &CodeRecord) -> GrantError {
    match grants::revoke_grant(store, clock, &code.grant_id) {
        Ok(()) => GrantError::CodeReplayed { grant_id: code.grant_id.clone() },
        Err(error) => error.into(),
    }
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
