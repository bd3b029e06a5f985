//! The per-session mailbox through which `POST /sse/message` hands responses to the `GET /sse`
//! stream. They run in different component instances that share nothing but the store.
//!
//! Layout, without compare-and-swap: the session record (owner, expiry) is written once; each
//! posted message takes the next number of the session's counter (an atomic increment) and is
//! written under its own key. The stream, the only reader (one instance), reads the numbers in
//! order with an in-memory [`Cursor`] and deletes what it delivered. A number whose message has
//! not landed yet (its post took the number a moment ago) is waited for briefly, then skipped.
//! Everything of a session carries the session's expiry and is registered for the sweep
//! (`platform::housekeeping`), so a stream whose instance died leaves nothing behind for good.

use std::time::Duration;

use super::keys;
use platform::record::{self, Helper, RecordError};
use platform::secret::{RandomError, random_token};
use platform::{Clock, KeyValueStore};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SessionRecord {
    v: u32,
    owner: String,
    expires_at: u64,
}
platform::impl_record!(SessionRecord, "SSE session", [Helper::Sequence]);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MessageRecord {
    v: u32,
    expires_at: u64,
    body: String,
}
platform::impl_record!(MessageRecord, "SSE message");

/// How long the stream waits for a message whose number was taken before it skips it.
const GAP_WAIT: Duration = Duration::from_secs(1);
/// How often an idle stream checks that its session still exists and whether numbers were taken.
const IDLE_CHECK: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    /// Unknown, expired or closed session: 404.
    #[error("unknown or closed SSE session")]
    NotFound,
    /// The session belongs to another user: 403.
    #[error("the SSE session belongs to another user")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] RecordError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Opens a session for `owner` that lives until `expires_at`; returns its (secret) id.
pub fn create(store: &dyn KeyValueStore, owner: &str, expires_at: u64) -> Result<String, MailboxError> {
    let session_id = random_token()?;
    let session = SessionRecord { v: record::VERSION, owner: owner.to_owned(), expires_at };
    record::save(store, &keys::session(&session_id), &session)?;
    Ok(session_id)
}

fn load(store: &dyn KeyValueStore, clock: &dyn Clock, session_id: &str) -> Result<SessionRecord, MailboxError> {
    record::load(store, clock, &keys::session(session_id))?.ok_or(MailboxError::NotFound)
}

/// Checks that `session_id` is open and owned by `user_id`.
pub fn check_owner(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    session_id: &str,
    user_id: &str,
) -> Result<(), MailboxError> {
    if load(store, clock, session_id)?.owner != user_id {
        return Err(MailboxError::NotOwner);
    }
    Ok(())
}

/// Queues `body` (one JSON-RPC message) for the stream of `session_id`.
pub fn post(store: &dyn KeyValueStore, clock: &dyn Clock, session_id: &str, body: String) -> Result<(), MailboxError> {
    let session = load(store, clock, session_id)?;
    let number = record::next_number(store, &keys::session(session_id))?;
    let message = MessageRecord { v: record::VERSION, expires_at: session.expires_at, body };
    record::save(store, &keys::message(session_id, number), &message)?;
    Ok(())
}

/// Where the stream is in its session's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The number of the next message to deliver.
    next: i64,
    /// Since when (stream time) the next message is missing although later numbers were taken.
    gap_since: Option<Duration>,
    /// When (stream time) the stream last looked at the session and its counter.
    checked_at: Option<Duration>,
}

impl Default for Cursor {
    fn default() -> Self {
        Self { next: 1, gap_since: None, checked_at: None }
    }
}

/// Takes the messages of `session_id` that are ready, in order, and deletes them. `elapsed` is
/// the stream's own clock. `NotFound` when the session is gone.
pub fn drain(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    session_id: &str,
    cursor: &mut Cursor,
    elapsed: Duration,
) -> Result<Vec<String>, MailboxError> {
    let mut bodies = Vec::new();
    loop {
        let key = keys::message(session_id, cursor.next);
        if let Some(message) = record::load::<MessageRecord>(store, clock, &key)? {
            bodies.push(message.body);
            store.delete(&key).map_err(RecordError::from)?;
            cursor.next += 1;
            cursor.gap_since = None;
            continue;
        }
        if !bodies.is_empty() || cursor.checked_at.is_some_and(|at| elapsed.saturating_sub(at) < IDLE_CHECK) {
            return Ok(bodies);
        }
        cursor.checked_at = Some(elapsed);
        load(store, clock, session_id)?;
        if record::last_number(store, &keys::session(session_id))? < cursor.next {
            return Ok(bodies); // nothing more was posted
        }
        // A post took this number and has not written its message (yet).
        let since = *cursor.gap_since.get_or_insert(elapsed);
        if elapsed.saturating_sub(since) < GAP_WAIT {
            return Ok(bodies);
        }
        cursor.next += 1;
        cursor.gap_since = None;
    }
}

/// Deletes the session, its counter and the messages still queued after `cursor`.
pub fn close(store: &dyn KeyValueStore, session_id: &str, cursor: &Cursor) -> Result<(), MailboxError> {
    let session = keys::session(session_id);
    let last = record::last_number(store, &session)?;
    let delete = |key: &str| store.delete(key).map_err(RecordError::from);
    for number in cursor.next..=last {
        delete(&keys::message(session_id, number))?;
    }
    delete(&session)?;
    delete(&Helper::Sequence.key(&session))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};
    use std::sync::Arc;

    const NOW: u64 = 1_000;
    const TICK: Duration = Duration::from_millis(15);

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
        let mut cursor = Cursor::default();
        assert_eq!(drain(&store, &clock, &id, &mut cursor, TICK).unwrap(), ["m0", "m1", "m2", "m3", "m4"]);
        assert!(drain(&store, &clock, &id, &mut cursor, TICK * 2).unwrap().is_empty());
        post(&store, &clock, &id, "m5".into()).unwrap();
        assert_eq!(drain(&store, &clock, &id, &mut cursor, TICK * 3).unwrap(), ["m5"]);
        let session = keys::session(&id);
        assert_eq!(
            store.record_keys(),
            [session.clone(), Helper::Sequence.key(&session)],
            "message bodies are deleted"
        );
    }

    #[test]
    fn concurrent_posts_are_all_delivered_once_in_the_order_of_their_numbers() {
        let store = Arc::new(MemoryStore::new());
        let id = create(&*store, "user_1", NOW + 300).unwrap();
        let threads: Vec<_> = (0..32)
            .map(|n| {
                let (store, id) = (store.clone(), id.clone());
                std::thread::spawn(move || post(&*store, &ManualClock::at(NOW), &id, format!("m{n}")).unwrap())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got = drain(&*store, &ManualClock::at(NOW), &id, &mut Cursor::default(), TICK).unwrap();
        let mut sorted = got.clone();
        sorted.sort();
        let mut want: Vec<String> = (0..32).map(|n| format!("m{n}")).collect();
        want.sort();
        assert_eq!(sorted, want, "each delivered once");
    }

    #[test]
    fn a_number_taken_by_a_post_that_never_wrote_is_waited_for_then_skipped() {
        let (store, clock, id) = setup();
        post(&store, &clock, &id, "m1".into()).unwrap();
        record::next_number(&store, &keys::session(&id)).unwrap(); // a post that died after its increment
        post(&store, &clock, &id, "m3".into()).unwrap();
        let mut cursor = Cursor::default();
        assert_eq!(drain(&store, &clock, &id, &mut cursor, TICK).unwrap(), ["m1"], "m3 waits behind the gap");
        assert!(drain(&store, &clock, &id, &mut cursor, TICK + IDLE_CHECK).unwrap().is_empty(), "still waiting");
        let late = TICK + IDLE_CHECK * 2 + GAP_WAIT;
        assert_eq!(drain(&store, &clock, &id, &mut cursor, late).unwrap(), ["m3"], "the gap is skipped");
    }

    #[test]
    fn a_message_that_lands_late_within_the_wait_keeps_its_place() {
        let (store, clock, id) = setup();
        let number = record::next_number(&store, &keys::session(&id)).unwrap(); // in flight
        post(&store, &clock, &id, "second".into()).unwrap();
        let mut cursor = Cursor::default();
        assert!(drain(&store, &clock, &id, &mut cursor, TICK).unwrap().is_empty());
        let message = MessageRecord { v: record::VERSION, expires_at: NOW + 300, body: "first".into() };
        record::save(&store, &keys::message(&id, number), &message).unwrap();
        assert_eq!(drain(&store, &clock, &id, &mut cursor, TICK * 2).unwrap(), ["first", "second"]);
    }

    #[test]
    fn unknown_session_is_not_found() {
        let (store, clock, _) = setup();
        assert_eq!(post(&store, &clock, "nope", "x".into()), Err(MailboxError::NotFound));
        assert_eq!(drain(&store, &clock, "nope", &mut Cursor::default(), TICK), Err(MailboxError::NotFound));
    }

    #[test]
    fn other_user_is_not_owner() {
        let (store, clock, id) = setup();
        assert_eq!(check_owner(&store, &clock, &id, "user_2"), Err(MailboxError::NotOwner));
        assert_eq!(check_owner(&store, &clock, &id, "user_1"), Ok(()));
    }

    #[test]
    fn expired_session_is_not_found_and_its_messages_are_swept() {
        let (store, clock, id) = setup();
        post(&store, &clock, &id, "late".into()).unwrap();
        clock.advance(300);
        assert_eq!(check_owner(&store, &clock, &id, "user_1"), Err(MailboxError::NotFound));
        assert_eq!(store.record_keys(), [keys::message(&id, 1)], "the session and its counter went at once");
        clock.advance(120);
        platform::housekeeping::sweep_all(&store, &clock).unwrap();
        assert!(store.record_keys().is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn close_removes_session_counter_and_queued_messages() {
        let (store, clock, id) = setup();
        post(&store, &clock, &id, "read".into()).unwrap();
        let mut cursor = Cursor::default();
        drain(&store, &clock, &id, &mut cursor, TICK).unwrap();
        post(&store, &clock, &id, "unread".into()).unwrap();
        close(&store, &id, &cursor).unwrap();
        assert!(store.record_keys().is_empty(), "{:?}", store.keys());
        assert_eq!(post(&store, &clock, &id, "x".into()), Err(MailboxError::NotFound));
        assert!(store.record_keys().is_empty(), "a post to a closed session leaves nothing behind");
    }

    #[test]
    fn many_abandoned_sessions_with_messages_are_swept_to_the_live_ones() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(NOW));
        for n in 0..60 {
            let id = create(&store, "user_1", NOW + 330).unwrap();
            for m in 0..3 {
                post(&store, &clock, &id, format!("s{n} m{m}")).unwrap();
            }
        }
        clock.advance(330 + 120);
        let live = create(&store, "user_2", clock.now_unix() + 330).unwrap();
        post(&store, &clock, &live, "live".into()).unwrap();
        assert_eq!(store.record_keys().len(), 60 * 5 + 3);
        let deleted = platform::housekeeping::sweep_all(&store, &clock).unwrap();
        assert_eq!(deleted, 60 * 4, "sessions (with their counters) and messages");
        let session = keys::session(&live);
        assert_eq!(store.record_keys(), [keys::message(&live, 1), session.clone(), Helper::Sequence.key(&session)]);
    }
}
