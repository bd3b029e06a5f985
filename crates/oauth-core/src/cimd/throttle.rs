//! What a caller can make this server fetch and store by naming document clients, bounded per
//! client address (and, for fetches, in all), counted in the shared store so the bounds hold
//! across instances (`platform::rate_limit`, fixed windows):
//!
//! - **requests** (`rate_limit_document_clients_per_minute`, default 60 per address): every
//!   request whose `client_id` is a URL, at `/authorize`, `/token` and `/revoke`, counted before
//!   anything is read or fetched, so parallel requests cannot pass together;
//! - **fetches started** ([`FETCHES_PER_ADDRESS`], [`FETCHES_IN_ALL`]): a fetch takes at most
//!   [`super::fetch::FETCH_TIMEOUT`], less than the [`FETCH_WINDOW_SECS`] window starts are
//!   counted in, so the fetches in flight at any moment are at most those started in this window
//!   and the previous one: 20 per address, 200 in all. A slow document server holds at most
//!   that many instances, and an instance that dies mid-fetch leaks nothing (no count to take
//!   back);
//! - **cache writes** (`rate_limit_document_cache_writes_per_hour`, default 30 per address):
//!   cached documents and refusals (`super::cache`); past it nothing is written and the next
//!   request fetches again (counted as above).
//!
//! A store that cannot count lets the request through, as every limit does.

use std::net::IpAddr;

use platform::rate_limit::{self, Limit, Subject, Verdict};
use platform::{Clock, KeyValueStore, VariableError, Variables};

/// The window fetch starts are counted in: at least as long as a fetch can take.
pub const FETCH_WINDOW_SECS: u64 = 10;
/// Fetches one client address may start per window.
pub const FETCHES_PER_ADDRESS: Limit = Limit { name: "document_fetches", max: 10, window_secs: FETCH_WINDOW_SECS };
/// Fetches all callers together may start per window.
pub const FETCHES_IN_ALL: Limit = Limit { name: "document_fetches_total", max: 100, window_secs: FETCH_WINDOW_SECS };

/// The limits on requests that name document clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Requests naming a document client, per client address.
    pub requests: Limit,
    /// Fetches started per client address.
    pub fetches_per_address: Limit,
    /// Fetches started by all callers together.
    pub fetches_in_all: Limit,
    /// Cached documents and refusals written per client address.
    pub cache_writes: Limit,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        let default = |spec: rate_limit::LimitSpec| spec.with_max(spec.default_max);
        Self {
            requests: default(rate_limit::DOCUMENT_CLIENTS),
            fetches_per_address: FETCHES_PER_ADDRESS,
            fetches_in_all: FETCHES_IN_ALL,
            cache_writes: default(rate_limit::DOCUMENT_CACHE_WRITES),
        }
    }
}

/// A limit refused the request; try again in `retry_after` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", .limit.refusal(*.retry_after))]
pub struct Limited {
    pub limit: Limit,
    pub retry_after: u64,
}

impl DocumentLimits {
    /// From `rate_limit_document_clients_per_minute` and `rate_limit_document_cache_writes_per_hour`.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        Ok(Self {
            requests: rate_limit::DOCUMENT_CLIENTS.from_variables(vars)?,
            cache_writes: rate_limit::DOCUMENT_CACHE_WRITES.from_variables(vars)?,
            ..Self::default()
        })
    }

    /// Counts a request from `caller` that names a document client.
    pub(super) fn count_request(
        &self,
        store: &dyn KeyValueStore,
        clock: &dyn Clock,
        caller: Option<IpAddr>,
    ) -> Result<(), Limited> {
        hit(&self.requests, store, clock, Subject::Address(caller))
    }

    /// Counts a fetch `caller` is about to start, against its address and against everyone.
    pub(super) fn count_fetch(
        &self,
        store: &dyn KeyValueStore,
        clock: &dyn Clock,
        caller: Option<IpAddr>,
    ) -> Result<(), Limited> {
        hit(&self.fetches_per_address, store, clock, Subject::Address(caller))?;
        hit(&self.fetches_in_all, store, clock, Subject::Everyone)
    }

    /// Counts a cache write for `caller`; false when it is past its cap (then do not write).
    pub(super) fn may_write(&self, store: &dyn KeyValueStore, clock: &dyn Clock, caller: Option<IpAddr>) -> bool {
        hit(&self.cache_writes, store, clock, Subject::Address(caller)).is_ok()
    }
}

fn hit(limit: &Limit, store: &dyn KeyValueStore, clock: &dyn Clock, subject: Subject<'_>) -> Result<(), Limited> {
    match limit.hit(store, clock, subject) {
        Ok(Verdict::Limited { retry_after }) => Err(Limited { limit: *limit, retry_after }),
        // A store that cannot count lets the request through (see `platform::rate_limit`).
        Ok(Verdict::Allowed) | Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore, StaticVariables};

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)));
    const ELSEWHERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9)));

    #[test]
    fn requests_and_cache_writes_come_from_their_variables_fetches_are_fixed() {
        let vars = StaticVariables::new([
            ("rate_limit_document_clients_per_minute", "7"),
            ("rate_limit_document_cache_writes_per_hour", "0"),
        ]);
        let limits = DocumentLimits::from_variables(&vars).unwrap();
        assert_eq!((limits.requests.max, limits.requests.window_secs), (7, 60));
        assert!(limits.cache_writes.is_off());
        assert_eq!((limits.fetches_per_address, limits.fetches_in_all), (FETCHES_PER_ADDRESS, FETCHES_IN_ALL));
        let defaults = DocumentLimits::from_variables(&StaticVariables::default()).unwrap();
        assert_eq!(defaults, DocumentLimits::default());
        assert_eq!((defaults.requests.max, defaults.cache_writes.max), (60, 30));
    }

    #[test]
    fn a_fetch_counts_against_its_address_and_everyone() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_700_000_000));
        let limits = DocumentLimits {
            fetches_per_address: Limit { max: 2, ..FETCHES_PER_ADDRESS },
            fetches_in_all: Limit { max: 3, ..FETCHES_IN_ALL },
            ..DocumentLimits::default()
        };
        assert_eq!(limits.count_fetch(&store, &clock, HOME), Ok(()));
        assert_eq!(limits.count_fetch(&store, &clock, HOME), Ok(()));
        assert_eq!(limits.count_fetch(&store, &clock, HOME).unwrap_err().limit.name, "document_fetches");
        assert_eq!(limits.count_fetch(&store, &clock, ELSEWHERE), Ok(()));
        let everyone = limits.count_fetch(&store, &clock, Some("203.0.113.1".parse().unwrap())).unwrap_err();
        assert_eq!((everyone.limit.name, everyone.retry_after), ("document_fetches_total", 10));
        clock.advance(FETCH_WINDOW_SECS);
        assert_eq!(limits.count_fetch(&store, &clock, HOME), Ok(()), "a new window");
    }

    #[test]
    fn cache_writes_stop_at_the_cap_per_address() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_700_000_000));
        let limits =
            DocumentLimits { cache_writes: rate_limit::DOCUMENT_CACHE_WRITES.with_max(1), ..DocumentLimits::default() };
        assert!(limits.may_write(&store, &clock, HOME));
        assert!(!limits.may_write(&store, &clock, HOME));
        assert!(limits.may_write(&store, &clock, ELSEWHERE));
    }
}
