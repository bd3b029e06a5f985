//! Client registration (RFC 7591), lookup, credential checks and idle expiry. (Clients whose
//! `client_id` is a URL are described by a document instead: `crate::cimd`.)

use platform::record::{self, RecordError};
use platform::secret::{RandomError, random_token};
use platform::{Clock, KeyValueStore};
use serde::Deserialize;
use serde_json::Value;
use serde_path_to_error::Segment;
use subtle::ConstantTimeEq;

use crate::keys;
use crate::lifetimes::{CLIENT_IDLE_TTL, CLIENT_TOUCH_INTERVAL, CLIENT_UNUSED_TTL};
use crate::records::{AuthMethod, ClientMetadata, ClientRecord, RECORD_VERSION};
use crate::rules::display_text;
use crate::rules::redirect_uri::{self, RedirectPolicy};

/// What one registration may store. Anyone may register, without authenticating, and the
/// record lives a day, 90 days once used, so every member is bounded, and so is the whole; real clients register
/// a few short URIs and a name (VS Code, the largest, six redirect URIs in about 300 bytes).
pub mod limits {
    /// Most redirect URIs one client may register.
    pub const MAX_REDIRECT_URIS: usize = 10;
    /// Longest redirect URI.
    pub const MAX_REDIRECT_URI_BYTES: usize = crate::rules::redirect_uri::MAX_LEN;
    /// Longest `client_name`.
    pub const MAX_NAME_BYTES: usize = 200;
    /// Longest `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`.
    pub const MAX_URL_BYTES: usize = 512;
    /// Longest `scope`, `software_id`, `software_version`, and each `contacts` entry.
    pub const MAX_TEXT_BYTES: usize = 256;
    /// Most `contacts` entries.
    pub const MAX_CONTACTS: usize = 5;
    /// Most entries of `grant_types` or `response_types` (only known values are kept).
    pub const MAX_TYPES: usize = 10;
    /// Largest stored metadata, as JSON.
    pub const MAX_METADATA_BYTES: usize = 8 * 1024;
}

use limits::*;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// RFC 7591 `invalid_redirect_uri`.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// RFC 7591 `invalid_client_metadata`.
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error(transparent)]
    Store(#[from] RecordError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A new client and its secret, which is shown once and never stored in clear.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client: ClientRecord,
    pub client_secret: Option<String>,
}

/// Validates RFC 7591 client metadata (a JSON object) and stores the client, for
/// [`CLIENT_UNUSED_TTL`] until its first token exchange ([`touch_client`]). Redirect URIs follow
/// `policy` (which private-use schemes native apps may use).
pub fn register_client(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    policy: &RedirectPolicy,
    body: &[u8],
) -> Result<Registration, RegistrationError> {
    let metadata = parse_metadata(body, policy)?;
    let client_id = random_token()?;
    let client_secret = match metadata.token_endpoint_auth_method {
        AuthMethod::None => None,
        _ => Some(random_token()?),
    };
    let now = clock.now_unix();
    let client = ClientRecord {
        v: RECORD_VERSION,
        client_id: client_id.clone(),
        secret_hash: client_secret.as_deref().map(keys::secret_hash),
        metadata,
        client_id_issued_at: now,
        last_used_at: now,
        expires_at: now + CLIENT_UNUSED_TTL,
    };
    let key = keys::client(&client_id).ok_or(RecordError::InvalidKey { what: "client" })?;
    record::save(store, &key, &client)?;
    Ok(Registration { client, client_secret })
}

/// The client, if it exists and has not expired. Malformed ids are unknown without a read.
pub fn lookup_client(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client_id: &str,
) -> Result<Option<ClientRecord>, RecordError> {
    match keys::client(client_id) {
        Some(key) => record::load(store, clock, &key),
        None => Ok(None),
    }
}

/// The credentials a token or revocation request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub method: AuthMethod,
}

/// Presented credentials that do not match the client: an unknown client, a wrong secret or the
/// wrong method (RFC 6749 `invalid_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client authentication failed")]
pub struct CredentialsRefused;

/// Checks the credentials a client presented at the token or revocation endpoint against the
/// client (as [`crate::cimd::ClientResolver::authenticate`] resolved it). The method used must
/// be the registered one, and secrets are compared (as hashes) in constant time.
pub fn verify_credentials(client: &ClientRecord, presented: &PresentedCredentials) -> Result<(), CredentialsRefused> {
    if client.client_id != presented.client_id || client.metadata.token_endpoint_auth_method != presented.method {
        return Err(CredentialsRefused);
    }
    let secret_ok = match (&client.secret_hash, &presented.client_secret) {
        (None, None) => true,
        (Some(stored), Some(secret)) => bool::from(keys::secret_hash(secret).as_bytes().ct_eq(stored.as_bytes())),
        _ => false,
    };
    if secret_ok { Ok(()) } else { Err(CredentialsRefused) }
}

/// Records that the client was used (a token was issued to it), extending its life to
/// [`CLIENT_IDLE_TTL`] from now; writes at most once a day, and at once the first time (a new
/// registration lives only [`CLIENT_UNUSED_TTL`]). A plain write: concurrent touches all write
/// "used now" into an otherwise unchanged record (nothing else writes a client after
/// registration), so whichever lands last is right.
pub fn touch_client(store: &dyn KeyValueStore, clock: &dyn Clock, client_id: &str) -> Result<(), RecordError> {
    let now = clock.now_unix();
    let (Some(client), Some(key)) = (lookup_client(store, clock, client_id)?, keys::client(client_id)) else {
        return Ok(());
    };
    if client.expires_at > (now + CLIENT_IDLE_TTL).saturating_sub(CLIENT_TOUCH_INTERVAL) {
        return Ok(());
    }
    record::save(store, &key, &ClientRecord { last_used_at: now, expires_at: now + CLIENT_IDLE_TTL, ..client })
}

/// RFC 7591 §2 client metadata as a client sends it: every member optional (`null` counts as
/// absent) and members this server does not use ignored. Deserialising checks the JSON types;
/// [`MetadataRequest::validate`] checks the values, in field order.
#[derive(Deserialize)]
struct MetadataRequest {
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    tos_uri: Option<String>,
    policy_uri: Option<String>,
    contacts: Option<Vec<String>>,
    scope: Option<String>,
    software_id: Option<String>,
    software_version: Option<String>,
}

fn parse_metadata(body: &[u8], policy: &RedirectPolicy) -> Result<ClientMetadata, RegistrationError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("the body is not valid JSON"))?;
    metadata_from_json(value, policy)
}

/// Client metadata from a JSON value: the rules registration applies, shared with client
/// metadata documents (`crate::cimd`).
pub(crate) fn metadata_from_json(value: Value, policy: &RedirectPolicy) -> Result<ClientMetadata, RegistrationError> {
    if !value.is_object() {
        return Err(invalid("client metadata must be a JSON object"));
    }
    let request: MetadataRequest = serde_path_to_error::deserialize(value).map_err(|e| wrong_type(e.path()))?;
    request.validate(policy)
}

/// The error for a member of the wrong JSON type, named as the value checks name it.
fn wrong_type(path: &serde_path_to_error::Path) -> RegistrationError {
    let member = match path.iter().next() {
        Some(Segment::Map { key }) => key.as_str(),
        _ => "client metadata",
    };
    match member {
        "redirect_uris" => RegistrationError::InvalidRedirectUri("redirect_uris must be an array of strings".into()),
        "grant_types" | "response_types" | "contacts" => invalid(&format!("{member} must be an array of strings")),
        _ => invalid(&format!("{member} must be a string")),
    }
}

impl MetadataRequest {
    fn validate(self, policy: &RedirectPolicy) -> Result<ClientMetadata, RegistrationError> {
        let metadata = ClientMetadata {
            redirect_uris: redirect_uris(self.redirect_uris, policy)?,
            token_endpoint_auth_method: auth_method(self.token_endpoint_auth_method)?,
            grant_types: grant_types(self.grant_types)?,
            response_types: response_types(self.response_types)?,
            client_name: text("client_name", self.client_name, MAX_NAME_BYTES)?,
            client_uri: web_url("client_uri", self.client_uri)?,
            logo_uri: web_url("logo_uri", self.logo_uri)?,
            tos_uri: web_url("tos_uri", self.tos_uri)?,
            policy_uri: web_url("policy_uri", self.policy_uri)?,
            contacts: texts("contacts", self.contacts, MAX_CONTACTS, MAX_TEXT_BYTES)?,
            scope: text("scope", self.scope, MAX_TEXT_BYTES)?,
            software_id: text("software_id", self.software_id, MAX_TEXT_BYTES)?,
            software_version: text("software_version", self.software_version, MAX_TEXT_BYTES)?,
        };
        let stored = serde_json::to_vec(&metadata).map_or(usize::MAX, |json| json.len());
        if stored > MAX_METADATA_BYTES {
            return Err(invalid(&format!("the client metadata is larger than {MAX_METADATA_BYTES} bytes")));
        }
        Ok(metadata)
    }
}

fn invalid(message: &str) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(message.to_owned())
}

/// Free text of at most `max` bytes, without control characters.
fn text(name: &str, value: Option<String>, max: usize) -> Result<Option<String>, RegistrationError> {
    match value {
        Some(s) => check_text(name, &s, max).map(|()| Some(s)),
        None => Ok(None),
    }
}

fn check_text(name: &str, value: &str, max: usize) -> Result<(), RegistrationError> {
    if value.len() > max {
        return Err(invalid(&format!("{name} is longer than {max} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(&format!("{name} contains control characters")));
    }
    // Shown on the consent page: nothing that hides or reorders what the user reads.
    if display_text::has_hidden_characters(value) {
        return Err(invalid(&format!("{name} contains invisible or bidirectional formatting characters")));
    }
    Ok(())
}

/// A list of at most `max_items` strings.
fn list(name: &str, value: Option<Vec<String>>, max_items: usize) -> Result<Option<Vec<String>>, RegistrationError> {
    match value {
        Some(items) if items.len() > max_items => Err(invalid(&format!("{name} has more than {max_items} entries"))),
        other => Ok(other),
    }
}

/// A list of at most `max_items` texts of at most `max_bytes` each ([`text`]).
fn texts(
    name: &str,
    value: Option<Vec<String>>,
    max_items: usize,
    max_bytes: usize,
) -> Result<Option<Vec<String>>, RegistrationError> {
    let items = list(name, value, max_items)?;
    for item in items.iter().flatten() {
        check_text(&format!("each of {name}"), item, max_bytes)?;
    }
    Ok(items)
}

/// A URL shown to the user as a link: http(s) only.
fn web_url(name: &str, value: Option<String>) -> Result<Option<String>, RegistrationError> {
    let Some(value) = text(name, value, MAX_URL_BYTES)? else {
        return Ok(None);
    };
    match url::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(Some(value)),
        _ => Err(invalid(&format!("{name} must be an http(s) URL"))),
    }
}

fn redirect_uris(value: Option<Vec<String>>, policy: &RedirectPolicy) -> Result<Vec<String>, RegistrationError> {
    let uris = match list("redirect_uris", value, MAX_REDIRECT_URIS) {
        Ok(Some(uris)) if !uris.is_empty() => uris,
        Ok(_) => return Err(RegistrationError::InvalidRedirectUri("redirect_uris is required".into())),
        Err(e) => return Err(RegistrationError::InvalidRedirectUri(e.to_string())),
    };
    for uri in &uris {
        if display_text::has_hidden_characters(uri) {
            let message = "a redirect URI contains control, invisible or bidirectional formatting characters";
            return Err(RegistrationError::InvalidRedirectUri(message.into()));
        }
        let shown: String = uri.chars().take(100).collect();
        redirect_uri::validate(uri, policy)
            .map_err(|e| RegistrationError::InvalidRedirectUri(format!("{shown}: {e}")))?;
    }
    Ok(uris)
}

fn auth_method(value: Option<String>) -> Result<AuthMethod, RegistrationError> {
    // RFC 7591 §2: the default is client_secret_basic.
    match text("token_endpoint_auth_method", value, MAX_TEXT_BYTES)?.as_deref() {
        None | Some("client_secret_basic") => Ok(AuthMethod::ClientSecretBasic),
        Some("client_secret_post") => Ok(AuthMethod::ClientSecretPost),
        Some("none") => Ok(AuthMethod::None),
        Some(other) => Err(invalid(&format!("token_endpoint_auth_method `{other}` is not supported"))),
    }
}

/// `authorization_code` is required; `refresh_token` is always allowed alongside it, because
/// many MCP clients omit `grant_types` (RFC 7591 default `authorization_code`) yet refresh.
fn grant_types(value: Option<Vec<String>>) -> Result<Vec<String>, RegistrationError> {
    let requested = list("grant_types", value, MAX_TYPES)?.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if let Some(other) = requested.iter().find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token")) {
        return Err(invalid(&format!("grant type `{other}` is not supported")));
    }
    if !requested.iter().any(|g| g == "authorization_code") {
        return Err(invalid("grant_types must include authorization_code"));
    }
    Ok(vec!["authorization_code".to_owned(), "refresh_token".to_owned()])
}

fn response_types(value: Option<Vec<String>>) -> Result<Vec<String>, RegistrationError> {
    let requested = list("response_types", value, MAX_TYPES)?.unwrap_or_else(|| vec!["code".to_owned()]);
    if requested.is_empty() || requested.iter().any(|r| r != "code") {
        return Err(invalid("response_types must be [\"code\"]"));
    }
    Ok(vec!["code".to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};

    fn register(store: &MemoryStore, clock: &ManualClock, body: &str) -> Result<Registration, RegistrationError> {
        register_client(store, clock, &RedirectPolicy::default(), body.as_bytes())
    }

    const PUBLIC: &str = r#"{"redirect_uris":["http://127.0.0.1:3000/cb"],"token_endpoint_auth_method":"none","client_name":"Inspector"}"#;

    #[test]
    fn public_client_gets_no_secret() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let reg = register(&store, &clock, PUBLIC).unwrap();
        assert_eq!(reg.client_secret, None);
        assert_eq!(reg.client.metadata.token_endpoint_auth_method, AuthMethod::None);
        assert_eq!(lookup_client(&store, &clock, &reg.client.client_id).unwrap(), Some(reg.client));
    }

    #[test]
    fn confidential_client_secret_is_stored_only_hashed() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let reg = register(&store, &clock, r#"{"redirect_uris":["https://a.example/cb"]}"#).unwrap();
        let secret = reg.client_secret.unwrap();
        assert_eq!(reg.client.metadata.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
        for value in store.snapshot().values() {
            assert!(!String::from_utf8_lossy(value).contains(&secret));
        }
    }

    #[test]
    fn defaults_follow_rfc7591_with_refresh_allowed() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let reg = register(&store, &clock, PUBLIC).unwrap();
        assert_eq!(reg.client.metadata.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(reg.client.metadata.response_types, ["code"]);
    }

    #[test]
    fn invalid_metadata_is_refused_with_the_right_error() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let redirect_errors = [
            r#"{}"#,
            r#"{"redirect_uris":[]}"#,
            r#"{"redirect_uris":"https://a.example/cb"}"#,
            r#"{"redirect_uris":[1]}"#,
            r#"{"redirect_uris":["javascript:alert(1)"]}"#,
            r#"{"redirect_uris":["http://evil.example/cb"]}"#,
            r#"{"redirect_uris":["https://a.example/cb#f"]}"#,
        ];
        for body in redirect_errors {
            assert!(matches!(register(&store, &clock, body), Err(RegistrationError::InvalidRedirectUri(_))), "{body}");
        }
        let metadata_errors = [
            "not json",
            "[]",
            r#"{"redirect_uris":["https://a.example/cb"],"client_name":5}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["refresh_token"]}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"response_types":["token"]}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"logo_uri":"javascript:alert(1)"}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"contacts":"a@b"}"#,
        ];
        for body in metadata_errors {
            assert!(
                matches!(register(&store, &clock, body), Err(RegistrationError::InvalidClientMetadata(_))),
                "{body}"
            );
        }
        assert!(store.snapshot().is_empty());
    }

    #[test]
    fn metadata_errors_name_the_member_and_the_problem() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let ok = r#""redirect_uris":["https://a.example/cb"]"#;
        let cases = [
            ("not json".to_owned(), "the body is not valid JSON"),
            ("[]".to_owned(), "client metadata must be a JSON object"),
            (format!(r#"{{{ok},"client_name":5}}"#), "client_name must be a string"),
            (format!(r#"{{{ok},"client_name":"a\u0007"}}"#), "client_name contains control characters"),
            (format!(r#"{{{ok},"contacts":"a@b"}}"#), "contacts must be an array of strings"),
            (format!(r#"{{{ok},"grant_types":["authorization_code",7]}}"#), "grant_types must be an array of strings"),
            (
                format!(
                    r#"{{{ok},"response_types":["code","code","code","code","code","code","code","code","code","code","code"]}}"#
                ),
                "response_types has more than 10 entries",
            ),
            (format!(r#"{{{ok},"logo_uri":"ftp://a.example/x"}}"#), "logo_uri must be an http(s) URL"),
            (
                format!(r#"{{{ok},"token_endpoint_auth_method":"private_key_jwt"}}"#),
                "token_endpoint_auth_method `private_key_jwt` is not supported",
            ),
            (format!(r#"{{{ok},"grant_types":["implicit"]}}"#), "grant type `implicit` is not supported"),
        ];
        for (body, message) in cases {
            match register(&store, &clock, &body) {
                Err(RegistrationError::InvalidClientMetadata(m)) => assert_eq!(m, message, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        for (body, message) in [
            (r#"{"redirect_uris":null}"#, "redirect_uris is required"),
            (r#"{"redirect_uris":["https://a.example/cb",1]}"#, "redirect_uris must be an array of strings"),
        ] {
            match register(&store, &clock, body) {
                Err(RegistrationError::InvalidRedirectUri(m)) => assert_eq!(m, message, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_stored_member_is_bounded_with_a_clear_error() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let ok = r#""redirect_uris":["https://a.example/cb"]"#;
        let long = |n: usize| "x".repeat(n);
        let cases = [
            (format!(r#"{{{ok},"client_name":"{}"}}"#, long(201)), "client_name is longer than 200 bytes"),
            (
                format!(r#"{{{ok},"client_uri":"https://a.example/{}"}}"#, long(500)),
                "client_uri is longer than 512 bytes",
            ),
            (format!(r#"{{{ok},"scope":"{}"}}"#, long(257)), "scope is longer than 256 bytes"),
            (format!(r#"{{{ok},"software_id":"{}"}}"#, long(257)), "software_id is longer than 256 bytes"),
            (
                format!(r#"{{{ok},"contacts":["{}@a.example"]}}"#, long(250)),
                "each of contacts is longer than 256 bytes",
            ),
            (format!(r#"{{{ok},"contacts":["a","b","c","d","e","f"]}}"#), "contacts has more than 5 entries"),
        ];
        for (body, message) in cases {
            match register(&store, &clock, &body) {
                Err(RegistrationError::InvalidClientMetadata(m)) => assert_eq!(m, message),
                other => panic!("{message}: {other:?}"),
            }
        }
        let eleven: Vec<String> = (0..11).map(|i| format!(r#""https://a.example/{i}""#)).collect();
        let too_many = format!(r#"{{"redirect_uris":[{}]}}"#, eleven.join(","));
        let too_long = format!(r#"{{"redirect_uris":["https://a.example/{}"]}}"#, long(500));
        for (body, message) in [
            (too_many, "redirect_uris has more than 10 entries".to_owned()),
            (too_long, format!("https://a.example/{}: redirect URI is too long", long(82))),
        ] {
            match register(&store, &clock, &body) {
                Err(RegistrationError::InvalidRedirectUri(m)) => assert_eq!(m, message),
                other => panic!("{message}: {other:?}"),
            }
        }
        assert!(store.snapshot().is_empty());
    }

    #[test]
    fn the_whole_stored_metadata_is_bounded_too() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let uris: Vec<String> = (0..10).map(|i| format!(r#""https://a.example/{i}/{}""#, "x".repeat(480))).collect();
        let links: String = ["client_uri", "logo_uri", "tos_uri", "policy_uri"]
            .iter()
            .map(|name| format!(r#","{name}":"https://a.example/{}""#, "y".repeat(480)))
            .collect();
        let texts: String = ["client_name", "scope", "software_id", "software_version"]
            .iter()
            .map(|name| format!(r#","{name}":"{}""#, "z".repeat(190)))
            .collect();
        let contacts: Vec<String> = (0..5).map(|i| format!(r#""{i}{}@a.example""#, "c".repeat(200))).collect();
        let body =
            format!(r#"{{"redirect_uris":[{}]{links}{texts},"contacts":[{}]}}"#, uris.join(","), contacts.join(","));
        match register(&store, &clock, &body) {
            Err(RegistrationError::InvalidClientMetadata(m)) => {
                assert_eq!(m, "the client metadata is larger than 8192 bytes")
            }
            other => panic!("{other:?}"),
        }
        let vscode = r#"{"client_name":"Visual Studio Code","redirect_uris":["https://insiders.vscode.dev/redirect","https://vscode.dev/redirect","http://localhost/","http://127.0.0.1/","http://localhost:33418/","http://127.0.0.1:33418/"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}"#;
        assert!(register(&store, &clock, vscode).is_ok(), "a real client's registration fits");
    }

    #[test]
    fn displayed_members_with_bidi_or_invisible_characters_are_refused() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let ok = r#""redirect_uris":["https://a.example/cb"]"#;
        let cases = [
            (format!(r#"{{{ok},"client_name":"Claude Desktop \u202e(lanoicifo)"}}"#), "client_name"),
            (format!(r#"{{{ok},"client_name":"Cla\u200bude"}}"#), "client_name"),
            (format!(r#"{{{ok},"client_uri":"https://a.example/\u2066x"}}"#), "client_uri"),
            (format!(r#"{{{ok},"software_id":"\ufeffid"}}"#), "software_id"),
            (format!(r#"{{{ok},"contacts":["a\u202d@b.example"]}}"#), "each of contacts"),
        ];
        for (body, name) in cases {
            match register(&store, &clock, &body) {
                Err(RegistrationError::InvalidClientMetadata(m)) => {
                    assert_eq!(m, format!("{name} contains invisible or bidirectional formatting characters"))
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let uri = r#"{"redirect_uris":["https://a.example/cb\u202e"]}"#;
        assert!(matches!(register(&store, &clock, uri), Err(RegistrationError::InvalidRedirectUri(_))));
        assert!(store.snapshot().is_empty());
        let arabic = format!(r#"{{{ok},"client_name":"محرر"}}"#);
        assert!(register(&store, &clock, &arabic).is_ok(), "right-to-left scripts are fine");
    }

    #[test]
    fn null_members_count_as_absent_and_unknown_members_are_ignored() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let body =
            r#"{"redirect_uris":["https://a.example/cb"],"client_name":null,"grant_types":null,"jwks":{"keys":[]}}"#;
        let reg = register(&store, &clock, body).unwrap();
        assert_eq!(reg.client.metadata.client_name, None);
        assert_eq!(reg.client.metadata.grant_types, ["authorization_code", "refresh_token"]);
    }

    #[test]
    fn authentication_requires_the_registered_method_and_secret() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let reg = register(
            &store,
            &clock,
            r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_post"}"#,
        )
        .unwrap();
        let id = reg.client.client_id.clone();
        let secret = reg.client_secret.clone();
        let client = lookup_client(&store, &clock, &id).unwrap().unwrap();
        let creds = |secret: Option<String>, method| PresentedCredentials {
            client_id: id.clone(),
            client_secret: secret,
            method,
        };
        assert!(verify_credentials(&client, &creds(secret.clone(), AuthMethod::ClientSecretPost)).is_ok());
        assert!(matches!(
            verify_credentials(&client, &creds(secret.clone(), AuthMethod::ClientSecretBasic)),
            Err(CredentialsRefused)
        ));
        assert!(matches!(
            verify_credentials(&client, &creds(Some("wrong".into()), AuthMethod::ClientSecretPost)),
            Err(CredentialsRefused)
        ));
        assert!(matches!(
            verify_credentials(&client, &creds(None, AuthMethod::ClientSecretPost)),
            Err(CredentialsRefused)
        ));
    }

    #[test]
    fn public_client_presenting_a_secret_is_refused() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let reg = register(&store, &clock, PUBLIC).unwrap();
        let creds = PresentedCredentials {
            client_id: reg.client.client_id.clone(),
            client_secret: Some("x".into()),
            method: AuthMethod::None,
        };
        assert!(matches!(verify_credentials(&reg.client, &creds), Err(CredentialsRefused)));
    }

    #[test]
    fn a_registration_never_used_expires_after_a_day() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let client = register(&store, &clock, PUBLIC).unwrap().client;
        assert_eq!(client.expires_at, 1000 + CLIENT_UNUSED_TTL);
        clock.advance(CLIENT_UNUSED_TTL - 1);
        assert!(lookup_client(&store, &clock, &client.client_id).unwrap().is_some());
        clock.advance(1);
        assert_eq!(lookup_client(&store, &clock, &client.client_id).unwrap(), None);
        assert!(store.record_keys().is_empty(), "expired client is deleted when met");
    }

    #[test]
    fn clients_expire_after_90_days_without_use() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let id = register(&store, &clock, PUBLIC).unwrap().client.client_id;
        touch_client(&store, &clock, &id).unwrap();
        clock.advance(CLIENT_IDLE_TTL - 1);
        assert!(lookup_client(&store, &clock, &id).unwrap().is_some());
        clock.advance(1);
        assert_eq!(lookup_client(&store, &clock, &id).unwrap(), None);
    }

    #[test]
    fn the_first_use_gives_90_days_at_once_then_use_extends_a_client_but_writes_at_most_daily() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let id = register(&store, &clock, PUBLIC).unwrap().client.client_id;
        clock.advance(60);
        touch_client(&store, &clock, &id).unwrap();
        let first_use = lookup_client(&store, &clock, &id).unwrap().unwrap();
        assert_eq!((first_use.last_used_at, first_use.expires_at), (1060, 1060 + CLIENT_IDLE_TTL));
        let before = store.snapshot();
        clock.advance(CLIENT_TOUCH_INTERVAL - 1);
        touch_client(&store, &clock, &id).unwrap();
        assert_eq!(store.snapshot(), before, "no write within a day");
        clock.advance(1);
        touch_client(&store, &clock, &id).unwrap();
        clock.advance(CLIENT_IDLE_TTL - 1);
        assert!(lookup_client(&store, &clock, &id).unwrap().is_some());
    }
}
