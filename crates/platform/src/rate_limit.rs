//! Rate limits that hold across instances: fixed windows counted in the shared key-value store.
//!
//! **Fixed windows.** Time is cut into windows of `window_secs` aligned on the epoch; each
//! (limit, subject, window) has one counter, incremented atomically by every request it
//! counts (`increment`, correct on every Spin store), so instances sharing a store count
//! together. A subject is refused once its count in the current window passes the maximum,
//! until the window ends (`Retry-After`). Chosen over sliding windows for cost: one atomic
//! increment per counted request, against two counters read and weighed per request; the price
//! is that a subject can spend a window's allowance at its end and the next one at the start of
//! the next, so a burst of up to twice the maximum can pass around a window boundary, which is
//! fine for abuse limits set well above normal use.
//!
//! **Keys and lifetimes.** `ratelimit:<limit>:<sha256 of the subject>#until=<window end>`, an
//! expiring counter (`crate::record::expiring_counter_key`): client addresses and ids appear
//! only hashed. The request that opens a subject's new window (its increment returns 1)
//! registers the counter in the expiry index and deletes the subject's previous window, so a
//! subject that keeps coming holds one counter; what a subject that went away left is deleted
//! by the sweep ([`crate::housekeeping`]) once its window ended.
//!
//! **Store failures** let the request through (the limit fails open): the request then meets
//! the same store and answers 503 itself if it needs it, and a flaky store must not turn into
//! refusals of well-behaved clients.

use std::net::IpAddr;

use crate::record::{self, RecordError};
use crate::secret::hash_hex;
use crate::{Clock, KeyValueStore, VariableError, Variables};

/// The namespace of every rate-limit counter.
const PREFIX: &str = "ratelimit:";

/// One configurable limit: its name (in keys, the audit trail's `limit` field and messages), the
/// Spin variable that sets its maximum, the maximum when the variable is unset, and the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSpec {
    pub name: &'static str,
    pub variable: &'static str,
    pub default_max: u64,
    pub window_secs: u64,
}

/// `POST /register` per client address.
pub const REGISTER: LimitSpec =
    LimitSpec { name: "register", variable: "rate_limit_register_per_hour", default_max: 100, window_secs: 3600 };
/// `/authorize` (GET and POST) and `/callback` together, per client address.
pub const SIGN_IN: LimitSpec =
    LimitSpec { name: "sign_in", variable: "rate_limit_sign_in_per_minute", default_max: 300, window_secs: 60 };
/// Failed `/token` requests per client id (per client address when the client is unknown).
pub const TOKEN_FAILURES: LimitSpec = LimitSpec {
    name: "token_failures",
    variable: "rate_limit_token_failures_per_minute",
    default_max: 60,
    window_secs: 60,
};
/// Successful refreshes (rotations) per grant: each writes records kept for 30 days and reads
/// the user from Clerk. Honest clients refresh about once an hour (the access-token lifetime);
/// a retry within the grace window answers the same pair and is not counted.
pub const REFRESHES: LimitSpec =
    LimitSpec { name: "refreshes", variable: "rate_limit_refreshes_per_hour", default_max: 30, window_secs: 3600 };
/// Requests naming a client metadata document (a URL `client_id`) at `/authorize`, `/token` and
/// `/revoke`, per client address, counted before anything is fetched.
pub const DOCUMENT_CLIENTS: LimitSpec = LimitSpec {
    name: "document_clients",
    variable: "rate_limit_document_clients_per_minute",
    default_max: 60,
    window_secs: 60,
};
/// Client metadata documents and refusals written to the cache, per client address.
pub const DOCUMENT_CACHE_WRITES: LimitSpec = LimitSpec {
    name: "document_cache_writes",
    variable: "rate_limit_document_cache_writes_per_hour",
    default_max: 30,
    window_secs: 3600,
};
/// MCP `tools/call` per user; off unless configured (it costs a write per call).
pub const TOOL_CALLS: LimitSpec =
    LimitSpec { name: "tool_calls", variable: "rate_limit_tool_calls_per_minute", default_max: 0, window_secs: 60 };
/// Sign-in state alive at once per client address (a cap, [`Limit::hit_live`]): each request that
/// stores some (a used consent form, a trip to Clerk) counts; such state lives 10 minutes, the
/// window.
pub const SIGN_IN_PENDING: LimitSpec = LimitSpec {
    name: "sign_in_pending",
    variable: "sign_in_max_pending_per_address",
    default_max: 100,
    window_secs: 600,
};

/// A limit in force: at most `max` counted requests per subject per window; `max` 0 is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub max: u64,
    pub window_secs: u64,
}

impl LimitSpec {
    /// The limit with the maximum from its variable (a whole number; 0 turns it off).
    pub fn from_variables(&self, vars: &dyn Variables) -> Result<Limit, VariableError> {
        let max = match vars.get(self.variable)? {
            None => self.default_max,
            Some(text) => text.trim().parse::<u64>().map_err(|_| VariableError::Invalid {
                name: self.variable.to_owned(),
                reason: "must be a whole number (0 turns the limit off)".to_owned(),
            })?,
        };
        Ok(self.with_max(max))
    }

    /// The limit with `max`.
    pub fn with_max(&self, max: u64) -> Limit {
        Limit { name: self.name, max, window_secs: self.window_secs.max(1) }
    }
}

/// What a limit says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit until the window ends, in `retry_after` seconds (at least 1).
    Limited {
        retry_after: u64,
    },
}

/// Who a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A client address (`None`: the host did not say; all such requests share one count).
    /// IPv6 addresses count per /64, the block one subscriber usually holds.
    Address(Option<IpAddr>),
    /// A registered OAuth client.
    Client(&'a str),
    /// A registered OAuth client's requests from one address (counted per /64 for IPv6, as
    /// [`Subject::Address`]).
    ClientAt(&'a str, Option<IpAddr>),
    /// A signed-in user.
    User(&'a str),
    /// A grant (one user's authorization of one client).
    Grant(&'a str),
    /// Every caller together: a bound for the whole deployment.
    Everyone,
}

impl Subject<'_> {
    fn text(&self) -> String {
        match self {
            Subject::Address(addr) => address_text(*addr),
            Subject::Client(id) => format!("client:{id}"),
            Subject::ClientAt(id, addr) => format!("client:{id}@{}", address_text(*addr)),
            Subject::User(id) => format!("user:{id}"),
            Subject::Grant(id) => format!("grant:{id}"),
            Subject::Everyone => "everyone".to_owned(),
        }
    }
}

/// How an address is counted: IPv4 as is (also when mapped into IPv6), IPv6 per /64.
fn address_text(addr: Option<IpAddr>) -> String {
    match addr {
        None => "ip:unknown".to_owned(),
        Some(IpAddr::V4(ip)) => format!("ip:{ip}"),
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = ip.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl Limit {
    pub fn is_off(&self) -> bool {
        self.max == 0
    }

    /// What a refused caller is told, e.g. "rate limit `register` exceeded (at most 100 per
    /// hour); retry in 42 seconds".
    pub fn refusal(&self, retry_after: u64) -> String {
        let per = match self.window_secs {
            60 => "minute".to_owned(),
            3600 => "hour".to_owned(),
            secs => format!("{secs} seconds"),
        };
        format!("rate limit `{}` exceeded (at most {} per {per}); retry in {retry_after} seconds", self.name, self.max)
    }

    /// Counts this request for `subject`; `Limited` when it goes past the maximum. Off: nothing
    /// is counted or stored.
    pub fn hit(&self, store: &dyn KeyValueStore, clock: &dyn Clock, subject: Subject<'_>) -> Outcome {
        self.tally(store, clock, subject, Tally::ThisRequest)
    }

    /// Whether `subject` has already used up the current window, without counting this
    /// request (for limits that count only failures: check first, [`hit`](Self::hit) after a
    /// failure). A subject with no count costs one read and stores nothing.
    pub fn check(&self, store: &dyn KeyValueStore, clock: &dyn Clock, subject: Subject<'_>) -> Outcome {
        self.tally(store, clock, subject, Tally::Nothing)
    }

    /// A cap on things alive at once, for things that live at most one window (sign-in state):
    /// counts this request, and refuses it (uncounted again) when this window's and the previous
    /// window's admitted requests together would pass the maximum. Everything admitted in those
    /// two windows may still be alive and nothing older can be, so at most `max` are alive per
    /// subject, whatever the rate. Costs an increment and a read; each counter lives two windows.
    pub fn hit_live(&self, store: &dyn KeyValueStore, clock: &dyn Clock, subject: Subject<'_>) -> Outcome {
        if self.is_off() {
            return Ok(Verdict::Allowed);
        }
        let window = Window::of(self, clock.now_unix(), &subject);
        // Created here, registered in the expiry index so the sweep removes it after its two windows.
        let here = record::add_to_counter(store, &window.live_key(), 1)?;
        let previous = window.previous();
        if here == 1 {
            // The window before the previous one holds nothing that can still be alive.
            store.delete(&previous.previous().live_key())?;
        }
        let before = if store.exists(&previous.live_key())? { store.increment(&previous.live_key(), 0)? } else { 0 };
        if here + before <= to_i64(self.max) {
            return Ok(Verdict::Allowed);
        }
        store.increment(&window.live_key(), -1)?;
        // Room comes back when the previous window's things have gone (at this window's end), or
        // a window later if this window alone is full.
        let wait = if here > to_i64(self.max) { window.length } else { 0 };
        Ok(Verdict::Limited { retry_after: (window.end() + wait - window.now).max(1) })
    }

    fn tally(&self, store: &dyn KeyValueStore, clock: &dyn Clock, subject: Subject<'_>, tally: Tally) -> Outcome {
        if self.is_off() {
            return Ok(Verdict::Allowed);
        }
        let window = Window::of(self, clock.now_unix(), &subject);
        let key = window.key();
        let past_max = match tally {
            Tally::ThisRequest => {
                let count = record::add_to_counter(store, &key, 1)?;
                if count == 1 {
                    // This request opened the subject's window: the previous one is of no more use.
                    store.delete(&window.previous().key())?;
                }
                count > to_i64(self.max)
            }
            Tally::Nothing => store.exists(&key)? && store.increment(&key, 0)? >= to_i64(self.max),
        };
        Ok(window.verdict(past_max))
    }
}

/// A limit's answer, or the store's failure (which callers treat as "allowed": see the module).
pub type Outcome = Result<Verdict, RecordError>;

/// Whether [`Limit::tally`] counts the request it is asked about.
#[derive(Clone, Copy)]
enum Tally {
    ThisRequest,
    Nothing,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One subject's window of one limit.
struct Window {
    name: String,
    start: u64,
    length: u64,
    now: u64,
}

impl Window {
    fn of(limit: &Limit, now: u64, subject: &Subject<'_>) -> Self {
        let length = limit.window_secs.max(1);
        let name = format!("{PREFIX}{}:{}", limit.name, hash_hex(&subject.text()));
        Self { name, start: now - now % length, length, now }
    }

    fn end(&self) -> u64 {
        self.start + self.length
    }

    fn key(&self) -> String {
        record::expiring_counter_key(&self.name, self.end())
    }

    /// The counter of a cap on live things ([`Limit::hit_live`]): what it counts may live until
    /// the next window ends, and so does the counter.
    fn live_key(&self) -> String {
        record::expiring_counter_key(&self.name, self.end() + self.length)
    }

    fn previous(&self) -> Window {
        Window {
            name: self.name.clone(),
            start: self.start.saturating_sub(self.length),
            length: self.length,
            now: self.now,
        }
    }

    fn verdict(&self, over: bool) -> Verdict {
        if over { Verdict::Limited { retry_after: (self.end() - self.now).max(1) } } else { Verdict::Allowed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, MemoryStore, StaticVariables};
    use std::sync::Arc;

    const START: u64 = 1_700_000_020; // 40 s into a minute
    const HOME: Subject<'static> = Subject::Address(Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7))));

    fn per_minute(max: u64) -> Limit {
        SIGN_IN.with_max(max)
    }

    #[test]
    fn under_the_limit_and_at_it_pass_past_it_is_limited_until_the_window_ends() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let limit = per_minute(3);
        for _ in 0..3 {
            assert_eq!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Allowed);
        }
        assert_eq!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Limited { retry_after: 20 });
        clock.advance(19);
        assert_eq!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Limited { retry_after: 1 });
        clock.advance(1);
        assert_eq!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Allowed, "a new window");
    }

    #[test]
    fn subjects_and_limits_count_separately() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let limit = per_minute(1);
        assert_eq!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Allowed);
        assert_eq!(
            limit.hit(&store, &clock, Subject::Address(Some("192.0.2.8".parse().unwrap()))).unwrap(),
            Verdict::Allowed
        );
        assert_eq!(limit.hit(&store, &clock, Subject::Client("c1")).unwrap(), Verdict::Allowed);
        assert_eq!(REGISTER.with_max(1).hit(&store, &clock, HOME).unwrap(), Verdict::Allowed);
        assert!(matches!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Limited { .. }));
    }

    #[test]
    fn a_client_counts_per_address_apart_from_the_client_and_the_address_alone() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let limit = per_minute(1);
        let (home, away) = (Some("192.0.2.7".parse().unwrap()), Some("198.51.100.9".parse().unwrap()));
        assert_eq!(limit.hit(&store, &clock, Subject::ClientAt("c1", home)).unwrap(), Verdict::Allowed);
        assert!(matches!(limit.hit(&store, &clock, Subject::ClientAt("c1", home)).unwrap(), Verdict::Limited { .. }));
        for other in [Subject::ClientAt("c1", away), Subject::ClientAt("c2", home), Subject::Client("c1"), HOME] {
            assert_eq!(limit.hit(&store, &clock, other).unwrap(), Verdict::Allowed, "{other:?}");
        }
        let v6 = |ip: &str| Subject::ClientAt("c1", Some(ip.parse().unwrap()));
        assert_eq!(limit.hit(&store, &clock, v6("2001:db8:1:2::1")).unwrap(), Verdict::Allowed);
        assert!(matches!(limit.hit(&store, &clock, v6("2001:db8:1:2::9")).unwrap(), Verdict::Limited { .. }), "/64");
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let limit = per_minute(1);
        let a = Subject::Address(Some("2001:db8:1:2::1".parse().unwrap()));
        let b = Subject::Address(Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert_eq!(limit.hit(&store, &clock, a).unwrap(), Verdict::Allowed);
        assert!(matches!(limit.hit(&store, &clock, b).unwrap(), Verdict::Limited { .. }), "same /64");
        let other_64 = Subject::Address(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(limit.hit(&store, &clock, other_64).unwrap(), Verdict::Allowed);
        assert_eq!(limit.hit(&store, &clock, HOME).unwrap(), Verdict::Allowed);
        let mapped = Subject::Address(Some("::ffff:192.0.2.7".parse().unwrap()));
        assert!(matches!(limit.hit(&store, &clock, mapped).unwrap(), Verdict::Limited { .. }));
    }

    #[test]
    fn check_counts_nothing_and_refuses_once_the_failures_reached_the_maximum() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let limit = TOKEN_FAILURES.with_max(2);
        let client = Subject::Client("client_1");
        assert_eq!(limit.check(&store, &clock, client).unwrap(), Verdict::Allowed);
        assert!(store.keys().is_empty(), "a clean subject stores nothing");
        limit.hit(&store, &clock, client).unwrap();
        assert_eq!(limit.check(&store, &clock, client).unwrap(), Verdict::Allowed, "under");
        limit.hit(&store, &clock, client).unwrap();
        assert_eq!(limit.check(&store, &clock, client).unwrap(), Verdict::Limited { retry_after: 20 }, "at");
        clock.advance(20);
        assert_eq!(limit.check(&store, &clock, client).unwrap(), Verdict::Allowed, "reset");
    }

    #[test]
    fn the_refusal_names_the_limit_its_maximum_and_when_to_retry() {
        assert_eq!(
            REGISTER.with_max(100).refusal(42),
            "rate limit `register` exceeded (at most 100 per hour); retry in 42 seconds"
        );
        assert!(SIGN_IN.with_max(5).refusal(1).contains("at most 5 per minute"));
    }

    #[test]
    fn a_limit_that_is_off_stores_nothing() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let off = TOOL_CALLS.from_variables(&StaticVariables::default()).unwrap();
        assert!(off.is_off());
        for _ in 0..10 {
            assert_eq!(off.hit(&store, &clock, Subject::User("u")).unwrap(), Verdict::Allowed);
            assert_eq!(off.check(&store, &clock, Subject::User("u")).unwrap(), Verdict::Allowed);
        }
        assert!(store.keys().is_empty());
    }

    #[test]
    fn keys_hide_the_subject_carry_their_expiry_and_the_new_window_deletes_the_old() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        let limit = per_minute(5);
        limit.hit(&store, &clock, Subject::Client("secretive-client")).unwrap();
        let keys = store.record_keys();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with("ratelimit:sign_in:") && !keys[0].contains("secretive"), "{keys:?}");
        assert_eq!(record::counter_expiry(&keys[0]), Some(START + 20));
        assert!(keys[0].len() < 250);
        clock.advance(60);
        limit.hit(&store, &clock, Subject::Client("secretive-client")).unwrap();
        assert_eq!(store.record_keys().len(), 1, "one counter per subject that keeps coming: {:?}", store.keys());
    }

    #[test]
    fn a_new_window_is_registered_for_the_sweep_once_and_goes_when_it_has_ended() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(START));
        crate::housekeeping::migration::step(&store, &clock, 10).unwrap();
        for n in 0..50 {
            for _ in 0..3 {
                per_minute(5).hit(&store, &clock, Subject::Client(&format!("gone-{n}"))).unwrap();
            }
        }
        REGISTER.with_max(5).hit(&store, &clock, HOME).unwrap();
        assert_eq!(store.increment(&crate::housekeeping::index::count_key((START + 20) / 60), 0).unwrap(), 50);
        clock.advance(180);
        per_minute(5).hit(&store, &clock, HOME).unwrap();
        let swept = crate::housekeeping::sweep::sweep_due(&store, &clock, 1_000).unwrap().unwrap();
        assert_eq!(swept.deleted, 50, "the ended minute windows");
        let left: Vec<String> = store.record_keys();
        assert_eq!(left.len(), 2, "the hour window and the live minute window: {left:?}");
    }

    #[test]
    fn the_maximum_comes_from_its_variable() {
        let vars =
            StaticVariables::new([("rate_limit_register_per_hour", " 7 "), ("rate_limit_sign_in_per_minute", "0")]);
        assert_eq!(REGISTER.from_variables(&vars).unwrap(), Limit { name: "register", max: 7, window_secs: 3600 });
        assert!(SIGN_IN.from_variables(&vars).unwrap().is_off());
        assert_eq!(TOKEN_FAILURES.from_variables(&vars).unwrap().max, 60, "the default");
        for bad in ["-1", "ten", "1.5"] {
            let vars = StaticVariables::new([("rate_limit_register_per_hour", bad)]);
            let error = REGISTER.from_variables(&vars).unwrap_err();
            assert!(error.to_string().contains("rate_limit_register_per_hour"), "{error}");
        }
    }

    const TEN_MINUTES: u64 = 600;

    fn live_cap(max: u64) -> Limit {
        SIGN_IN_PENDING.with_max(max)
    }

    #[test]
    fn a_live_cap_counts_the_previous_window_too_and_refusals_do_not_count() {
        let start = START - START % TEN_MINUTES + 500; // 100 s before a window ends
        let (store, clock) = (MemoryStore::new(), ManualClock::at(start));
        let cap = live_cap(3);
        for _ in 0..2 {
            assert_eq!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Allowed);
        }
        clock.advance(200); // the next window: the first two may still be alive
        assert_eq!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Allowed);
        for _ in 0..5 {
            assert_eq!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Limited { retry_after: 500 });
        }
        clock.advance(500); // the first two are gone; the third may still be alive
        for _ in 0..2 {
            assert_eq!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Allowed, "refusals were not counted");
        }
        assert!(matches!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Limited { .. }));
        assert_eq!(store.record_keys().len(), 2, "this window and the previous one: {:?}", store.keys());
    }

    #[test]
    fn a_live_cap_full_within_one_window_waits_until_the_next_one_ends() {
        let start = START - START % TEN_MINUTES + 100;
        let (store, clock) = (MemoryStore::new(), ManualClock::at(start));
        let cap = live_cap(2);
        cap.hit_live(&store, &clock, HOME).unwrap();
        cap.hit_live(&store, &clock, HOME).unwrap();
        assert_eq!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Limited { retry_after: 500 + 600 });
        clock.advance(500);
        assert!(matches!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Limited { .. }), "still alive");
        clock.advance(600);
        assert_eq!(cap.hit_live(&store, &clock, HOME).unwrap(), Verdict::Allowed);
    }

    #[test]
    fn a_live_caps_counters_outlive_their_window_by_one_window_and_then_are_swept() {
        let start = START - START % TEN_MINUTES;
        let (store, clock) = (MemoryStore::new(), ManualClock::at(start));
        crate::housekeeping::migration::step(&store, &clock, 10).unwrap();
        live_cap(5).hit_live(&store, &clock, HOME).unwrap();
        let keys = store.record_keys();
        assert_eq!(record::counter_expiry(&keys[0]), Some(start + 2 * TEN_MINUTES), "{keys:?}");
        assert!(keys[0].starts_with("ratelimit:sign_in_pending:"));
        clock.advance(2 * TEN_MINUTES + 120);
        let swept = crate::housekeeping::sweep::sweep_due(&store, &clock, 1_000).unwrap().unwrap();
        assert_eq!(swept.deleted, 1, "the live cap's counter, registered in the expiry index");
        assert!(store.record_keys().is_empty(), "{:?}", store.keys());
        assert!(live_cap(0).is_off());
        assert_eq!(live_cap(0).hit_live(&store, &clock, HOME).unwrap(), Verdict::Allowed);
    }

    #[test]
    fn concurrent_live_hits_admit_exactly_the_maximum() {
        let store = Arc::new(MemoryStore::new());
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || live_cap(10).hit_live(&*store, &ManualClock::at(START), HOME).unwrap())
            })
            .collect();
        let allowed = threads.into_iter().map(|t| t.join().unwrap()).filter(|v| *v == Verdict::Allowed).count();
        assert_eq!(allowed, 10);
    }

    #[test]
    fn concurrent_hits_count_exactly() {
        let store = Arc::new(MemoryStore::new());
        let limit = per_minute(10);
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || limit.hit(&*store, &ManualClock::at(START), HOME).unwrap())
            })
            .collect();
        let allowed = threads.into_iter().map(|t| t.join().unwrap()).filter(|v| *v == Verdict::Allowed).count();
        assert_eq!(allowed, 10);
    }
}
