//! The flow's two cookies, both `__Host-` (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax:
//!
//! - the browser cookie: a random id that binds the consent form (CSRF) and the upstream state
//!   to the browser that started the flow; only its hash is stored server-side;
//! - the approval cookie: the (client, redirect URI) pairs the last user who signed in here
//!   approved, and a tag of that user, HMAC-SHA256 signed with `cookie_encryption_key` (a signing
//!   key, whatever its name says). It is only a hint: a later `/authorize` for the same pair skips
//!   the consent page before Clerk, and the server then checks its own record of the approval
//!   for whoever Clerk signs in (`crate::approvals`). It is written when a sign-in completes, for
//!   the user who signed in, so a second person on a shared browser replaces the first one's
//!   approvals instead of adding to them.
//!
//! Lax is what lets Clerk's top-level redirect to `/callback` carry the browser cookie, while
//! cross-site subresource and form requests cannot.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use platform::secret::{RandomError, hash_hex, random_token};
use platform::web::{Request, cookie};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const BROWSER_COOKIE: &str = "__Host-mcp-browser";
pub const APPROVAL_COOKIE: &str = "__Host-mcp-approved";

/// The browser cookie outlives a whole sign-in (consent page + Clerk) with room to spare.
const BROWSER_MAX_AGE: u64 = 3600;
/// Remembered approvals last 30 days.
const APPROVAL_MAX_AGE: u64 = 30 * 24 * 3600;
/// At most this many remembered (client, redirect URI) pairs; the oldest are dropped.
const MAX_APPROVALS: usize = 20;
/// Domain separation for the approval MAC (v1 cookies, without a user, are ignored).
const APPROVAL_CONTEXT: &[u8] = b"mcp-clerk-oauth approved-clients v2\n";
/// Separates the user tag from the entries in the signed list.
const USER_SEPARATOR: char = '~';

/// `Set-Cookie` for a `__Host-` cookie: Secure, Path=/, no Domain, HttpOnly, SameSite=Lax, kept
/// `max_age` seconds (0 removes it). `value` is one of ours: base64url, hex and `-~.` only, which
/// a cookie value may hold as is.
pub(crate) fn set_cookie(name: &'static str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age={max_age}")
}

/// The browser id from the request, if it has the shape we issue (43 base64url characters).
pub fn browser_id(request: &Request) -> Option<String> {
    random_token_cookie(request, BROWSER_COOKIE)
}

/// The value of cookie `name` if it has the shape of a random token we issue (43 base64url
/// characters, `platform::secret::random_token`); anything else is ignored.
pub(crate) fn random_token_cookie(request: &Request, name: &str) -> Option<String> {
    cookie(request, name)
        .filter(|id| id.len() == 43 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// This browser's id, or a fresh one with the `Set-Cookie` that gives it to the browser.
pub(crate) fn browser_or_new(request: &Request) -> Result<(String, Vec<String>), RandomError> {
    Ok(match browser_id(request) {
        Some(id) => (id, Vec::new()),
        None => {
            let id = random_token()?;
            let set_cookie = browser_set_cookie(&id);
            (id, vec![set_cookie])
        }
    })
}

/// `Set-Cookie` for the browser id.
pub fn browser_set_cookie(id: &str) -> String {
    set_cookie(BROWSER_COOKIE, id, BROWSER_MAX_AGE)
}

/// The stored form of a browser id.
pub fn browser_hash(id: &str) -> String {
    hash_hex(id)
}

/// Whether `request` comes from the browser whose id hashes to `stored_hash` (compared in
/// constant time: the hash is what a record binds a flow to, so timing must not leak it).
pub fn is_same_browser(request: &Request, stored_hash: &str) -> bool {
    browser_id(request).is_some_and(|id| same_secret(&browser_hash(&id), stored_hash))
}

/// Constant-time equality of two secret-derived strings.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// One remembered approval: a hash of the client id and the exact redirect URI.
fn approval_entry(client_id: &str, redirect_uri: &str) -> String {
    hash_hex(&format!("{client_id}\n{redirect_uri}"))[..32].to_owned()
}

/// Names the user an approval cookie belongs to (a hash: the cookie does not carry the id).
fn user_tag(user_id: &str) -> String {
    hash_hex(&format!("approval user\n{user_id}"))[..16].to_owned()
}

/// What the request's approval cookie says, if its signature is valid (otherwise nothing: a
/// tampered, foreign or older cookie is simply ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvals {
    /// The user who approved them ([`user_tag`]).
    user: String,
    entries: Vec<String>,
}

impl Approvals {
    /// Whether this browser remembers an approval of `client_id` with exactly `redirect_uri`.
    pub fn contains(&self, client_id: &str, redirect_uri: &str) -> bool {
        self.entries.contains(&approval_entry(client_id, redirect_uri))
    }

    fn for_user(&self, user_id: &str) -> Vec<&str> {
        if self.user == user_tag(user_id) { self.entries.iter().map(String::as_str).collect() } else { Vec::new() }
    }
}

/// The approvals in the request's approval cookie.
pub fn approvals(request: &Request, key: &[u8]) -> Approvals {
    let Some(value) = cookie(request, APPROVAL_COOKIE) else { return Approvals::default() };
    let Some((list, signature)) = value.rsplit_once('.') else { return Approvals::default() };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return Approvals::default() };
    if mac(key, list).is_none_or(|mac| mac.verify_slice(&signature).is_err()) {
        return Approvals::default();
    }
    let Some((user, entries)) = list.split_once(USER_SEPARATOR) else { return Approvals::default() };
    let entries = entries.split('-').filter(|e| !e.is_empty()).map(str::to_owned).collect();
    Approvals { user: user.to_owned(), entries }
}

/// `Set-Cookie` remembering that `user_id` approved `client_id` + `redirect_uri`, on top of the
/// approvals the cookie holds for that same user (another user's are dropped).
pub fn approval_set_cookie(
    key: &[u8],
    existing: &Approvals,
    user_id: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Option<String> {
    let entry = approval_entry(client_id, redirect_uri);
    let mut entries: Vec<&str> = existing.for_user(user_id).into_iter().filter(|e| *e != entry).collect();
    entries.push(&entry);
    let skip = entries.len().saturating_sub(MAX_APPROVALS);
    signed_approvals(key, &user_tag(user_id), &entries[skip..])
}

/// `Set-Cookie` forgetting the approvals of `client_id` with any of `redirect_uris` (so the next
/// `/authorize` for them shows the consent page again), or `None` when none was remembered.
pub fn approval_forget_set_cookie(
    key: &[u8],
    existing: &Approvals,
    client_id: &str,
    redirect_uris: &[String],
) -> Option<String> {
    approvals_forget_set_cookie(key, existing, &[(client_id, redirect_uris)])
}

/// [`approval_forget_set_cookie`] for several clients at once (one `Set-Cookie`).
pub fn approvals_forget_set_cookie(key: &[u8], existing: &Approvals, clients: &[(&str, &[String])]) -> Option<String> {
    let forgotten: Vec<String> = clients
        .iter()
        .flat_map(|(client_id, redirect_uris)| redirect_uris.iter().map(|uri| approval_entry(client_id, uri)))
        .collect();
    let kept: Vec<&str> =
        existing.entries.iter().map(String::as_str).filter(|e| !forgotten.iter().any(|f| f == e)).collect();
    if kept.len() == existing.entries.len() {
        return None;
    }
    if kept.is_empty() {
        return Some(set_cookie(APPROVAL_COOKIE, "", 0));
    }
    signed_approvals(key, &existing.user, &kept)
}

/// `Set-Cookie` for the signed list of `user`'s `entries`.
fn signed_approvals(key: &[u8], user: &str, entries: &[&str]) -> Option<String> {
    let list = format!("{user}{USER_SEPARATOR}{}", entries.join("-"));
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &list)?.finalize().into_bytes());
    Some(set_cookie(APPROVAL_COOKIE, &format!("{list}.{signature}"), APPROVAL_MAX_AGE))
}

/// The approval MAC over `list`. (HMAC takes keys of any length, so `None` does not happen in
/// practice; callers then treat the cookie as absent.)
fn mac(key: &[u8], list: &str) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(APPROVAL_CONTEXT);
    mac.update(list.as_bytes());
    Some(mac)
}

/// A token that proves a form was served to the holder of `secret` (a cookie's value): the
/// HMAC-SHA256 of `secret` under `key`, separated by `context`, base64url. Needs no storage.
pub(crate) fn form_token(key: &[u8], context: &[u8], secret: &str) -> String {
    // HMAC takes keys of any length; were it ever to refuse one, every token would be empty
    // and match nothing a form could carry but the empty string, which callers refuse first.
    let bytes = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(context);
            mac.update(secret.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `presented` is the non-empty [`form_token`] for `secret` (compared in constant time).
pub(crate) fn form_token_matches(key: &[u8], context: &[u8], secret: &str, presented: &str) -> bool {
    !presented.is_empty() && same_secret(&form_token(key, context, secret), presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[7u8; 32];

    fn with_cookie(set_cookie: &str) -> Request {
        let pair = set_cookie.split(';').next().unwrap();
        http::Request::builder().header("cookie", pair).body(Vec::new()).unwrap()
    }

    const NONE: Approvals = Approvals { user: String::new(), entries: Vec::new() };

    #[test]
    fn approval_cookie_round_trips_for_the_same_client_and_redirect_uri() {
        let set = approval_set_cookie(KEY, &NONE, "user_1", "c1", "https://app.example/cb").unwrap();
        let list = approvals(&with_cookie(&set), KEY);
        assert!(list.contains("c1", "https://app.example/cb"));
        assert!(!list.contains("c1", "https://other.example/cb"), "bound to the redirect URI");
        assert!(!list.contains("c2", "https://app.example/cb"), "bound to the client");
        assert!(!set.contains("user_1"), "the cookie names its user by a hash only: {set}");
    }

    #[test]
    fn another_users_approval_replaces_the_cookie_instead_of_adding_to_it() {
        let set = approval_set_cookie(KEY, &NONE, "user_1", "c1", "https://a/cb").unwrap();
        let set =
            approval_set_cookie(KEY, &approvals(&with_cookie(&set), KEY), "user_1", "c2", "https://a/cb").unwrap();
        let first = approvals(&with_cookie(&set), KEY);
        assert!(first.contains("c1", "https://a/cb") && first.contains("c2", "https://a/cb"));
        let set = approval_set_cookie(KEY, &first, "user_2", "c3", "https://a/cb").unwrap();
        let second = approvals(&with_cookie(&set), KEY);
        assert!(second.contains("c3", "https://a/cb"));
        assert!(!second.contains("c1", "https://a/cb") && !second.contains("c2", "https://a/cb"), "{second:?}");
    }

    #[test]
    fn a_cookie_of_the_previous_release_is_ignored() {
        let list = hash_hex("c1\nhttps://a/cb")[..32].to_owned();
        let mut v1 = <Hmac<Sha256> as Mac>::new_from_slice(KEY).unwrap();
        v1.update(b"mcp-clerk-oauth approved-clients v1\n");
        v1.update(list.as_bytes());
        let value = format!("{list}.{}", URL_SAFE_NO_PAD.encode(v1.finalize().into_bytes()));
        assert_eq!(approvals(&with_cookie(&format!("{APPROVAL_COOKIE}={value}")), KEY), NONE);
    }

    #[test]
    fn approval_cookie_has_host_prefix_and_safe_attributes() {
        let set = approval_set_cookie(KEY, &NONE, "u", "c1", "https://app.example/cb").unwrap();
        assert!(set.starts_with("__Host-"));
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"] {
            assert!(set.contains(attr), "{attr} in {set}");
        }
        assert!(!set.contains("Domain"));
        assert!(browser_set_cookie("id").ends_with("; Max-Age=3600"), "an hour");
    }

    #[test]
    fn tampered_approval_cookie_is_ignored() {
        let set = approval_set_cookie(KEY, &NONE, "u", "c1", "https://app.example/cb").unwrap();
        let forged = set.replacen("__Host-mcp-approved=", "__Host-mcp-approved=0", 1);
        assert_eq!(approvals(&with_cookie(&forged), KEY), NONE);
        assert_eq!(approvals(&with_cookie(&set), &[8u8; 32]), NONE, "another key");
        assert_eq!(approvals(&with_cookie("__Host-mcp-approved=garbage"), KEY), NONE);
    }

    #[test]
    fn approval_list_keeps_only_the_most_recent() {
        let mut list = NONE;
        for i in 0..(MAX_APPROVALS + 5) {
            let set = approval_set_cookie(KEY, &list, "u", &format!("c{i}"), "https://a/cb").unwrap();
            list = approvals(&with_cookie(&set), KEY);
        }
        assert_eq!(list.entries.len(), MAX_APPROVALS);
        assert!(list.contains(&format!("c{}", MAX_APPROVALS + 4), "https://a/cb"));
        assert!(!list.contains("c0", "https://a/cb"));
    }

    #[test]
    fn forgetting_a_client_drops_its_approvals_and_keeps_the_others_signed() {
        let set = approval_set_cookie(KEY, &NONE, "u", "c1", "https://a/cb").unwrap();
        let set =
            approval_set_cookie(KEY, &approvals(&with_cookie(&set), KEY), "u", "c1", "http://127.0.0.1:5/cb").unwrap();
        let set = approval_set_cookie(KEY, &approvals(&with_cookie(&set), KEY), "u", "c2", "https://a/cb").unwrap();
        let list = approvals(&with_cookie(&set), KEY);
        let uris = ["https://a/cb".to_owned(), "http://127.0.0.1:5/cb".to_owned()];
        let forgot = approval_forget_set_cookie(KEY, &list, "c1", &uris).unwrap();
        let left = approvals(&with_cookie(&forgot), KEY);
        assert!(!left.contains("c1", "https://a/cb") && !left.contains("c1", "http://127.0.0.1:5/cb"));
        assert!(left.contains("c2", "https://a/cb"));
        assert_eq!(left.user, list.user, "still the same user's");
        assert_eq!(approval_forget_set_cookie(KEY, &left, "c1", &uris), None, "nothing left to forget");
        let cleared = approval_forget_set_cookie(KEY, &left, "c2", &uris).unwrap();
        assert!(cleared.starts_with("__Host-mcp-approved=;") && cleared.contains("Max-Age=0"), "{cleared}");
    }

    #[test]
    fn form_tokens_belong_to_one_secret_key_and_context() {
        let token = form_token(KEY, b"a", "secret");
        assert!(form_token_matches(KEY, b"a", "secret", &token));
        assert!(!form_token_matches(KEY, b"a", "other", &token), "another secret");
        assert!(!form_token_matches(KEY, b"b", "secret", &token), "another context");
        assert!(!form_token_matches(&[1u8; 32], b"a", "secret", &token), "another key");
        assert!(!form_token_matches(KEY, b"a", "secret", ""));
    }

    #[test]
    fn malformed_browser_cookie_is_ignored() {
        let request = with_cookie("__Host-mcp-browser=short");
        assert_eq!(browser_id(&request), None);
    }
}
