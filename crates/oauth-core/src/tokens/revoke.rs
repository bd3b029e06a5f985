//! Token revocation (RFC 7009).

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore};

use crate::grants;
use crate::keys;
use crate::records::{AccessTokenRecord, ClientRecord, RefreshTokenRecord};

/// `token_type_hint`; an unknown hint is ignored (RFC 7009 §2.1: the server may search all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    pub fn parse(hint: Option<&str>) -> Option<Self> {
        match hint {
            Some("access_token") => Some(TokenTypeHint::AccessToken),
            Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
            _ => None,
        }
    }
}

/// Revokes `token` if it belongs to `client`. An access token is deleted; a refresh token
/// revokes its whole grant (and so every access token from it).
///
/// Unknown tokens, and tokens of other clients, are ignored without telling the caller (RFC
/// 7009 §2.2 answers 200 for invalid tokens; answering differently for another client's token
/// would let a client probe whether a stolen token is live).
pub fn revoke_token(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    token: &str,
    hint: Option<TokenTypeHint>,
) -> Result<(), RecordError> {
    if token.is_empty() || token.len() > 512 {
        return Ok(());
    }
    if hint == Some(TokenTypeHint::RefreshToken) {
        revoke_refresh(store, clock, client, token)?;
        return revoke_access(store, clock, client, token);
    }
    revoke_access(store, clock, client, token)?;
    revoke_refresh(store, clock, client, token)
}

fn revoke_access(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    token: &str,
) -> Result<(), RecordError> {
    let key = keys::access_token(token);
    match record::load::<AccessTokenRecord>(store, clock, &key)? {
        Some(found) if found.client_id == client.client_id => record::discard(store, &key),
        _ => Ok(()),
    }
}

fn revoke_refresh(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    token: &str,
) -> Result<(), RecordError> {
    match record::load::<RefreshTokenRecord>(store, clock, &keys::refresh_token(token))? {
        Some(found) if found.client_id == client.client_id => grants::revoke_grant(store, clock, &found.grant_id),
        _ => Ok(()),
    }
}
