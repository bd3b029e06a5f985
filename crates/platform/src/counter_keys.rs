//! The keys of counters, which hold a number and no record header: a record's helper counters
//! (`<record key>#claim`, `<record key>#seq`) and expiring counters (`<name>#until=<unix
//! seconds>`). The expiry index and the sweep recognise them by their names alone
//! (`crate::housekeeping`); `crate::record` uses them to claim records and count.

/// Separates a record key from the name of one of its helper keys.
const HELPER_SEPARATOR: char = '#';

/// A counter that belongs to a record, at `<record key>#<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    /// How many callers tried to claim the record ([`crate::record::claim`]).
    Claim,
    /// The last number handed out by [`next_number`] (e.g. an SSE session's message sequence).
    Sequence,
}

impl Helper {
    pub(crate) const ALL: [Helper; 2] = [Helper::Claim, Helper::Sequence];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Helper::Claim => "claim",
            Helper::Sequence => "seq",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Helper> {
        Helper::ALL.into_iter().find(|helper| helper.name() == name)
    }

    /// The key of this helper of the record at `record_key`.
    pub fn key(self, record_key: &str) -> String {
        format!("{record_key}{HELPER_SEPARATOR}{}", self.name())
    }
}

/// What follows [`HELPER_SEPARATOR`] in the key of an expiring counter, before its expiry.
const UNTIL: &str = "until=";

/// The key of a counter named `name` that expires at `expires_at` (Unix seconds):
/// `<name>#until=<expires_at>`. Read it only with `increment(key, 0)`, like every counter.
pub fn expiring_counter_key(name: &str, expires_at: u64) -> String {
    format!("{name}{HELPER_SEPARATOR}{UNTIL}{expires_at}")
}

/// When the counter at `key` expires, if `key` names an expiring counter.
pub fn counter_expiry(key: &str) -> Option<u64> {
    key.rsplit_once(HELPER_SEPARATOR)?.1.strip_prefix(UNTIL)?.parse().ok()
}

/// The record key a helper key belongs to, or `None` when `key` is not a helper key.
pub fn helper_owner(key: &str) -> Option<&str> {
    let (owner, name) = key.rsplit_once(HELPER_SEPARATOR)?;
    Helper::ALL.iter().any(|h| h.name() == name).then_some(owner)
}
