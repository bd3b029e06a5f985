//! Blocked clients: a client the operator blocked can neither sign in (`/authorize`), nor
//! exchange a code or refresh (`/token`); blocking also revokes every grant it has, so its access
//! tokens stop at once. The MCP hot path reads nothing more: a blocked client has no live
//! access token left.
//!
//! Each block is a record `oauth:client-blocked:<sha256(client id)>`, which the checks read
//! (one read at `/authorize` and at `/token`). The console lists blocks from one more record,
//! `oauth:client-blocks`, the list of blocked client ids (at most [`MAX_BLOCKS`]), written only
//! by operators. Two operators blocking two clients in the same instant may leave one of them
//! off that list: both are enforced all the same (the per-client records decide), and the
//! console's unblock form takes any client id.

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore};
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::records::RECORD_VERSION;

/// A block lasts until it is lifted; records expire after ten years, as every record must.
pub const BLOCK_TTL: u64 = 10 * 365 * 24 * 60 * 60;

/// The most blocks at once (the list is one record, read by every console page).
pub const MAX_BLOCKS: usize = 500;

/// The longest client id a block accepts (a metadata document URL included).
pub const MAX_CLIENT_ID_LEN: usize = 2048;

/// `oauth:client-blocked:<sha256(client id)>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientBlock {
    pub v: u32,
    pub client_id: String,
    pub blocked_at: u64,
    /// The operator (Clerk user id) who blocked it.
    pub blocked_by: String,
    pub expires_at: u64,
}
platform::impl_record!(ClientBlock, "client block");

/// `oauth:client-blocks`: the blocked clients, for the console.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockList {
    pub v: u32,
    pub clients: Vec<ClientBlock>,
    pub expires_at: u64,
}
platform::impl_record!(BlockList, "client block list");

/// Why a block was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("a client id of 1 to 2048 visible characters is required")]
    InvalidClientId,
    #[error("at most {MAX_BLOCKS} clients can be blocked at once; unblock one first")]
    TooMany,
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// True when `client_id` is blocked.
pub fn is_blocked(store: &dyn KeyValueStore, clock: &dyn Clock, client_id: &str) -> Result<bool, RecordError> {
    Ok(record::load::<ClientBlock>(store, clock, &keys::client_block(client_id))?.is_some())
}

/// The blocked clients, most recently blocked first (only those still blocked).
pub fn list(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<Vec<ClientBlock>, RecordError> {
    let listed = record::load::<BlockList>(store, clock, &keys::client_blocks())?.unwrap_or_default();
    let mut blocks = Vec::with_capacity(listed.clients.len());
    for entry in listed.clients {
        if is_blocked(store, clock, &entry.client_id)? {
            blocks.push(entry);
        }
    }
    blocks.sort_by_key(|block| std::cmp::Reverse(block.blocked_at));
    Ok(blocks)
}

/// Blocks `client_id` (the block record first, so the checks see it at once, then the list).
pub(crate) fn block(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client_id: &str,
    operator: &str,
) -> Result<(), BlockError> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BlockError::InvalidClientId);
    }
    let mut listed = list(store, clock)?;
    listed.retain(|entry| entry.client_id != client_id);
    if listed.len() >= MAX_BLOCKS {
        return Err(BlockError::TooMany);
    }
    let now = clock.now_unix();
    let entry = ClientBlock {
        v: RECORD_VERSION,
        client_id: client_id.to_owned(),
        blocked_at: now,
        blocked_by: operator.to_owned(),
        expires_at: now + BLOCK_TTL,
    };
    record::save(store, &keys::client_block(client_id), &entry)?;
    listed.push(entry);
    save_list(store, now, listed)?;
    Ok(())
}

/// Lifts the block of `client_id`; false when it was not blocked.
pub(crate) fn unblock(store: &dyn KeyValueStore, clock: &dyn Clock, client_id: &str) -> Result<bool, RecordError> {
    let was = is_blocked(store, clock, client_id)?;
    record::discard(store, &keys::client_block(client_id))?;
    let mut listed = list(store, clock)?;
    listed.retain(|entry| entry.client_id != client_id);
    save_list(store, clock.now_unix(), listed)?;
    Ok(was)
}

fn save_list(store: &dyn KeyValueStore, now: u64, clients: Vec<ClientBlock>) -> Result<(), RecordError> {
    let list = BlockList { v: RECORD_VERSION, clients, expires_at: now + BLOCK_TTL };
    record::save(store, &keys::client_blocks(), &list)
}
