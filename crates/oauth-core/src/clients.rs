//! Client registration (RFC 7591), lookup, authentication and idle expiry.

use platform::record::{self, RecordError};
use platform::secret::{RandomError, random_token};
use platform::{Clock, KeyValueStore};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::keys;
use crate::lifetimes::{CLIENT_IDLE_TTL, CLIENT_TOUCH_INTERVAL};
use crate::records::{AuthMethod, ClientMetadata, ClientRecord, RECORD_VERSION};
use crate::rules::redirect_uri;

/// Most redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 20;
/// Longest free-text or URL metadata value.
const MAX_FIELD_LEN: usize = 2000;
/// Most `contacts` entries.
const MAX_CONTACTS: usize = 20;

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

/// Validates RFC 7591 client metadata (a JSON object) and stores the client.
pub fn register_client(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    body: &[u8],
) -> Result<Registration, RegistrationError> {
    let metadata = parse_metadata(body)?;
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
        expires_at: now + CLIENT_IDLE_TTL,
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

#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown client, wrong secret or wrong method: RFC 6749 `invalid_client`.
    #[error("client authentication failed")]
    InvalidClient,
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// Authenticates a client at the token or revocation endpoint. The method used must be the
/// registered one, and secrets are compared (as hashes) in constant time.
pub fn authenticate(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    presented: &PresentedCredentials,
) -> Result<ClientRecord, ClientAuthError> {
    let client = lookup_client(store, clock, &presented.client_id)?.ok_or(ClientAuthError::InvalidClient)?;
    if client.metadata.token_endpoint_auth_method != presented.method {
        return Err(ClientAuthError::InvalidClient);
    }
    let secret_ok = match (&client.secret_hash, &presented.client_secret) {
        (None, None) => true,
        (Some(stored), Some(secret)) => bool::from(keys::secret_hash(secret).as_bytes().ct_eq(stored.as_bytes())),
        _ => false,
    };
    if secret_ok { Ok(client) } else { Err(ClientAuthError::InvalidClient) }
}

/// Records that the client was used, extending its life; writes at most once a day. A plain
/// write: concurrent touches all write "used now" into an otherwise unchanged record (nothing
/// else writes a client after registration), so whichever lands last is right.
pub fn touch_client(store: &dyn KeyValueStore, clock: &dyn Clock, client_id: &str) -> Result<(), RecordError> {
    let now = clock.now_unix();
    let (Some(client), Some(key)) = (lookup_client(store, clock, client_id)?, keys::client(client_id)) else {
        return Ok(());
    };
    if now < client.last_used_at + CLIENT_TOUCH_INTERVAL {
        return Ok(());
    }
    record::save(store, &key, &ClientRecord { last_used_at: now, expires_at: now + CLIENT_IDLE_TTL, ..client })
}

fn parse_metadata(body: &[u8]) -> Result<ClientMetadata, RegistrationError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("the body is not valid JSON"))?;
    let Value::Object(fields) = value else {
        return Err(invalid("client metadata must be a JSON object"));
    };
    let metadata = ClientMetadata {
        redirect_uris: redirect_uris(&fields)?,
        token_endpoint_auth_method: auth_method(&fields)?,
        grant_types: grant_types(&fields)?,
        response_types: response_types(&fields)?,
        client_name: text(&fields, "client_name")?,
        client_uri: web_url(&fields, "client_uri")?,
        logo_uri: web_url(&fields, "logo_uri")?,
        tos_uri: web_url(&fields, "tos_uri")?,
        policy_uri: web_url(&fields, "policy_uri")?,
        contacts: contacts(&fields)?,
        scope: text(&fields, "scope")?,
        software_id: text(&fields, "software_id")?,
        software_version: text(&fields, "software_version")?,
    };
    Ok(metadata)
}

fn invalid(message: &str) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(message.to_owned())
}

/// An optional string field; `null` counts as absent.
fn text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, RegistrationError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_FIELD_LEN && !s.chars().any(char::is_control) => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(&format!("{name} is too long or contains control characters"))),
        Some(_) => Err(invalid(&format!("{name} must be a string"))),
    }
}

/// An optional array of strings; `null` counts as absent.
fn strings(fields: &Map<String, Value>, name: &str, max: usize) -> Result<Option<Vec<String>>, RegistrationError> {
    let items = match fields.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) if items.len() <= max => items,
        Some(Value::Array(_)) => return Err(invalid(&format!("{name} has too many entries"))),
        Some(_) => return Err(invalid(&format!("{name} must be an array of strings"))),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) if s.len() <= MAX_FIELD_LEN => Ok(s.clone()),
            _ => Err(invalid(&format!("{name} must be an array of strings"))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A URL shown to the user as a link: http(s) only.
fn web_url(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, RegistrationError> {
    let Some(value) = text(fields, name)? else {
        return Ok(None);
    };
    match url::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(Some(value)),
        _ => Err(invalid(&format!("{name} must be an http(s) URL"))),
    }
}

fn redirect_uris(fields: &Map<String, Value>) -> Result<Vec<String>, RegistrationError> {
    let uris = match strings(fields, "redirect_uris", MAX_REDIRECT_URIS) {
        Ok(Some(uris)) if !uris.is_empty() => uris,
        Ok(_) => return Err(RegistrationError::InvalidRedirectUri("redirect_uris is required".into())),
        Err(e) => return Err(RegistrationError::InvalidRedirectUri(e.to_string())),
    };
    for uri in &uris {
        redirect_uri::validate(uri).map_err(|e| RegistrationError::InvalidRedirectUri(format!("{uri}: {e}")))?;
    }
    Ok(uris)
}

fn auth_method(fields: &Map<String, Value>) -> Result<AuthMethod, RegistrationError> {
    // RFC 7591 §2: the default is client_secret_basic.
    match text(fields, "token_endpoint_auth_method")?.as_deref() {
        None | Some("client_secret_basic") => Ok(AuthMethod::ClientSecretBasic),
        Some("client_secret_post") => Ok(AuthMethod::ClientSecretPost),
        Some("none") => Ok(AuthMethod::None),
        Some(other) => Err(invalid(&format!("token_endpoint_auth_method `{other}` is not supported"))),
    }
}

/// `authorization_code` is required; `refresh_token` is always allowed alongside it, because
/// many MCP clients omit `grant_types` (RFC 7591 default `authorization_code`) yet refresh.
fn grant_types(fields: &Map<String, Value>) -> Result<Vec<String>, RegistrationError> {
    let requested = strings(fields, "grant_types", 10)?.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if let Some(other) = requested.iter().find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token")) {
        return Err(invalid(&format!("grant type `{other}` is not supported")));
    }
    if !requested.iter().any(|g| g == "authorization_code") {
        return Err(invalid("grant_types must include authorization_code"));
    }
    Ok(vec!["authorization_code".to_owned(), "refresh_token".to_owned()])
}

fn response_types(fields: &Map<String, Value>) -> Result<Vec<String>, RegistrationError> {
    let requested = strings(fields, "response_types", 10)?.unwrap_or_else(|| vec!["code".to_owned()]);
    if requested.is_empty() || requested.iter().any(|r| r != "code") {
        return Err(invalid("response_types must be [\"code\"]"));
    }
    Ok(vec!["code".to_owned()])
}

fn contacts(fields: &Map<String, Value>) -> Result<Option<Vec<String>>, RegistrationError> {
    strings(fields, "contacts", MAX_CONTACTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};

    fn register(store: &MemoryStore, clock: &ManualClock, body: &str) -> Result<Registration, RegistrationError> {
        register_client(store, clock, body.as_bytes())
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
        let creds = |secret: Option<String>, method| PresentedCredentials {
            client_id: id.clone(),
            client_secret: secret,
            method,
        };
        assert!(authenticate(&store, &clock, &creds(secret.clone(), AuthMethod::ClientSecretPost)).is_ok());
        assert!(matches!(
            authenticate(&store, &clock, &creds(secret.clone(), AuthMethod::ClientSecretBasic)),
            Err(ClientAuthError::InvalidClient)
        ));
        assert!(matches!(
            authenticate(&store, &clock, &creds(Some("wrong".into()), AuthMethod::ClientSecretPost)),
            Err(ClientAuthError::InvalidClient)
        ));
        assert!(matches!(
            authenticate(&store, &clock, &creds(None, AuthMethod::ClientSecretPost)),
            Err(ClientAuthError::InvalidClient)
        ));
        let unknown = PresentedCredentials { client_id: "nope".into(), client_secret: None, method: AuthMethod::None };
        assert!(matches!(authenticate(&store, &clock, &unknown), Err(ClientAuthError::InvalidClient)));
    }

    #[test]
    fn public_client_presenting_a_secret_is_refused() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let reg = register(&store, &clock, PUBLIC).unwrap();
        let creds = PresentedCredentials {
            client_id: reg.client.client_id,
            client_secret: Some("x".into()),
            method: AuthMethod::None,
        };
        assert!(matches!(authenticate(&store, &clock, &creds), Err(ClientAuthError::InvalidClient)));
    }

    #[test]
    fn clients_expire_after_90_days_without_use() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let id = register(&store, &clock, PUBLIC).unwrap().client.client_id;
        clock.advance(CLIENT_IDLE_TTL);
        assert_eq!(lookup_client(&store, &clock, &id).unwrap(), None);
        assert!(store.snapshot().is_empty(), "expired client is deleted when met");
    }

    #[test]
    fn use_extends_a_client_but_writes_at_most_daily() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1000));
        let id = register(&store, &clock, PUBLIC).unwrap().client.client_id;
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
