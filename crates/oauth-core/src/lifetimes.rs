//! How long each thing lives, in seconds.

/// Access tokens: short-lived, so a revoked or downgraded user loses access within the hour.
pub const ACCESS_TOKEN_TTL: u64 = 60 * 60;
/// Refresh tokens: 30 days from issue; every rotation issues a fresh 30-day token, so a grant
/// that is used at least monthly lives on (the user's role is re-read at every refresh).
pub const REFRESH_TOKEN_TTL: u64 = 30 * 24 * 60 * 60;
/// Authorization codes (and the pending grant behind them).
pub const AUTHORIZATION_CODE_TTL: u64 = 10 * 60;
/// Registered clients expire after this long without use.
pub const CLIENT_IDLE_TTL: u64 = 90 * 24 * 60 * 60;
/// A registration that has never completed a token exchange expires after this long: anyone
/// may register (100 an hour per address by default), and a client registers right before it
/// sends its user to sign in, so a registration nobody used within a day was abandoned (or made
/// to fill the store). Its first token exchange gives it [`CLIENT_IDLE_TTL`].
pub const CLIENT_UNUSED_TTL: u64 = 24 * 60 * 60;
/// A client's last-used time is written at most this often, to avoid a write per request.
pub const CLIENT_TOUCH_INTERVAL: u64 = 24 * 60 * 60;
/// An entry of a user's grant index ([`crate::connected_apps`]) lives this long. A live grant's
/// entry is renewed by the token issue that would otherwise let the grant outlive it, so it
/// always outlives its grant by at least [`USER_INDEX_RENEW_MARGIN`].
pub const USER_INDEX_ENTRY_TTL: u64 = 45 * 24 * 60 * 60;
/// How long before its grant could outlive it an index entry is renewed.
pub const USER_INDEX_RENEW_MARGIN: u64 = 24 * 60 * 60;
/// Index entries are numbered per period of this length (a counter each), so a listing reads
/// the counters of the few periods an unexpired entry can be in and nothing older.
pub const USER_INDEX_PERIOD: u64 = 15 * 24 * 60 * 60;
