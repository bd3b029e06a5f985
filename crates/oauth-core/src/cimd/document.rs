//! A fetched document's content (draft §4): a JSON object of RFC 7591 client metadata whose
//! `client_id` is exactly the URL it came from, describing a public client.
//!
//! The metadata rules are registration's (`crate::clients`: redirect URIs under
//! `rules::redirect_uri`, grant and response types, bounded text, http(s) links), so a document
//! client can do no more than a registered one. What differs: `token_endpoint_auth_method`
//! defaults to `none` and may only be `none` (no secret can be shared with a document; the
//! draft forbids shared-secret methods, and this server offers no key-based one), and
//! `client_secret` must not appear.

use serde_json::Value;

use super::client_id::DocumentUrl;
use super::error::CimdError;
use crate::clients::metadata_from_json;
use crate::records::ClientMetadata;
use crate::rules::redirect_uri::RedirectPolicy;

/// The document `body` fetched from `url`, as registration metadata.
pub(super) fn parse(url: &DocumentUrl, body: &[u8], policy: &RedirectPolicy) -> Result<ClientMetadata, CimdError> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|_| CimdError::NotJson("the body does not parse as JSON".into()))?;
    let object = value.as_object_mut().ok_or_else(|| CimdError::NotJson("the body is not a JSON object".into()))?;
    if object.get("client_id").and_then(Value::as_str) != Some(url.as_str()) {
        return Err(CimdError::ClientIdMismatch);
    }
    if object.contains_key("client_secret") || object.contains_key("client_secret_expires_at") {
        return Err(CimdError::ClientSecret);
    }
    match object.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {
            object.insert("token_endpoint_auth_method".into(), Value::from("none"));
        }
        Some(Value::String(method)) if method == "none" => {}
        Some(Value::String(method)) if is_shared_secret(method) => {
            return Err(CimdError::SharedSecret(method.clone()));
        }
        Some(Value::String(method)) => return Err(CimdError::UnsupportedAuthMethod(method.clone())),
        Some(_) => return Err(CimdError::Metadata("token_endpoint_auth_method must be a string".into())),
    }
    metadata_from_json(value, policy).map_err(|e| CimdError::Metadata(e.to_string()))
}

/// The methods that authenticate with a secret shared with the server.
fn is_shared_secret(method: &str) -> bool {
    matches!(method, "client_secret_basic" | "client_secret_post" | "client_secret_jwt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::AuthMethod;

    const URL: &str = "https://client.example.com/meta.json";

    fn url() -> DocumentUrl {
        DocumentUrl::parse(URL, false).unwrap()
    }

    fn doc(extra: &str) -> String {
        format!(r#"{{"client_id":"{URL}","redirect_uris":["http://127.0.0.1/callback"]{extra}}}"#)
    }

    #[test]
    fn a_minimal_document_is_a_public_client() {
        let metadata = parse(&url(), doc("").as_bytes(), &RedirectPolicy::default()).unwrap();
        assert_eq!(metadata.token_endpoint_auth_method, AuthMethod::None);
        assert_eq!(metadata.redirect_uris, ["http://127.0.0.1/callback"]);
        assert_eq!(metadata.client_name, None, "client_name is optional");
        assert_eq!(metadata.grant_types, ["authorization_code", "refresh_token"]);
        let named = parse(
            &url(),
            doc(r#","client_name":"Claude Code","token_endpoint_auth_method":"none""#).as_bytes(),
            &RedirectPolicy::default(),
        );
        assert_eq!(named.unwrap().client_name.as_deref(), Some("Claude Code"));
    }

    #[test]
    fn the_client_id_must_be_exactly_the_url() {
        for body in [
            r#"{"redirect_uris":["https://a.example.com/cb"]}"#.to_owned(),
            format!(r#"{{"client_id":"{URL}/","redirect_uris":["https://a.example.com/cb"]}}"#),
            format!(r#"{{"client_id":"{}","redirect_uris":["https://a.example.com/cb"]}}"#, URL.to_uppercase()),
            r#"{"client_id":5,"redirect_uris":["https://a.example.com/cb"]}"#.to_owned(),
        ] {
            assert_eq!(
                parse(&url(), body.as_bytes(), &RedirectPolicy::default()),
                Err(CimdError::ClientIdMismatch),
                "{body}"
            );
        }
    }

    #[test]
    fn secrets_and_other_auth_methods_are_refused() {
        let cases = [
            (
                r#","token_endpoint_auth_method":"client_secret_basic""#,
                CimdError::SharedSecret("client_secret_basic".into()),
            ),
            (
                r#","token_endpoint_auth_method":"client_secret_post""#,
                CimdError::SharedSecret("client_secret_post".into()),
            ),
            (
                r#","token_endpoint_auth_method":"client_secret_jwt""#,
                CimdError::SharedSecret("client_secret_jwt".into()),
            ),
            (
                r#","token_endpoint_auth_method":"private_key_jwt""#,
                CimdError::UnsupportedAuthMethod("private_key_jwt".into()),
            ),
            (r#","client_secret":"s3cret""#, CimdError::ClientSecret),
            (r#","client_secret_expires_at":0"#, CimdError::ClientSecret),
        ];
        for (extra, error) in cases {
            assert_eq!(parse(&url(), doc(extra).as_bytes(), &RedirectPolicy::default()), Err(error), "{extra}");
        }
    }

    #[test]
    fn registration_rules_apply_to_the_metadata() {
        let no_uris = format!(r#"{{"client_id":"{URL}"}}"#);
        let empty = format!(r#"{{"client_id":"{URL}","redirect_uris":[]}}"#);
        let http = format!(r#"{{"client_id":"{URL}","redirect_uris":["http://evil.example/cb"]}}"#);
        let script = format!(r#"{{"client_id":"{URL}","redirect_uris":["javascript:alert(1)"]}}"#);
        for body in [no_uris, empty, http, script, doc(r#","grant_types":["implicit"]"#), doc(r#","client_name":7"#)] {
            assert!(
                matches!(parse(&url(), body.as_bytes(), &RedirectPolicy::default()), Err(CimdError::Metadata(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn not_json_or_not_an_object_is_refused() {
        for body in ["<html></html>", "[]", "\"x\"", ""] {
            assert!(
                matches!(parse(&url(), body.as_bytes(), &RedirectPolicy::default()), Err(CimdError::NotJson(_))),
                "{body}"
            );
        }
    }
}
