//! The MCP hot path: one key-value read per request.

use platform::record::{self, Found, RecordError};
use platform::{Clock, KeyValueStore};

use crate::keys;
use crate::records::AccessTokenRecord;
use crate::rules::resource;

/// Tokens longer than this are not ours; refused without a read.
const MAX_TOKEN_LEN: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown, revoked or malformed: 401 `invalid_token`.
    #[error("the access token is invalid or revoked")]
    Invalid,
    /// Expired (its record has just been deleted): 401 `invalid_token`.
    #[error("the access token has expired")]
    Expired,
    /// Issued for another resource (audience): 401 `invalid_token`.
    #[error("the access token was issued for another resource")]
    WrongResource,
    /// The store failed: 503.
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// Checks a bearer token for the MCP resource `expected_resource` (`<base>/mcp`, see
/// [`crate::rules::resource::mcp_resource`]) and returns its record: client, grant, scope,
/// resource, expiry and the user's props.
pub fn verify_access_token(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    token: &str,
    expected_resource: &str,
) -> Result<AccessTokenRecord, TokenError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Invalid);
    }
    let record = match record::read::<AccessTokenRecord>(store, clock, &keys::access_token(token))? {
        Found::Live(record) => record,
        Found::Expired => return Err(TokenError::Expired),
        Found::Absent => return Err(TokenError::Invalid),
    };
    // The record nearly always holds the very string expected (the server wrote it from the
    // same base URL): equal strings name the same resource without parsing either.
    if record.resource != expected_resource && !resource::same(&record.resource, expected_resource) {
        return Err(TokenError::WrongResource);
    }
    Ok(record)
}
