//! The key-value records: versioned JSON, each with `expires_at` (Unix seconds).
//!
//! Which key each record lives under is decided in [`crate::keys`]; how records are read,
//! expired, claimed and swept is `platform::record`'s (one format for every namespace). The
//! formats are those of the previous release, plus optional fields it ignores, so the clients,
//! grants and tokens of a running deployment survive an upgrade (and a rollback).

use platform::impl_record;
use platform::record::Helper;
use serde::{Deserialize, Serialize};

use crate::props::UserProps;

/// The record format version every record carries as `v` (see `platform::record`).
pub use platform::record::VERSION as RECORD_VERSION;

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
    /// A day after registration until its first token exchange, then `last_used_at` + 90 days:
    /// clients expire after long disuse, and registrations nobody used soon.
    pub expires_at: u64,
}
impl_record!(ClientRecord, "client");

/// Where a grant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Created with its authorization code; no tokens yet.
    Pending,
    /// The code was exchanged; tokens exist.
    Active,
    /// Revoked, as the previous release marked it. Revocation now writes a separate marker
    /// ([`RevokedGrant`]) that nothing overwrites; this state is only read, from older records.
    Revoked,
}

/// An access token still listed on its grant, so revoking the grant can delete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveToken {
    pub hash: String,
    pub expires_at: u64,
}

/// The grant's refresh-token records that revocation deletes: the current one, and the one it
/// replaced (kept until it expires, so a replay after the grace window is recognised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPair {
    pub current: String,
    pub previous: Option<String>,
}

/// `oauth:grant:<grant_id>`: one user's authorization of one client, from one authorization
/// code. Written when the code is issued, then only by the request that holds the claim of the
/// code or of the current refresh token (one writer at a time), listing the tokens revocation
/// must delete. See [`crate::grants`] for why revocation needs no compare-and-swap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub v: u32,
    pub grant_id: String,
    pub client_id: String,
    /// The scopes the user approved (`mcp` on grants of earlier releases: every scope). Each
    /// token gets the part the user's role, as last read, may hold.
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
    /// The redirect URI the user approved (absent on grants of earlier releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// When a refresh last issued tokens from this grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<u64>,
    /// The grant's current entry in its user's grant index ([`crate::connected_apps`]); absent
    /// until its first tokens are issued (and on grants of earlier releases until their next
    /// refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_entry: Option<IndexEntryRef>,
    /// The scopes of the grant's latest access token: `scope` cut to what the user's role may
    /// hold (absent until tokens are issued, and on grants of earlier releases until their next
    /// refresh). What the connected-apps page shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_scope: Option<Vec<String>>,
    /// The grant's current entry in the deployment's grant index (the operator console);
    /// absent until its first tokens are issued (on grants of earlier releases, until their
    /// next refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_index_entry: Option<IndexEntryRef>,
}
impl_record!(GrantRecord, "grant");

/// Where a grant is listed in its user's grant index: entry `number` of `period`. Entries are
/// ordered by (period, number): a grant whose reference is newer than an entry no longer
/// needs that entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexEntryRef {
    pub period: u64,
    pub number: i64,
    /// When the entry expires (it is renewed before the grant could outlive it).
    pub expires_at: u64,
}

/// `oauth:code:<sha256(code)>`: single-use, 10 minutes, claimed at `...#claim`.
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
    /// Set by the request that won the code's claim; a later presentation is a replay.
    pub redeemed: bool,
}
impl_record!(CodeRecord, "authorization code", [Helper::Claim]);

/// `oauth:access:<sha256(token)>`: everything the MCP hot path needs, in one read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenRecord {
    pub v: u32,
    pub client_id: String,
    pub grant_id: String,
    /// The scopes granted to this token (`crate::rules::scope`): what `/mcp` checks a tool call
    /// against, with the role in `props`, without another read.
    pub scope: Vec<String>,
    /// The canonical resource (audience) the token is for: `<base>/mcp`.
    pub resource: String,
    pub expires_at: u64,
    pub props: UserProps,
}
impl_record!(AccessTokenRecord, "access token");

impl AccessTokenRecord {
    /// Whether the token holds `scope` (a token of an earlier release carries `mcp`, which
    /// holds every scope).
    pub fn has_scope(&self, scope: &str) -> bool {
        crate::rules::scope::holds(&self.scope, scope)
    }
}

/// `oauth:refresh:<sha256(token)>`: maps a refresh token to its grant. Its first presentation
/// claims it (`...#claim`) and rotates it; the record stays, with `rotated_at`, until it expires,
/// so a later presentation gets the rotation's answer within the grace window and revokes the
/// grant after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub v: u32,
    pub grant_id: String,
    pub client_id: String,
    pub expires_at: u64,
    /// When the token was first seen claimed (by the rotation that won it, or a later
    /// presentation that found it claimed): the start of its grace window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<u64>,
}
impl_record!(RefreshTokenRecord, "refresh token", [Helper::Claim]);

/// `oauth:revoked:<grant_id>`: the grant is revoked. Written by every revocation and never
/// overwritten by anything else; it outlives every token the grant could have issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokedGrant {
    pub v: u32,
    pub revoked_at: u64,
    pub expires_at: u64,
}
impl_record!(RevokedGrant, "grant revocation");

/// `oauth:user-index:<sha256(user id)>:<period>`: a period of a user's grant index. Written
/// before its first entry is numbered (its `#seq` counter), it outlives every entry of the
/// period, so the counter is never taken for an orphan while an entry could still use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserIndexPeriod {
    pub v: u32,
    pub expires_at: u64,
}
impl_record!(UserIndexPeriod, "grant index period", [Helper::Sequence]);

/// `oauth:user-slot:<sha256(user id)>:<period>:<number>`: one entry of a user's grant index,
/// naming a grant. Written once, by the token issue that numbered it; deleted when it expires
/// or when a listing finds its grant gone, revoked or listed under a newer entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserIndexEntry {
    pub v: u32,
    pub grant_id: String,
    pub expires_at: u64,
}
impl_record!(UserIndexEntry, "grant index entry");

/// `oauth:rotation:<sha256(refresh token)>`: the answer of the rotation of that refresh token,
/// sealed with a key derived from the token itself (`platform::secret::seal`), for the other
/// presentations of the same token within the grace window. Expires with the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationRecord {
    pub v: u32,
    pub expires_at: u64,
    /// The sealed [`crate::tokens::TokenResponse`] plus the access token's expiry.
    pub sealed: String,
}
impl_record!(RotationRecord, "refresh-token rotation");

/// `oauth:cimd:<sha256(URL)>`: a client metadata document fetched from its `client_id` URL and
/// validated, cached until `expires_at` (the document's `Cache-Control: max-age`, clamped; see
/// [`crate::cimd`]). Written only after a request that used it succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientDocumentRecord {
    pub v: u32,
    /// The URL, repeated so a read can check the key's hash stood for it.
    pub client_id: String,
    /// The document as registration metadata (public client: `token_endpoint_auth_method` none).
    pub metadata: ClientMetadata,
    pub fetched_at: u64,
    pub expires_at: u64,
}
impl_record!(ClientDocumentRecord, "client metadata document");

/// `oauth:cimd-network-check`: whether the last private-network check found private networks
/// blocked, kept for [`crate::cimd::network_guard::ADVERTISED_CHECK_SECS`] for the metadata
/// document's advertisement only (a fetch always checks afresh).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkCheck {
    pub v: u32,
    pub blocked: bool,
    pub expires_at: u64,
}
impl_record!(NetworkCheck, "private-network check");

/// `oauth:cimd-refused:<sha256(URL)>`: the document at that URL was fetched and refused a moment
/// ago, so until `expires_at` ([`crate::cimd::cache::REFUSAL_CACHE_SECS`] later) it is refused
/// again without a fetch. It holds nothing but its expiry: why it was refused went to the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedDocument {
    pub v: u32,
    pub expires_at: u64,
}
impl_record!(RefusedDocument, "refused client metadata document");

/// `oauth:user-ended:<sha256(user id)>`: the user was deleted or banned in Clerk at `ended_at`;
/// grants created until then may not issue tokens ([`crate::user_access`]). Outlives every
/// token such a grant could have. Written only on a verified Clerk webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAccessEnded {
    pub v: u32,
    pub ended_at: u64,
    pub expires_at: u64,
}
impl_record!(UserAccessEnded, "ended user access");
