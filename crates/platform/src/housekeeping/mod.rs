//! Deleting what has expired, on a store with no expiry of its own and no prefix scan.
//!
//! Spin's key-value API (`fermyon:spin/key-value`, `spin:key-value@3.0.0`, `wasi:keyvalue`
//! 2024-10-17, in every release from 3.5 to 4.0.2) has get, set, delete, exists, get-keys,
//! increment and batch calls, but no way to give a key a lifetime, even on backends that have
//! one (Redis `EXPIRE`). So every record carries its own `expires_at`, and three parts make sure
//! that what expired is deleted even if no request ever reads it again:
//!
//! - [`index`]: every expiring key is registered, when it is written, under the minute it
//!   expires in (two writes: an `increment` for a slot number, a `set` of the slot).
//! - [`sweep`]: walks the minutes that are over, in order, and settles each entry: an expired
//!   record goes with its helper keys, a renewed one stays. No key listing.
//! - [`migration`]: once per store, sets the index up over what an older release left.
//!
//! **Who sweeps, and how much.** Spin has no timers and runs a fresh instance per request, so
//! sweeping rides on requests, after their response is sent ([`after_response`]). A request
//! that registered `n` entries sweeps up to `2n + 8` due entries (at most 64): deletion is paid
//! by creation, so it keeps up at any rate of creation, with bounded work per request, and a
//! request that created nothing (such as every `/mcp` call) does nothing at all. When a sweep
//! stops at its budget with more due (after a burst, or an upgrade), the request also tries for
//! the catch-up turn of these [`TURN_SECS`] seconds, which one request gets (an atomic
//! `increment`), and sweeps up to [`CATCH_UP_ENTRIES`] more; while the index is being set up,
//! that turn runs a step of the [`migration`] instead. A store that is behind thus catches up
//! at up to 6,000 entries a minute under light traffic (a request every 10 seconds).

pub mod index;
pub mod migration;
pub mod sweep;

use crate::record::{self, RecordError};
use crate::{Clock, KeyValueStore};
use migration::Migrated;
use sweep::Swept;

/// Entries a request sweeps for each entry it registered, and on top of those.
const SHARE_PER_ENTRY: u64 = 2;
const SHARE_BASE: u64 = 8;
/// The most entries one request sweeps as its share.
const MAX_SHARE: u64 = 64;

/// Entries the catch-up turn sweeps.
pub const CATCH_UP_ENTRIES: usize = 1_000;
/// Keys one turn of the index set-up handles (a read and, for a live record, two writes each).
pub const MIGRATION_KEYS_PER_TURN: usize = 1_000;

/// The catch-up turns: one per [`TURN_SECS`], an expiring counter that the sweep deletes.
const TURN: &str = "expiry:turn:";
/// How often a catch-up turn is there to take.
pub const TURN_SECS: u64 = 10;

/// True for keys of the expiry index and the sweep's own (`expiry:`), which are not records.
pub fn is_housekeeping_key(key: &str) -> bool {
    key.starts_with(index::PREFIX)
}

/// What the housekeeping after one response did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The request's own share.
    pub share: Option<Swept>,
    /// The catch-up turn, when the request got it and the index was set up.
    pub catch_up: Option<Swept>,
    /// The set-up turn, when the request got it and the index was not set up yet.
    pub migration: Option<Migrated>,
}

/// The housekeeping a request owes once its response is out: its share of the sweep, in
/// proportion to what it registered in the expiry index, and the catch-up turn when the sweep
/// is behind (see the module documentation). A request that registered nothing returns at once
/// without touching the store.
pub fn after_response(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<Report, RecordError> {
    let registered = index::take_registered();
    if registered == 0 {
        return Ok(Report::default());
    }
    let share = usize::try_from((registered * SHARE_PER_ENTRY + SHARE_BASE).min(MAX_SHARE)).unwrap_or(8);
    let mut report = Report { share: sweep::sweep_due(store, clock, share)?, ..Report::default() };
    let behind = report.share.is_none_or(|swept| swept.backlog);
    if behind && claim_turn(store, clock)? {
        match sweep::sweep_due(store, clock, CATCH_UP_ENTRIES)? {
            Some(swept) => report.catch_up = Some(swept),
            None => report.migration = Some(migration::step(store, clock, MIGRATION_KEYS_PER_TURN)?),
        }
    }
    // What housekeeping itself registered (its turn counter) is not owed by the next request.
    index::take_registered();
    Ok(report)
}

/// Sets the index up if the store has none, then sweeps every due entry, with no budget; how
/// many keys it deleted. For tests and maintenance tools: requests use [`after_response`].
pub fn sweep_all(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<usize, RecordError> {
    let mut deleted = 0;
    loop {
        match sweep::sweep_due(store, clock, CATCH_UP_ENTRIES)? {
            Some(swept) => {
                deleted += swept.deleted;
                if !swept.backlog {
                    return Ok(deleted);
                }
            }
            None => deleted += migration::step(store, clock, MIGRATION_KEYS_PER_TURN)?.deleted,
        }
    }
}

/// True for the one caller that gets the current catch-up turn.
fn claim_turn(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<bool, RecordError> {
    let turn = clock.now_unix() / TURN_SECS;
    let key = record::expiring_counter_key(&format!("{TURN}{turn}"), (turn + 1) * TURN_SECS);
    Ok(record::add_to_counter(store, &key, 1)? == 1)
}

#[cfg(test)]
mod tests;
