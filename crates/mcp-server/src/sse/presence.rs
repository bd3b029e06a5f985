//! How many `GET /sse` streams are open, per user and in all, across instances: the caps
//! `sse_max_streams_per_user` and `sse_max_streams`, and the share of the latter kept for users
//! with few streams.
//!
//! **A share kept free.** A few accounts at their per-user cap could otherwise hold every slot
//! of `sse_max_streams` and lock everyone else out. So only each user's first [`FAIR_SHARE`]
//! streams may take any free slot; a user's further streams ("extra" streams) come out of a
//! shared part of at most half of `sse_max_streams` ([`extra_cap`]). With the defaults (100 in
//! all, 10 per user), accounts at their cap hold at most 50 extra slots plus 2 each, so it takes
//! 25 accounts, not 10, to fill the server; and the other half stays open to every user's first
//! two streams until then. An extra stream stays counted as extra until it ends.
//!
//! Counting up on open and down on close would leak a slot for good whenever an instance dies
//! with a stream open. Instead, time is cut into windows of [`WINDOW_SECS`], and an open stream
//! keeps itself counted in the current window and the next one: it increments both when it
//! opens, and increments each following window while it is still open (from its polls, one
//! window ahead). So every stream alive at some moment of a window is in that window's count,
//! and a stream that ended (closed, or its instance died) stops counting when the window after
//! its last one ends: its slot frees within one to two windows, whatever happened to it. A
//! stream that closes cleanly takes itself out of the current and next windows' counts at once.
//!
//! A new stream increments the current window's counters (the user's, then everyone's) and is
//! refused, taking its increments back, when that goes past a cap: the increment is atomic, so
//! concurrent opens are admitted exactly up to the cap. Counters are expiring counters
//! (`mcp:sse:streams:<scope>:<window>#until=<window end>`) and the stream that first counts
//! itself in a window deletes the window before the previous one; the sweep
//! (`platform::housekeeping`, where the stream that creates a counter registers it) takes what
//! is left once it expired.

use platform::record;
use platform::{Clock, KeyValueStore, StoreError};

use super::keys;
use crate::settings::SseSettings;

/// The length of one counting window.
pub const WINDOW_SECS: u64 = 30;

/// Each user's streams that may take any free slot of `sse_max_streams`; further ones are extra.
pub const FAIR_SHARE: u64 = 2;

/// The most extra streams (users' streams beyond their first [`FAIR_SHARE`]) there may be in
/// all: half of `sse_max_streams`, so the other half is kept for users' first streams.
pub fn extra_cap(max_streams: u64) -> u64 {
    max_streams / 2
}

/// Which cap refused a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    PerUser(u64),
    /// The share of all streams that users' extra streams may take was full.
    Extra(u64),
    Total(u64),
}

impl Cap {
    /// The cap's name in the audit trail's `limit` field.
    pub fn name(self) -> &'static str {
        match self {
            Cap::PerUser(_) => "sse_streams_per_user",
            Cap::Extra(_) => "sse_streams_extra",
            Cap::Total(_) => "sse_streams",
        }
    }

    /// What the refused client is told.
    pub fn refusal(self, retry_after: u64) -> String {
        let which = match self {
            Cap::PerUser(max) => format!("this user already has the most open SSE streams allowed ({max})"),
            Cap::Extra(max) => format!(
                "this user already has {FAIR_SHARE} open SSE streams, and the streams kept for users with more \
                 are all taken ({max})"
            ),
            Cap::Total(max) => format!("the server already has the most open SSE streams allowed ({max})"),
        };
        format!("Too Many Requests: {which}; close a stream or retry in {retry_after} seconds")
    }
}

/// A refused stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    pub cap: Cap,
    pub retry_after: u64,
}

/// One open stream's place in the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The counters it keeps itself in: the user's, the extra streams' (if it is one) and
    /// everyone's (none when both caps are off).
    scopes: Vec<String>,
    /// The last window it has counted itself in.
    counted_through: u64,
}

fn window_of(now: u64) -> u64 {
    now / WINDOW_SECS
}

/// A window's counter lives until the window ends: it is read only during it.
fn key(scope: &str, window: u64) -> String {
    keys::stream_counter(scope, window, (window + 1) * WINDOW_SECS)
}

/// Counts a new stream of `user_id` in, or refuses it when a cap is reached. A store that
/// cannot count lets it through uncounted (the session it is about to create meets the same
/// store, and answers 503 if it must).
pub fn enter(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    settings: &SseSettings,
) -> Result<Presence, Full> {
    let now = clock.now_unix();
    let mut entry = Entry { store, window: window_of(now), entered: Vec::new() };
    let refuse = |entry: Entry<'_>, cap| {
        entry.take_back();
        Full { cap, retry_after: (window_of(now) + 1) * WINDOW_SECS - now }
    };
    let (per_user, total) = (settings.max_streams_per_user, settings.max_streams);
    if (per_user > 0 || total > 0)
        && let Some(streams) = entry.count(keys::user_streams(user_id))
    {
        if per_user > 0 && streams > per_user {
            return Err(refuse(entry, Cap::PerUser(per_user)));
        }
        if total > 0
            && streams > FAIR_SHARE
            && entry.count(keys::EXTRA_STREAMS.to_owned()).is_some_and(|extra| extra > extra_cap(total))
        {
            return Err(refuse(entry, Cap::Extra(extra_cap(total))));
        }
    }
    if total > 0 && entry.count(keys::ALL_STREAMS.to_owned()).is_some_and(|all| all > total) {
        return Err(refuse(entry, Cap::Total(total)));
    }
    let mut presence = Presence { scopes: entry.entered, counted_through: window_of(now) };
    presence.renew(store, clock);
    Ok(presence)
}

/// A new stream being counted into the current window's counters.
struct Entry<'a> {
    store: &'a dyn KeyValueStore,
    window: u64,
    /// The scopes it was counted in so far.
    entered: Vec<String>,
}

impl Entry<'_> {
    /// Counts the stream in `scope`: how many streams that makes, or `None` when the store
    /// could not count it (it is then not counted there).
    fn count(&mut self, scope: String) -> Option<u64> {
        let count = record::add_to_counter(self.store, &key(&scope, self.window), 1).ok()?;
        self.entered.push(scope);
        Some(u64::try_from(count).unwrap_or(0))
    }

    /// Takes the refused stream out of every count it was put in.
    fn take_back(self) {
        for scope in &self.entered {
            let _ = self.store.increment(&key(scope, self.window), -1);
        }
    }
}

impl Presence {
    /// Keeps the stream counted one window ahead; called from every poll (a no-op but for the
    /// first poll of each window). Best effort: a failed increment leaves it uncounted there.
    pub fn renew(&mut self, store: &dyn KeyValueStore, clock: &dyn Clock) {
        let next = window_of(clock.now_unix()) + 1;
        if self.scopes.is_empty() || self.counted_through >= next {
            return;
        }
        for scope in &self.scopes {
            if let Ok(1) = record::add_to_counter(store, &key(scope, next), 1) {
                // The first stream counted in this window: the one two before has ended.
                let _ = delete_ended(store, scope, next);
            }
        }
        self.counted_through = next;
    }

    /// Takes a stream that ends cleanly out of the counts of the current window and of those
    /// ahead it counted itself in, so its slot is free at once (a stream whose instance died
    /// frees it when those windows end). Best effort, like [`renew`](Self::renew); counters left
    /// at 0 expire with their window.
    pub fn leave(self, store: &dyn KeyValueStore, clock: &dyn Clock) {
        let current = window_of(clock.now_unix());
        for scope in &self.scopes {
            for window in current..=self.counted_through {
                let _ = store.increment(&key(scope, window), -1);
            }
        }
    }
}

fn delete_ended(store: &dyn KeyValueStore, scope: &str, window: u64) -> Result<(), StoreError> {
    match window.checked_sub(2) {
        Some(ended) => store.delete(&key(scope, ended)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};

    /// 5 seconds into a window.
    const START: u64 = 1_800_000_000 - 1_800_000_000 % WINDOW_SECS + 5;

    fn caps(per_user: u64, total: u64) -> SseSettings {
        SseSettings { max_streams_per_user: per_user, max_streams: total, ..SseSettings::default() }
    }

    #[test]
    fn streams_are_admitted_up_to_the_per_user_cap_and_other_users_are_not_affected() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = caps(2, 100);
        for _ in 0..2 {
            assert!(enter(&store, &clock, "alice", &settings).is_ok());
        }
        let full = enter(&store, &clock, "alice", &settings).unwrap_err();
        assert_eq!(full, Full { cap: Cap::PerUser(2), retry_after: WINDOW_SECS - 5 });
        assert!(
            full.cap.refusal(full.retry_after).contains("this user already has the most open SSE streams allowed (2)")
        );
        assert!(enter(&store, &clock, "bob", &settings).is_ok());
    }

    #[test]
    fn users_streams_beyond_their_first_two_take_at_most_half_the_server_so_others_still_get_in() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = caps(10, 8);
        for n in 0..6 {
            assert!(enter(&store, &clock, "alice", &settings).is_ok(), "alice's stream {n}: 2 first, 4 extra");
        }
        let full = enter(&store, &clock, "alice", &settings).unwrap_err();
        assert_eq!(full.cap, Cap::Extra(4));
        assert_eq!(full.cap.name(), "sse_streams_extra");
        assert!(full.cap.refusal(full.retry_after).contains("already has 2 open SSE streams"));
        assert_eq!(enter(&store, &clock, "mallory", &settings).map(drop), Ok(()), "a first stream");
        assert_eq!(enter(&store, &clock, "mallory", &settings).map(drop), Ok(()), "a second stream");
        assert_eq!(enter(&store, &clock, "mallory", &settings).unwrap_err().cap, Cap::Extra(4), "no extra left");
        assert_eq!(enter(&store, &clock, "bob", &settings).unwrap_err().cap, Cap::Total(8), "now the server is full");
    }

    #[test]
    fn with_the_defaults_ten_accounts_at_their_cap_leave_thirty_streams_for_everyone_else() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = SseSettings::default();
        let mut held = 0;
        for account in 0..10 {
            while enter(&store, &clock, &format!("heavy-{account}"), &settings).is_ok() {
                held += 1;
            }
        }
        assert_eq!(held, 10 * FAIR_SHARE + extra_cap(settings.max_streams), "20 first streams and 50 extra");
        let others = (0..100).filter(|n| enter(&store, &clock, &format!("user-{n}"), &settings).is_ok()).count();
        assert_eq!(others, 30);
    }

    #[test]
    fn an_extra_stream_that_closes_frees_its_extra_slot() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = caps(10, 4);
        let mut streams: Vec<Presence> = (0..4).map(|_| enter(&store, &clock, "alice", &settings).unwrap()).collect();
        assert_eq!(enter(&store, &clock, "alice", &settings).unwrap_err().cap, Cap::Extra(2));
        streams.pop().unwrap().leave(&store, &clock); // an extra one
        streams.pop().unwrap().leave(&store, &clock); // the other extra one
        assert!(enter(&store, &clock, "bob", &settings).is_ok());
        assert!(enter(&store, &clock, "alice", &settings).is_ok(), "alice's third stream is extra again");
        assert_eq!(enter(&store, &clock, "alice", &settings).unwrap_err().cap, Cap::Total(4));
    }

    #[test]
    fn the_total_cap_counts_every_user_and_a_refusal_takes_its_counts_back() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = caps(10, 3);
        for user in ["a", "b", "c"] {
            assert!(enter(&store, &clock, user, &settings).is_ok());
        }
        assert_eq!(enter(&store, &clock, "d", &settings).unwrap_err().cap, Cap::Total(3));
        assert_eq!(enter(&store, &clock, "d", &settings).unwrap_err().cap, Cap::Total(3), "refusals do not pile up");
        let d_count = store.increment(&key(&keys::user_streams("d"), window_of(START)), 0).unwrap();
        assert_eq!(d_count, 0, "the user's count was taken back too");
    }

    #[test]
    fn a_stream_that_keeps_polling_keeps_its_slot_and_one_that_stopped_frees_it_within_two_windows() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = caps(1, 100);
        let mut alive = enter(&store, &clock, "alice", &settings).unwrap();
        let _crashed = enter(&store, &clock, "bob", &settings).unwrap(); // never polls again
        for _ in 0..10 {
            clock.advance(WINDOW_SECS / 3);
            alive.renew(&store, &clock);
            assert!(enter(&store, &clock, "alice", &settings).is_err(), "alice's stream still holds her slot");
        }
        assert!(enter(&store, &clock, "bob", &settings).is_ok(), "bob's dead stream was released");
    }

    #[test]
    fn a_stream_that_closes_frees_its_slot_at_once_in_this_window_and_the_next() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let settings = caps(1, 100);
        let mut alice = enter(&store, &clock, "alice", &settings).unwrap();
        let mut bob = enter(&store, &clock, "bob", &settings).unwrap();
        clock.advance(WINDOW_SECS);
        alice.renew(&store, &clock);
        bob.renew(&store, &clock); // both counted in this window and the next
        alice.leave(&store, &clock);
        bob.leave(&store, &clock);
        assert!(enter(&store, &clock, "alice", &settings).is_ok(), "alice's slot is free in this window");
        clock.advance(WINDOW_SECS);
        assert!(enter(&store, &clock, "bob", &settings).is_ok(), "bob's slot is free in the next window");
    }

    #[test]
    fn a_stream_opened_late_in_a_window_is_counted_in_the_next_one_at_once() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START + WINDOW_SECS - 6));
        let settings = caps(1, 100);
        let _stream = enter(&store, &clock, "alice", &settings).unwrap();
        clock.advance(1 + 5); // the next window, before the stream polls
        assert!(enter(&store, &clock, "alice", &settings).is_err());
    }

    #[test]
    fn counters_expire_and_the_oldest_window_is_deleted_as_new_ones_start() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let mut stream = enter(&store, &clock, "alice", &caps(5, 50)).unwrap();
        for _ in 0..6 {
            clock.advance(WINDOW_SECS);
            stream.renew(&store, &clock);
        }
        let counters = store.record_keys();
        assert_eq!(counters.len(), 2 * 2, "user and total, for this window and the next: {counters:?}");
        assert!(counters.iter().all(|k| keys::is_stream_counter(k) && platform::record::counter_expiry(k).is_some()));
    }

    #[test]
    fn with_both_caps_off_nothing_is_counted() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let mut stream = enter(&store, &clock, "alice", &caps(0, 0)).unwrap();
        clock.advance(WINDOW_SECS);
        stream.renew(&store, &clock);
        assert!(store.keys().is_empty());
    }
}
