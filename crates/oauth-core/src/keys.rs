//! The one place that names oauth-core's key-value keys (prefix `oauth:`).
//!
//! Secrets (codes, access and refresh tokens) enter keys only as SHA-256 hex hashes, which this
//! module computes itself so no caller can put a raw secret in a key by mistake. Every key is
//! well under Spin's 250-byte limit: a prefix plus 64 hex characters or a validated id.

use platform::secret::hash_hex;

const CLIENT: &str = "oauth:client:";
const GRANT: &str = "oauth:grant:";
const CODE: &str = "oauth:code:";
const ACCESS: &str = "oauth:access:";
const REFRESH: &str = "oauth:refresh:";
const REVOKED: &str = "oauth:revoked:";
const ROTATION: &str = "oauth:rotation:";
const CLIENT_DOCUMENT: &str = "oauth:cimd:";
const REFUSED_DOCUMENT: &str = "oauth:cimd-refused:";
const NETWORK_CHECK: &str = "oauth:cimd-network-check";
const USER_INDEX: &str = "oauth:user-index:";
const USER_SLOT: &str = "oauth:user-slot:";
const USER_ENDED: &str = "oauth:user-ended:";
const ALL_INDEX: &str = "oauth:all-index:";
const ALL_SLOT: &str = "oauth:all-slot:";
const CLIENT_BLOCKED: &str = "oauth:client-blocked:";
const CLIENT_BLOCKS: &str = "oauth:client-blocks";

/// Which record a key of this namespace holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Client,
    Grant,
    Code,
    AccessToken,
    RefreshToken,
    RevokedGrant,
    Rotation,
    ClientDocument,
    /// A client metadata document refused a moment ago.
    RefusedDocument,
    /// The last private-network check, for the metadata document.
    NetworkCheck,
    /// One period of a user's grant index (the owner of its entry counter).
    UserIndexPeriod,
    /// One entry of a user's grant index.
    UserIndexEntry,
    /// The user's access was ended (deleted or banned in Clerk).
    UserAccessEnded,
    /// One period of the deployment's grant index (the owner of its entry counter).
    AllIndexPeriod,
    /// One entry of the deployment's grant index.
    AllIndexEntry,
    /// A client the operator blocked.
    ClientBlock,
    /// The list of blocked clients (the console's).
    ClientBlockList,
}

/// The kind of record under `key`, or `None` for keys that are not oauth-core records.
pub fn kind_of(key: &str) -> Option<RecordKind> {
    [
        (CLIENT, RecordKind::Client),
        (GRANT, RecordKind::Grant),
        (CODE, RecordKind::Code),
        (ACCESS, RecordKind::AccessToken),
        (REFRESH, RecordKind::RefreshToken),
        (REVOKED, RecordKind::RevokedGrant),
        (ROTATION, RecordKind::Rotation),
        (CLIENT_DOCUMENT, RecordKind::ClientDocument),
        (REFUSED_DOCUMENT, RecordKind::RefusedDocument),
        (NETWORK_CHECK, RecordKind::NetworkCheck),
        (USER_INDEX, RecordKind::UserIndexPeriod),
        (USER_SLOT, RecordKind::UserIndexEntry),
        (USER_ENDED, RecordKind::UserAccessEnded),
        (ALL_INDEX, RecordKind::AllIndexPeriod),
        (ALL_SLOT, RecordKind::AllIndexEntry),
        (CLIENT_BLOCKED, RecordKind::ClientBlock),
        (CLIENT_BLOCKS, RecordKind::ClientBlockList),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| key.starts_with(prefix).then_some(kind))
}

/// The longest identifier (client id, grant id) accepted into a key.
const MAX_ID_LEN: usize = 64;

/// True when `id` could be an identifier this server issued (base64url, bounded length).
/// Anything else is treated as unknown without touching the store.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The hash under which a secret (token or code) is stored and listed.
pub fn secret_hash(secret: &str) -> String {
    hash_hex(secret)
}

/// `oauth:client:<client_id>`, or `None` for an id this server cannot have issued.
pub fn client(client_id: &str) -> Option<String> {
    is_valid_id(client_id).then(|| format!("{CLIENT}{client_id}"))
}

/// `oauth:grant:<grant_id>`, or `None` for a malformed id.
pub fn grant(grant_id: &str) -> Option<String> {
    is_valid_id(grant_id).then(|| format!("{GRANT}{grant_id}"))
}

/// `oauth:revoked:<grant_id>`, or `None` for a malformed id.
pub fn revoked(grant_id: &str) -> Option<String> {
    is_valid_id(grant_id).then(|| format!("{REVOKED}{grant_id}"))
}

/// `oauth:rotation:<sha256(refresh token)>`.
pub fn rotation(refresh_token: &str) -> String {
    format!("{ROTATION}{}", secret_hash(refresh_token))
}

/// `oauth:cimd:<sha256(client_id URL)>`: a cached client metadata document (URLs are too long
/// and too free-form for a key).
pub fn client_document(client_id_url: &str) -> String {
    format!("{CLIENT_DOCUMENT}{}", hash_hex(client_id_url))
}

/// `oauth:cimd-refused:<sha256(client_id URL)>`: that URL's document was refused a moment ago.
pub fn refused_document(client_id_url: &str) -> String {
    format!("{REFUSED_DOCUMENT}{}", hash_hex(client_id_url))
}

/// `oauth:cimd-network-check`: the last private-network check (one key for the deployment).
pub fn network_check() -> String {
    NETWORK_CHECK.to_owned()
}

/// `oauth:user-index:<sha256(user id)>:<period>`: one period of the user's grant index, whose
/// `#seq` counter numbers the entries of that period. The user id enters as a hash, so any id
/// Clerk sends makes a short key of safe characters.
pub fn user_index_period(user_id: &str, period: u64) -> String {
    format!("{USER_INDEX}{}:{period}", hash_hex(user_id))
}

/// `oauth:user-slot:<sha256(user id)>:<period>:<number>`: entry `number` of that period.
pub fn user_index_entry(user_id: &str, period: u64, number: i64) -> String {
    format!("{USER_SLOT}{}:{period}:{number}", hash_hex(user_id))
}

/// `oauth:all-index:<period>`: one period of the deployment's grant index (the operator
/// console), whose `#seq` counter numbers the entries of that period.
pub fn all_index_period(period: u64) -> String {
    format!("{ALL_INDEX}{period}")
}

/// `oauth:all-slot:<period>:<number>`: entry `number` of that period.
pub fn all_index_entry(period: u64, number: i64) -> String {
    format!("{ALL_SLOT}{period}:{number}")
}

/// `oauth:client-blocked:<sha256(client id)>`: the operator blocked this client (any client
/// id, a document URL included, makes a short key).
pub fn client_block(client_id: &str) -> String {
    format!("{CLIENT_BLOCKED}{}", hash_hex(client_id))
}

/// `oauth:client-blocks`: the list of blocked clients (one key for the deployment).
pub fn client_blocks() -> String {
    CLIENT_BLOCKS.to_owned()
}

/// `oauth:user-ended:<sha256(user id)>`: when the user's access was ended
/// ([`crate::user_access`]).
pub fn user_ended(user_id: &str) -> String {
    format!("{USER_ENDED}{}", hash_hex(user_id))
}

/// `oauth:code:<sha256(code)>`.
pub fn code(code: &str) -> String {
    format!("{CODE}{}", secret_hash(code))
}

/// `oauth:access:<sha256(token)>`.
pub fn access_token(token: &str) -> String {
    access_token_by_hash(&secret_hash(token))
}

/// The access-token key for a hash kept on a grant (for revocation).
pub fn access_token_by_hash(hash: &str) -> String {
    format!("{ACCESS}{hash}")
}

/// `oauth:refresh:<sha256(token)>`.
pub fn refresh_token(token: &str) -> String {
    refresh_token_by_hash(&secret_hash(token))
}

/// The refresh-token key for a hash kept on a grant (for revocation).
pub fn refresh_token_by_hash(hash: &str) -> String {
    format!("{REFRESH}{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_hold_only_the_hash() {
        let key = access_token("secret-token");
        assert!(!key.contains("secret-token"));
        assert_eq!(key, format!("oauth:access:{}", hash_hex("secret-token")));
    }

    #[test]
    fn every_record_key_has_a_kind() {
        assert_eq!(kind_of(&access_token("t")), Some(RecordKind::AccessToken));
        assert_eq!(kind_of(&refresh_token("t")), Some(RecordKind::RefreshToken));
        assert_eq!(kind_of(&code("c")), Some(RecordKind::Code));
        assert_eq!(kind_of(&client("abc").unwrap()), Some(RecordKind::Client));
        assert_eq!(kind_of(&grant("abc").unwrap()), Some(RecordKind::Grant));
        assert_eq!(kind_of(&revoked("abc").unwrap()), Some(RecordKind::RevokedGrant));
        assert_eq!(kind_of(&rotation("t")), Some(RecordKind::Rotation));
        assert_eq!(kind_of(&client_document("https://a.example/c")), Some(RecordKind::ClientDocument));
        assert_eq!(kind_of(&refused_document("https://a.example/c")), Some(RecordKind::RefusedDocument));
        assert_eq!(kind_of(&network_check()), Some(RecordKind::NetworkCheck));
        assert_eq!(kind_of(&user_index_period("user_1", 3)), Some(RecordKind::UserIndexPeriod));
        assert_eq!(kind_of(&user_index_entry("user_1", 3, 7)), Some(RecordKind::UserIndexEntry));
        assert_eq!(kind_of(&user_ended("user_1")), Some(RecordKind::UserAccessEnded));
        assert_eq!(kind_of(&all_index_period(3)), Some(RecordKind::AllIndexPeriod));
        assert_eq!(kind_of(&all_index_entry(3, 7)), Some(RecordKind::AllIndexEntry));
        assert_eq!(kind_of(&client_block("https://a.example/c")), Some(RecordKind::ClientBlock));
        assert_eq!(kind_of(&client_blocks()), Some(RecordKind::ClientBlockList));
        assert_eq!(kind_of("expiry:slot:29000000:1"), None);
        assert_eq!(kind_of("signin:state:x"), None);
    }

    #[test]
    fn malformed_ids_make_no_key() {
        assert_eq!(client(""), None);
        assert_eq!(client("a:b"), None);
        assert_eq!(client(&"a".repeat(65)), None);
        assert_eq!(client("abc_DEF-1").as_deref(), Some("oauth:client:abc_DEF-1"));
    }

    #[test]
    fn keys_stay_under_250_bytes() {
        assert!(refresh_token(&"x".repeat(10_000)).len() < 250);
        assert!(client(&"a".repeat(64)).unwrap().len() < 250);
        assert!(client_document(&format!("https://a.example/{}", "x".repeat(10_000))).len() < 250);
        assert!(user_index_entry(&"u".repeat(10_000), u64::MAX, i64::MAX).len() < 250);
    }

    #[test]
    fn prefixes_are_distinct() {
        let all = [
            client("a").unwrap(),
            grant("a").unwrap(),
            code("a"),
            access_token("a"),
            refresh_token("a"),
            revoked("a").unwrap(),
            rotation("a"),
            client_document("a"),
            refused_document("a"),
            user_index_period("a", 1),
            user_index_entry("a", 1, 1),
            user_ended("a"),
            all_index_period(1),
            all_index_entry(1, 1),
            client_block("a"),
        ];
        let prefixes: std::collections::HashSet<_> =
            all.iter().map(|k| k.rsplit_once(':').unwrap().0.to_owned()).collect();
        assert_eq!(prefixes.len(), all.len());
    }
}
