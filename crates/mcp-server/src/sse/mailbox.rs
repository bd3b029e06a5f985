//! The per-session mailbox through which `POST /sse/message` hands responses to the `GET /sse`
//! stream. They run in different component instances that share nothing but the store.
//!
//! Layout: one session record (owner, expiry, ordered list of pending message ids) and one
//! key per message body (a response may be a large image). Posting writes the body, then
//! appends its id to the session record with compare-and-swap (retrying on conflict); the
//! stream reads the record, takes the bodies in order, removes their ids with
//! compare-and-swap and deletes the bodies. The session record is created before anyone
//! can know the session id, so compare-and-swap only ever runs on an existing key.

use super::keys;
use platform::secret::{RandomError, random_token};
use platform::{Clock, KeyValueStore, StoreError};
use serde::{Deserialize, Serialize};

const RECORD_VERSION: u32 = 1;
/// Compare-and-swap attempts before giving up (contention is a handful of concurrent POSTs).
const MAX_CAS_ATTEMPTS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SessionRecord {
    v: u32,
    owner: String,
    expires_at: u64,
    next_seq: u64,
    pending: Vec<Pending>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    seq: u64,
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MessageRecord {
    v: u32,
    expires_at: u64,
    body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    /// Unknown, expired or closed session: 404.
    #[error("unknown or closed SSE session")]
    NotFound,
    /// The session belongs to another user: 403.
    #[error("the SSE session belongs to another user")]
    NotOwner,
    /// Too many concurrent writers: 503.
    #[error("the SSE session is busy; retry")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Opens a session for `owner` that lives until `expires_at`; returns its (secret) id.
pub fn create(store: &dyn KeyValueStore, owner: &str, expires_at: u64) -> Result<String, MailboxError> {
    let session_id = random_token()?;
    let record =
        SessionRecord { v: RECORD_VERSION, owner: owner.to_owned(), expires_at, next_seq: 0, pending: Vec::new() };
    store.set(&keys::session(&session_id), &encode(&record)?)?;
    Ok(session_id)
}

/// The live session record and its raw bytes (what a compare-and-swap must expect).
fn load(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    session_id: &str,
) -> Result<(SessionRecord, Vec<u8>), MailboxError> {
    let key = keys::session(session_id);
    let raw = store.get(&key)?.ok_or(MailboxError::NotFound)?;
    let record: SessionRecord = serde_json::from_slice(&raw).map_err(|_| MailboxError::NotFound)?;
    if record.v != RECORD_VERSION {
        return Err(MailboxError::NotFound);
    }
    if clock.now_unix() >= record.expires_at {
        close(store, session_id)?;
        return Err(MailboxError::NotFound);
    }
    Ok((record, raw))
}

/// Checks that `session_id` is open and owned by `user_id`.
pub fn check_owner(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    session_id: &str,
    user_id: &str,
) -> Result<(), MailboxError> {
    let (record, _) = load(store, clock, session_id)?;
    if record.owner != user_id {
        return Err(MailboxError::NotOwner);
    }
    Ok(())
}

/// Queues `body` (one JSON-RPC message) for the stream of `session_id`.
pub fn post(store: &dyn KeyValueStore, clock: &dyn Clock, session_id: &str, body: String) -> Result<(), MailboxError> {
    let (record, _) = load(store, clock, session_id)?;
    let message_id = random_token()?;
    let message_key = keys::message(session_id, &message_id);
    let message = MessageRecord { v: RECORD_VERSION, expires_at: record.expires_at, body };
    store.set(&message_key, &encode(&message)?)?;
    let appended = append(store, clock, session_id, &message_id);
    if appended.is_err() {
        // Nobody will ever drain it; do not leave it behind.
        store.delete(&message_key)?;
    }
    appended
}

fn append(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    session_id: &str,
    message_id: &str,
) -> Result<(), MailboxError> {
    let key = keys::session(session_id);
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (mut record, raw) = load(store, clock, session_id)?;
        record.pending.push(Pending { seq: record.next_seq, id: message_id.to_owned() });
        record.next_seq += 1;
        if store.compare_and_swap(&key, &raw, &encode(&record)?)? {
            return Ok(());
        }
    }
    Err(MailboxError::Busy)
}

/// Takes every pending message of `session_id`, oldest first.
pub fn drain(store: &dyn KeyValueStore, clock: &dyn Clock, session_id: &str) -> Result<Vec<String>, MailboxError> {
    let (record, _) = load(store, clock, session_id)?;
    if record.pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut taken = record.pending;
    taken.sort_by_key(|p| p.seq);
    let mut bodies = Vec::with_capacity(taken.len());
    for pending in &taken {
        if let Some(raw) = store.get(&keys::message(session_id, &pending.id))?
            && let Ok(message) = serde_json::from_slice::<MessageRecord>(&raw)
        {
            bodies.push(message.body);
        }
    }
    remove(store, clock, session_id, &taken)?;
    for pending in &taken {
        store.delete(&keys::message(session_id, &pending.id))?;
    }
    Ok(bodies)
}

fn remove(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    session_id: &str,
    taken: &[Pending],
) -> Result<(), MailboxError> {
    let key = keys::session(session_id);
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (mut record, raw) = load(store, clock, session_id)?;
        record.pending.retain(|p| !taken.contains(p));
        if store.compare_and_swap(&key, &raw, &encode(&record)?)? {
            return Ok(());
        }
    }
    Err(MailboxError::Busy)
}

/// Deletes the session and whatever is still queued in it.
pub fn close(store: &dyn KeyValueStore, session_id: &str) -> Result<(), MailboxError> {
    let key = keys::session(session_id);
    if let Some(raw) = store.get(&key)?
        && let Ok(record) = serde_json::from_slice::<SessionRecord>(&raw)
    {
        for pending in record.pending {
            store.delete(&keys::message(session_id, &pending.id))?;
        }
    }
    store.delete(&key)?;
    Ok(())
}

fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| StoreError::Backend(format!("cannot encode SSE record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};
    use std::sync::Arc;

    const NOW: u64 = 1_000;

    fn setup() -> (MemoryStore, ManualClock, String) {
        let store = MemoryStore::new();
        let id = create(&store, "user_1", NOW + 300).unwrap();
        (store, ManualClock::at(NOW), id)
    }

    #[test]
    fn messages_drain_in_order_and_are_deleted() {
        let (store, clock, id) = setup();
        for n in 0..5 {
            post(&store, &clock, &id, format!("m{n}")).unwrap();
        }
        assert_eq!(drain(&store, &clock, &id).unwrap(), ["m0", "m1", "m2", "m3", "m4"]);
        assert!(drain(&store, &clock, &id).unwrap().is_empty());
        assert_eq!(store.keys(), [keys::session(&id)], "message bodies are deleted");
    }

    #[test]
    fn concurrent_posts_are_all_delivered_once() {
        let store = Arc::new(MemoryStore::new());
        let id = create(&*store, "user_1", NOW + 300).unwrap();
        let threads: Vec<_> = (0..16)
            .map(|n| {
                let (store, id) = (store.clone(), id.clone());
                std::thread::spawn(move || post(&*store, &ManualClock::at(NOW), &id, format!("m{n}")).unwrap())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut got = drain(&*store, &ManualClock::at(NOW), &id).unwrap();
        got.sort();
        let mut want: Vec<String> = (0..16).map(|n| format!("m{n}")).collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn unknown_session_is_not_found() {
        let (store, clock, _) = setup();
        assert_eq!(post(&store, &clock, "nope", "x".into()), Err(MailboxError::NotFound));
        assert_eq!(drain(&store, &clock, "nope"), Err(MailboxError::NotFound));
    }

    #[test]
    fn other_user_is_not_owner() {
        let (store, clock, id) = setup();
        assert_eq!(check_owner(&store, &clock, &id, "user_2"), Err(MailboxError::NotOwner));
        assert_eq!(check_owner(&store, &clock, &id, "user_1"), Ok(()));
    }

    #[test]
    fn expired_session_is_not_found_and_cleaned_up() {
        let (store, clock, id) = setup();
        post(&store, &clock, &id, "late".into()).unwrap();
        clock.advance(300);
        assert_eq!(check_owner(&store, &clock, &id, "user_1"), Err(MailboxError::NotFound));
        assert!(store.keys().is_empty());
    }

    #[test]
    fn close_removes_session_and_queued_messages() {
        let (store, clock, id) = setup();
        post(&store, &clock, &id, "unread".into()).unwrap();
        close(&store, &id).unwrap();
        assert!(store.keys().is_empty());
        assert_eq!(post(&store, &clock, &id, "x".into()), Err(MailboxError::NotFound));
        assert!(store.keys().is_empty(), "a post to a closed session leaves nothing behind");
    }
}
