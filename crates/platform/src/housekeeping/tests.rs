use super::*;
use crate::faulty::{Fails, Faulty};
use crate::record::{Claim, Helper, VERSION, claim, discard, expiring_counter_key, save};
use crate::{ManualClock, MemoryStore, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The start of a minute (1,800,000,000 is a multiple of 60).
const T0: u64 = 1_800_000_000;
const MINUTE: u64 = 60;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Note {
    v: u32,
    expires_at: u64,
}
crate::impl_record!(Note, "note", [Helper::Claim]);

fn note(expires_at: u64) -> Note {
    Note { v: VERSION, expires_at }
}

/// A store whose expiry index is set up (as the first request's housekeeping does).
fn set_up(clock: &ManualClock) -> MemoryStore {
    let store = MemoryStore::new();
    assert!(migration::step(&store, clock, 10).unwrap().done);
    store
}

/// The index's keys, without the markers of hours and days (which stay until the hour or day
/// is over; see `a_quiet_day_costs_the_sweep_one_read`).
fn index_keys(store: &MemoryStore) -> Vec<String> {
    let marker = |k: &String| k.starts_with("expiry:hour:") || k.starts_with("expiry:day:");
    store.keys().into_iter().filter(|k| is_housekeeping_key(k) && !marker(k)).collect()
}

/// Sweeps until nothing is due, as many requests would.
fn sweep_all(store: &dyn KeyValueStore, clock: &dyn Clock) -> usize {
    super::sweep_all(store, clock).unwrap()
}

#[test]
fn without_a_cursor_nothing_is_swept_and_the_set_up_of_an_empty_store_starts_at_this_minute() {
    let (store, clock) = (MemoryStore::new(), ManualClock::at(T0 + 30));
    assert_eq!(sweep::sweep_due(&store, &clock, 10).unwrap(), None);
    let migrated = migration::step(&store, &clock, 10).unwrap();
    assert_eq!(migrated, Migrated { keys: 0, deleted: 0, done: true });
    assert_eq!(store.get(sweep::CURSOR).unwrap().unwrap(), (T0 / MINUTE).to_string().as_bytes());
}

#[test]
fn a_record_goes_with_its_helpers_once_its_minute_and_the_margin_are_over() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    save(&store, "n:1", &note(T0 + 10)).unwrap();
    assert_eq!(claim(&store, &clock, "n:1", &note(T0 + 10)).unwrap(), Claim::Won);
    save(&store, "n:later", &note(T0 + 10 * MINUTE)).unwrap();
    clock.advance(2 * MINUTE - 1); // the minute is over, the margin is not
    assert_eq!(sweep_all(&store, &clock), 0);
    assert!(store.exists("n:1").unwrap());
    clock.advance(1);
    assert_eq!(sweep_all(&store, &clock), 1);
    assert_eq!(store.record_keys(), ["n:later"], "the record and its claim counter are gone");
    let index = index_keys(&store);
    assert_eq!(
        index,
        [
            index::count_key((T0 + 10 * MINUTE) / MINUTE),
            sweep::CURSOR.into(),
            index::slot_key((T0 + 10 * MINUTE) / MINUTE, 1)
        ],
        "the finished minute's entry and counters are gone"
    );
}

#[test]
fn a_renewed_record_outlives_its_old_entry_and_goes_by_its_new_one() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    save(&store, "n:client", &note(T0 + MINUTE)).unwrap();
    clock.advance(30);
    save(&store, "n:client", &note(T0 + 30 * MINUTE)).unwrap(); // used: its life is extended
    clock.advance(10 * MINUTE);
    assert_eq!(sweep_all(&store, &clock), 0);
    assert!(store.exists("n:client").unwrap(), "the old entry did not delete the live record");
    clock.advance(30 * MINUTE);
    assert_eq!(sweep_all(&store, &clock), 1);
    assert!(store.record_keys().is_empty());
}

#[test]
fn a_quiet_day_costs_the_sweep_one_read_and_passed_hours_and_days_lose_their_markers() {
    let clock = ManualClock::at(T0 - T0 % 86_400);
    let store = Counting::default();
    migration::step(&store, &clock, 10).unwrap();
    save(&store, "n:today", &note(clock.now_unix() + 30)).unwrap();
    save(&store, "n:in-a-week", &note(clock.now_unix() + 7 * 86_400 + 30)).unwrap();
    clock.advance(8 * 86_400 + 3_600);
    let calls_before = store.calls.load(Ordering::SeqCst);
    let swept = sweep::sweep_due(&store, &clock, 500).unwrap().unwrap();
    let calls = store.calls.load(Ordering::SeqCst) - calls_before;
    assert!(!swept.backlog && swept.deleted == 2, "{swept:?}");
    // Two hours of minutes walked (the two with entries), the other hours and days passed with
    // a read each: not the 11,520 minutes of eight days.
    assert!(calls < 2 * 60 + 9 * 24 + 8 + 40, "{calls} store calls");
    assert!(store.inner.record_keys().is_empty());
    assert_eq!(store.inner.keys(), [sweep::CURSOR], "the markers of the passed hours and days are gone");
}

#[test]
fn a_discarded_record_leaves_its_claim_counter_until_its_entry_comes_due() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    save(&store, "n:revoked", &note(T0 + 5 * MINUTE)).unwrap();
    claim(&store, &clock, "n:revoked", &note(T0 + 5 * MINUTE)).unwrap();
    discard(&store, "n:revoked").unwrap();
    assert_eq!(store.record_keys(), ["n:revoked#claim"], "a claim in flight still counts");
    clock.advance(7 * MINUTE);
    sweep_all(&store, &clock);
    assert!(store.record_keys().is_empty());
}

#[test]
fn expiring_counters_go_when_their_time_is_up() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    let (short, long) = (expiring_counter_key("rl:a", T0 + MINUTE), expiring_counter_key("rl:b", T0 + 9 * MINUTE));
    record::add_to_counter(&store, &short, 1).unwrap();
    record::add_to_counter(&store, &short, 1).unwrap();
    record::add_to_counter(&store, &long, 1).unwrap();
    clock.advance(3 * MINUTE);
    assert_eq!(sweep_all(&store, &clock), 1);
    assert_eq!(store.record_keys(), [long]);
}

#[test]
fn entries_this_release_cannot_read_and_records_of_another_version_are_left_alone() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    save(&store, "n:future", &note(T0 + 5)).unwrap();
    store.set("n:future", br#"{"v":2,"expires_at":1}"#).unwrap(); // a newer release rewrote it
    store.increment(&index::count_key(T0 / MINUTE), 1).unwrap();
    store.set(&index::slot_key(T0 / MINUTE, 2), b"something else").unwrap();
    clock.advance(5 * MINUTE);
    assert_eq!(sweep_all(&store, &clock), 0);
    assert_eq!(store.record_keys(), ["n:future"]);
    assert_eq!(index_keys(&store), [sweep::CURSOR], "only the cursor is left of the index");
}

#[test]
fn a_sweep_stops_at_its_budget_and_the_next_one_goes_on_from_there() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    for n in 0..30 {
        save(&store, &format!("n:{n}"), &note(T0 + 1 + n % 3 * MINUTE)).unwrap();
    }
    clock.advance(10 * MINUTE);
    let first = sweep::sweep_due(&store, &clock, 12).unwrap().unwrap();
    assert!(first.backlog && first.entries <= 12, "{first:?}");
    assert_eq!(store.record_keys().len(), 30 - first.deleted);
    assert_eq!(sweep_all(&store, &clock), 30 - first.deleted);
    assert!(store.record_keys().is_empty());
    assert_eq!(index_keys(&store), [sweep::CURSOR]);
}

/// Eight sweeps at once over 2,000 expired records in 7 minutes, 40 times over: races between a
/// sweep that took a run and the one that finished the minute meanwhile are met (a sweep that
/// read the entry count after its claim lost its run about once in 50 rounds of this).
#[test]
fn concurrent_sweeps_share_the_work_and_leave_nothing_behind() {
    for round in 0..40 {
        let clock = Arc::new(ManualClock::at(T0));
        let store = Arc::new(set_up(&clock));
        for n in 0..2_000 {
            save(&*store, &format!("n:{n}"), &note(T0 + n % 7 * MINUTE)).unwrap();
        }
        clock.advance(10 * MINUTE);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (store, clock) = (store.clone(), clock.clone());
                std::thread::spawn(move || while sweep::sweep_due(&*store, &*clock, 25).unwrap().unwrap().backlog {})
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        sweep_all(&*store, &*clock); // a thread may have stopped while another still held a run
        assert!(store.record_keys().is_empty(), "round {round}: {} records left", store.record_keys().len());
        assert_eq!(index_keys(&store), [sweep::CURSOR], "round {round}: no entry or counter is left");
    }
}

#[test]
fn a_late_sweep_that_recreates_the_counters_of_a_finished_minute_deletes_them_again() {
    let clock = ManualClock::at(T0);
    let store = set_up(&clock);
    save(&store, "n:1", &note(T0 + 1)).unwrap();
    clock.advance(3 * MINUTE);
    sweep_all(&store, &clock);
    // A sweep that read the old cursor and claims after the minute was finished.
    store.increment(&index::claimed_key(T0 / MINUTE), 5).unwrap();
    store.increment(&index::count_key(T0 / MINUTE), 0).unwrap();
    sweep::write_cursor(&store, T0 / MINUTE).unwrap();
    sweep_all(&store, &clock);
    assert_eq!(index_keys(&store), [sweep::CURSOR]);
}

#[test]
fn a_record_written_after_its_expiry_is_still_swept() {
    // A tombstone rewritten by a request that read the record live a moment before it expired.
    let clock = ManualClock::at(T0 + 59);
    let store = set_up(&ManualClock::at(T0));
    clock.advance(2);
    save(&store, "n:late", &note(T0 + 59)).unwrap();
    clock.advance(3 * MINUTE);
    sweep_all(&store, &clock);
    assert!(store.record_keys().is_empty());
}

/// A store that counts its calls, and its deletions (`delete` and `delete-many` calls) apart.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    calls: AtomicUsize,
    deletions: AtomicUsize,
}

impl KeyValueStore for Counting {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.deletions.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.deletions.fetch_add(1, Ordering::SeqCst);
        self.inner.delete_many(keys)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.exists(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.increment(key, delta)
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.list_keys()
    }
}

#[test]
fn a_run_of_entries_costs_two_reads_each_and_one_deletion_for_all_it_deletes() {
    let clock = ManualClock::at(T0 + 30);
    let store = Counting::default();
    migration::step(&store, &clock, 10).unwrap();
    for n in 0..50 {
        save(&store, &format!("n:{n}"), &note(T0 + 40)).unwrap();
        claim(&store, &clock, &format!("n:{n}"), &note(T0 + 40)).unwrap();
    }
    clock.advance(2 * MINUTE);
    let (calls, deletions) = (store.calls.load(Ordering::SeqCst), store.deletions.load(Ordering::SeqCst));
    let swept = sweep::sweep_due(&store, &clock, 64).unwrap().unwrap();
    assert_eq!((swept.entries, swept.deleted, swept.backlog), (50, 50, false));
    assert!(store.inner.record_keys().is_empty(), "the records and their claim counters are gone");
    assert_eq!(store.deletions.load(Ordering::SeqCst) - deletions, 1, "one delete-many for the run");
    // exists, two increments (read the count, claim a run), 2 reads an entry, the deletion, the
    // cursor's read and write.
    assert_eq!(store.calls.load(Ordering::SeqCst) - calls, 3 + 2 * 50 + 1 + 2);
}

#[test]
fn a_request_that_registered_nothing_does_no_housekeeping_at_all() {
    let store = Counting::default();
    index::take_registered();
    assert_eq!(after_response(&store, &ManualClock::at(T0)).unwrap(), Report::default());
    assert_eq!(store.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn the_first_request_that_registers_something_sets_the_index_up_and_later_ones_sweep_their_share() {
    let clock = ManualClock::at(T0);
    let store = MemoryStore::new();
    index::take_registered();
    save(&store, "n:0", &note(T0 + 1)).unwrap();
    let first = after_response(&store, &clock).unwrap();
    assert_eq!(first.migration.map(|m| (m.keys, m.done)), Some((1, true)), "{first:?}");
    for n in 1..=100 {
        save(&store, &format!("n:{n}"), &note(T0 + 1)).unwrap();
    }
    index::take_registered();
    clock.advance(3 * MINUTE);
    save(&store, "n:new", &note(clock.now_unix() + MINUTE)).unwrap();
    let report = after_response(&store, &clock).unwrap();
    let share = report.share.unwrap();
    assert_eq!(share.entries, 9, "2 per entry registered + 8, less one for the bucket: {report:?}");
    assert!(share.backlog);
    assert!(report.catch_up.is_some_and(|c| !c.backlog), "the catch-up turn took the rest: {report:?}");
    assert_eq!(store.record_keys(), ["n:new"]);
    save(&store, "n:newer", &note(clock.now_unix() + MINUTE)).unwrap();
    let next = after_response(&store, &clock).unwrap();
    assert_eq!(next.catch_up, None, "one catch-up turn at a time, and nothing is behind");
}

/// An unauthenticated caller at a steady rate: every request stores a record for ten minutes
/// (a sign-in started and abandoned) and a rate-limit counter each minute, and sweeps its
/// share after its response. The store never holds more than what is live plus the few
/// minutes the sweep waits.
#[test]
fn deletion_keeps_up_with_creation_at_a_steady_rate_and_the_store_stays_bounded() {
    let clock = ManualClock::at(T0);
    let store = MemoryStore::new();
    index::take_registered();
    let per_minute = 300;
    let mut most = 0;
    for second in 0..120 * MINUTE {
        clock.advance(1);
        for n in 0..per_minute / MINUTE {
            let now = clock.now_unix();
            save(&store, &format!("signin:{second}:{n}"), &note(now + 10 * MINUTE)).unwrap();
            let window = expiring_counter_key("ratelimit:sign_in:addr", (now / MINUTE + 1) * MINUTE);
            record::add_to_counter(&store, &window, 1).unwrap();
            after_response(&store, &clock).unwrap();
        }
        if second % MINUTE == 0 {
            most = most.max(store.keys().len());
        }
    }
    let live = store.record_keys().len();
    // 10 minutes of records live, at most 2 more waiting for their minute and the margin, each
    // with its index entry (3,300 and 6,645 when this was written).
    assert!(live <= 12 * per_minute as usize, "{live} records");
    assert!(most <= 2 * 12 * per_minute as usize + 100, "at most {most} keys");
    clock.advance(20 * MINUTE);
    save(&store, "signin:last", &note(clock.now_unix() + 10 * MINUTE)).unwrap();
    for _ in 0..20 {
        clock.advance(MINUTE);
        save(&store, "signin:last", &note(clock.now_unix() + 10 * MINUTE)).unwrap();
        after_response(&store, &clock).unwrap();
    }
    assert_eq!(store.record_keys(), ["signin:last"], "a quiet spell after: the catch-up turns finish the job");
}

/// What the release before the expiry index left in a store: records of every kind without
/// index entries, counters, orphaned helpers, its sweep turns, and keys that are not records.
fn old_release_store(now: u64) -> MemoryStore {
    let store = MemoryStore::new();
    let put = |key: &str, expires_at: u64| {
        store.set(key, format!(r#"{{"v":1,"expires_at":{expires_at},"x":1}}"#).as_bytes()).unwrap()
    };
    put("oauth:client:live", now + 90 * 86_400);
    put("oauth:code:expired", now - 1);
    store.increment("oauth:code:expired#claim", 1).unwrap();
    put("oauth:refresh:live", now + 86_400);
    store.increment("oauth:refresh:live#claim", 1).unwrap();
    store.increment("oauth:code:gone#claim", 1).unwrap();
    store.increment(&expiring_counter_key("ratelimit:x", now - 5), 3).unwrap();
    store.increment(&expiring_counter_key("ratelimit:y", now + 50 * 60), 3).unwrap();
    store.increment("oauth:sweep:499999", 1).unwrap();
    store.set("signin:sweep:last", b"12345").unwrap();
    store.set("other:garbage", b"{").unwrap();
    store.set("other:future", br#"{"v":2,"expires_at":1}"#).unwrap();
    for n in 0..25 {
        put(&format!("signin:consent:v1:{n:02}"), now - 100 + n * 10);
    }
    store
}

#[test]
fn the_set_up_of_an_upgraded_store_keeps_live_records_deletes_expired_ones_and_sweeps_the_rest_later() {
    let clock = ManualClock::at(T0);
    let store = old_release_store(T0);
    let mut turns = 0;
    loop {
        turns += 1;
        // Records saved by the new release while the set-up runs.
        save(&store, &format!("oauth:code:new{turns}"), &note(T0 + 10 * MINUTE)).unwrap();
        if migration::step(&store, &clock, 8).unwrap().done {
            break;
        }
        clock.advance(MINUTE);
    }
    assert!(turns >= 5, "spread over turns: {turns}");
    let mut left = store.record_keys();
    left.retain(|key| !key.starts_with("oauth:code:new"));
    let expected = [
        "oauth:client:live",
        "oauth:refresh:live",
        "oauth:refresh:live#claim",
        "other:future",
        "other:garbage",
        "ratelimit:y#until=1800003000",
    ];
    let consent_left: Vec<&String> = left.iter().filter(|k| k.starts_with("signin:consent:")).collect();
    assert!(consent_left.iter().all(|key| key.as_str() >= "signin:consent:v1:10"), "expired consent left: {left:?}");
    left.retain(|key| !key.starts_with("signin:consent:"));
    assert_eq!(left, expected);
    // Later, everything that expired is swept through the index, and nothing else.
    clock.advance(2 * 86_400);
    sweep_all(&store, &clock);
    assert_eq!(store.record_keys(), ["oauth:client:live", "other:future", "other:garbage"]);
}

#[test]
fn a_set_up_that_cannot_list_the_store_fails_and_changes_nothing() {
    let store = Faulty::new(old_release_store(T0), Fails::Listing);
    let before = store.inner.snapshot();
    assert!(migration::step(&store, &ManualClock::at(T0), 100).unwrap_err().is_temporary());
    assert_eq!(store.inner.snapshot(), before);
}
