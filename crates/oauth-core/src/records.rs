//! The key-value records: versioned JSON, each with `expires_at` (Unix seconds).
//!
//! Which key each record lives under is decided in [`crate::keys`]; how records are read,
//! expired and swapped is in [`crate::storage`].

use serde::{Deserialize, Serialize};

use crate::props::UserProps;

/// The record format version every record carries as `v`. A record with another version is
/// treated as absent (a newer deployment's data is never misread).
pub const RECORD_VERSION: u32 = 1;

/// What every stored record offers the storage layer.
pub trait Record: Serialize + serde::de::DeserializeOwned {
    fn version(&self) -> u32;
    fn expires_at(&self) -> u64;
}

macro_rules! record {
    ($t:ty) => {
        impl Record for $t {
            fn version(&self) -> u32 {
                self.v
            }
            fn expires_at(&self) -> u64 {
                self.expires_at
            }
        }
    };
}

/// How a client authenticates at the token and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Public client: no secret (native and browser apps; PKCE protects the code).
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// The registered metadata (RFC 7591 §2) after validation; serialised as the registration
/// response echo, so field names are the RFC's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: AuthMethod,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
}

/// `oauth:client:<client_id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub v: u32,
    pub client_id: String,
    /// SHA-256 hex of the client secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub metadata: ClientMetadata,
    pub client_id_issued_at: u64,
    pub last_used_at: u64,
    /// `last_used_at` + 90 days: clients expire after long disuse.
    pub expires_at: u64,
}
record!(ClientRecord);

/// Where a grant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Created with its authorization code; no tokens yet.
    Pending,
    /// The code was exchanged; tokens exist.
    Active,
    /// Revoked; kept as a tombstone so concurrent writers fail their compare-and-swap.
    Revoked,
}

/// An access token still listed on its grant, so revoking the grant can delete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveToken {
    pub hash: String,
    pub expires_at: u64,
}

/// The grant's refresh tokens: the current one, and the one it replaced, which stays usable
/// until the current one is first used (a retry after a lost response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPair {
    pub current: String,
    pub previous: Option<String>,
}

/// `oauth:grant:<grant_id>`: one user's authorization of one client, from one authorization
/// code. It is the linearisation point of every token change: issuing, rotating and revoking
/// all compare-and-swap this record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub v: u32,
    pub grant_id: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub resource: String,
    pub props: UserProps,
    pub state: GrantState,
    pub created_at: u64,
    pub expires_at: u64,
    /// Hashes of access tokens issued from this grant that may still be live.
    #[serde(default)]
    pub access_tokens: Vec<LiveToken>,
    /// Hashes of the refresh tokens that are currently honoured.
    #[serde(default)]
    pub refresh: Option<RefreshPair>,
}
record!(GrantRecord);

/// `oauth:code:<sha256(code)>`: single-use, 10 minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub v: u32,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (then the token request must too).
    pub redirect_uri_provided: bool,
    pub code_challenge: String,
    pub resource: String,
    pub scope: Vec<String>,
    pub expires_at: u64,
    /// Set (by compare-and-swap) when the code is exchanged; a second exchange is a replay.
    pub redeemed: bool,
}
record!(CodeRecord);

/// `oauth:access:<sha256(token)>`: everything the MCP hot path needs, in one read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenRecord {
    pub v: u32,
    pub client_id: String,
    pub grant_id: String,
    pub scope: Vec<String>,
    /// The canonical resource (audience) the token is for: `<base>/mcp`.
    pub resource: String,
    pub expires_at: u64,
    pub props: UserProps,
}
record!(AccessTokenRecord);

impl AccessTokenRecord {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }
}

/// `oauth:refresh:<sha256(token)>`: maps a refresh token to its grant. Whether it is still
/// honoured is decided by the grant's [`RefreshPair`], so superseded tokens keep their record
/// (until they expire) and a replay of one can be recognised and revoke the grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub v: u32,
    pub grant_id: String,
    pub client_id: String,
    pub expires_at: u64,
}
record!(RefreshTokenRecord);
