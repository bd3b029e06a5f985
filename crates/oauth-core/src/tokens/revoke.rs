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

/// What a revocation did (for the audit trail; the caller gets 200 whatever it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Unknown token, or another client's: nothing happened.
    Nothing,
    /// An access token was deleted.
    AccessToken { grant_id: String },
    /// A refresh token was presented: its whole grant was revoked.
    Grant { grant_id: String },
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
) -> Result<Revoked, RecordError> {
    if token.is_empty() || token.len() > 512 {
        return Ok(Revoked::Nothing);
    }
    let (first, second) = if hint == Some(TokenTypeHint::RefreshToken) {
        (revoke_refresh(store, clock, client, token)?, revoke_access(store, clock, client, token)?)
    } else {
        (revoke_access(store, clock, client, token)?, revoke_refresh(store, clock, client, token)?)
    };
    // A token is an access token or a refresh token, never both: at most one side found it.
    Ok(if first == Revoked::Nothing { second } else { first })
}

fn revoke_access(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    token: &str,
) -> Result<Revoked, RecordError> {
    let key = keys::access_token(token);
    match record::load::<AccessTokenRecord>(store, clock, &key)? {
        Some(found) if found.client_id == client.client_id => {
            record::discard(store, &key)?;
            Ok(Revoked::AccessToken { grant_id: found.grant_id })
        }
        _ => Ok(Revoked::Nothing),
    }
}

fn revoke_refresh(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    token: &str,
) -> Result<Revoked, RecordError> {
    match record::load::<RefreshTokenRecord>(store, clock, &keys::refresh_token(token))? {
        Some(found) if found.client_id == client.client_id => {
            grants::revoke_grant(store, clock, &found.grant_id)?;
            Ok(Revoked::Grant { grant_id: found.grant_id })
        }
        _ => Ok(Revoked::Nothing),
    }
}
