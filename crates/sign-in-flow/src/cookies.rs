//! The flow's two cookies, both `__Host-` (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax:
//!
//! - the browser cookie: a random id that binds the consent form (CSRF) and the upstream state
//!   to the browser that started the flow; only its hash is stored server-side;
//! - the approval cookie: the (client, redirect URI) pairs this browser approved, HMAC-SHA256
//!   signed with `cookie_encryption_key` (a signing key, whatever its name says), so a later
//!   `/authorize` for the same pair skips the page.
//!
//! Lax is what lets Clerk's top-level redirect to `/callback` carry the browser cookie, while
//! cross-site subresource and form requests cannot.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use platform::secret::hash_hex;
use platform::web::{Request, cookie};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const BROWSER_COOKIE: &str = "__Host-mcp-browser";
pub const APPROVAL_COOKIE: &str = "__Host-mcp-approved";

/// The browser cookie outlives a whole sign-in (consent page + Clerk) with room to spare.
const BROWSER_MAX_AGE: Duration = Duration::hours(1);
/// Remembered approvals last 30 days.
const APPROVAL_MAX_AGE: Duration = Duration::days(30);
/// At most this many remembered (client, redirect URI) pairs; the oldest are dropped.
const MAX_APPROVALS: usize = 20;
/// Domain separation for the approval MAC.
const APPROVAL_CONTEXT: &[u8] = b"mcp-clerk-oauth approved-clients v1\n";

/// `Set-Cookie` for a `__Host-` cookie: Secure, Path=/, no Domain, HttpOnly, SameSite=Lax.
pub(crate) fn set_cookie(name: &'static str, value: String, max_age: Duration) -> String {
    let cookie = Cookie::build((name, value)).path("/").secure(true).http_only(true).same_site(SameSite::Lax);
    cookie.max_age(max_age).build().to_string()
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

/// `Set-Cookie` for the browser id.
pub fn browser_set_cookie(id: &str) -> String {
    set_cookie(BROWSER_COOKIE, id.to_owned(), BROWSER_MAX_AGE)
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

/// The approvals in the request's approval cookie, if its signature is valid (otherwise none:
/// a tampered or foreign cookie is simply ignored).
pub fn approvals(request: &Request, key: &[u8]) -> Vec<String> {
    let Some(value) = cookie(request, APPROVAL_COOKIE) else { return Vec::new() };
    let Some((list, signature)) = value.rsplit_once('.') else { return Vec::new() };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return Vec::new() };
    if mac(key, list).is_none_or(|mac| mac.verify_slice(&signature).is_err()) {
        return Vec::new();
    }
    list.split('-').filter(|e| !e.is_empty()).map(str::to_owned).collect()
}

/// Whether this browser approved `client_id` with exactly `redirect_uri`.
pub fn is_approved(approvals: &[String], client_id: &str, redirect_uri: &str) -> bool {
    let entry = approval_entry(client_id, redirect_uri);
    approvals.contains(&entry)
}

/// `Set-Cookie` remembering `client_id` + `redirect_uri` on top of `existing`.
pub fn approval_set_cookie(key: &[u8], existing: &[String], client_id: &str, redirect_uri: &str) -> Option<String> {
    let entry = approval_entry(client_id, redirect_uri);
    let mut entries: Vec<&str> = existing.iter().map(String::as_str).filter(|e| *e != entry).collect();
    entries.push(&entry);
    let skip = entries.len().saturating_sub(MAX_APPROVALS);
    let list = entries[skip..].join("-");
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &list)?.finalize().into_bytes());
    Some(set_cookie(APPROVAL_COOKIE, format!("{list}.{signature}"), APPROVAL_MAX_AGE))
}

/// `Set-Cookie` forgetting the approvals of `client_id` with any of `redirect_uris` (so the next
/// `/authorize` for them shows the consent page again), or `None` when none was remembered.
pub fn approval_forget_set_cookie(
    key: &[u8],
    existing: &[String],
    client_id: &str,
    redirect_uris: &[String],
) -> Option<String> {
    let forgotten: Vec<String> = redirect_uris.iter().map(|uri| approval_entry(client_id, uri)).collect();
    let kept: Vec<&str> = existing.iter().map(String::as_str).filter(|e| !forgotten.iter().any(|f| f == e)).collect();
    if kept.len() == existing.len() {
        return None;
    }
    if kept.is_empty() {
        return Some(set_cookie(APPROVAL_COOKIE, String::new(), Duration::ZERO));
    }
    let list = kept.join("-");
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &list)?.finalize().into_bytes());
    Some(set_cookie(APPROVAL_COOKIE, format!("{list}.{signature}"), APPROVAL_MAX_AGE))
}

/// The approval MAC over `list`. (HMAC takes keys of any length, so `None` does not happen in
/// practice; callers then treat the cookie as absent.)
fn mac(key: &[u8], list: &str) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(APPROVAL_CONTEXT);
    mac.update(list.as_bytes());
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[7u8; 32];

    fn with_cookie(set_cookie: &str) -> Request {
        let pair = set_cookie.split(';').next().unwrap();
        http::Request::builder().header("cookie", pair).body(Vec::new()).unwrap()
    }

    #[test]
    fn approval_cookie_round_trips_for_the_same_client_and_redirect_uri() {
        let set = approval_set_cookie(KEY, &[], "c1", "https://app.example/cb").unwrap();
        let list = approvals(&with_cookie(&set), KEY);
        assert!(is_approved(&list, "c1", "https://app.example/cb"));
        assert!(!is_approved(&list, "c1", "https://other.example/cb"), "bound to the redirect URI");
        assert!(!is_approved(&list, "c2", "https://app.example/cb"), "bound to the client");
    }

    #[test]
    fn approval_cookie_has_host_prefix_and_safe_attributes() {
        let set = approval_set_cookie(KEY, &[], "c1", "https://app.example/cb").unwrap();
        assert!(set.starts_with("__Host-"));
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(set.contains(attr), "{attr} in {set}");
        }
        assert!(!set.contains("Domain"));
    }

    #[test]
    fn tampered_approval_cookie_is_ignored() {
        let set = approval_set_cookie(KEY, &[], "c1", "https://app.example/cb").unwrap();
        let forged = set.replacen("__Host-mcp-approved=", "__Host-mcp-approved=0", 1);
        assert!(approvals(&with_cookie(&forged), KEY).is_empty());
        assert!(approvals(&with_cookie(&set), &[8u8; 32]).is_empty(), "another key");
        assert!(approvals(&with_cookie("__Host-mcp-approved=garbage"), KEY).is_empty());
    }

    #[test]
    fn approval_list_keeps_only_the_most_recent() {
        let mut list = Vec::new();
        for i in 0..(MAX_APPROVALS + 5) {
            let set = approval_set_cookie(KEY, &list, &format!("c{i}"), "https://a/cb").unwrap();
            list = approvals(&with_cookie(&set), KEY);
        }
        assert_eq!(list.len(), MAX_APPROVALS);
        assert!(is_approved(&list, &format!("c{}", MAX_APPROVALS + 4), "https://a/cb"));
        assert!(!is_approved(&list, "c0", "https://a/cb"));
    }

    #[test]
    fn forgetting_a_client_drops_its_approvals_and_keeps_the_others_signed() {
        let set = approval_set_cookie(KEY, &[], "c1", "https://a/cb").unwrap();
        let set = approval_set_cookie(KEY, &approvals(&with_cookie(&set), KEY), "c1", "http://127.0.0.1:5/cb").unwrap();
        let set = approval_set_cookie(KEY, &approvals(&with_cookie(&set), KEY), "c2", "https://a/cb").unwrap();
        let list = approvals(&with_cookie(&set), KEY);
        let uris = ["https://a/cb".to_owned(), "http://127.0.0.1:5/cb".to_owned()];
        let forgot = approval_forget_set_cookie(KEY, &list, "c1", &uris).unwrap();
        let left = approvals(&with_cookie(&forgot), KEY);
        assert!(!is_approved(&left, "c1", "https://a/cb") && !is_approved(&left, "c1", "http://127.0.0.1:5/cb"));
        assert!(is_approved(&left, "c2", "https://a/cb"));
        assert_eq!(approval_forget_set_cookie(KEY, &left, "c1", &uris), None, "nothing left to forget");
        let cleared = approval_forget_set_cookie(KEY, &left, "c2", &uris).unwrap();
        assert!(cleared.starts_with("__Host-mcp-approved=;") && cleared.contains("Max-Age=0"), "{cleared}");
    }

    #[test]
    fn malformed_browser_cookie_is_ignored() {
        let request = with_cookie("__Host-mcp-browser=short");
        assert_eq!(browser_id(&request), None);
    }
}
