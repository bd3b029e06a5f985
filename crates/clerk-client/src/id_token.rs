//! ID-token claim checks.
//!
//! The signature is deliberately not verified: the ID token comes straight from Clerk's token
//! endpoint, over TLS, in answer to our own authenticated request (client secret + PKCE). OIDC
//! Core §3.1.3.7 (rule 6) allows the TLS server validation to replace the signature check in
//! exactly that case. This keeps RSA/JWK code out of the wasm component. The claims that bind the
//! token to this sign-in are still checked: `iss`, `aud` (and `azp`), `exp`, `nonce`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::ClerkError;
use crate::claims::ProfileClaims;

/// Tolerated clock difference between us and Clerk when checking `exp`.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// The claims this server reads from Clerk's ID token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: u64,
    pub nonce: Option<String>,
    pub azp: Option<String>,
    /// Clerk session id, when present.
    pub sid: Option<String>,
    /// Profile claims (`email`, names, `picture`, `public_metadata` with that scope).
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// `aud` is a string or an array of strings (OIDC Core §2).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// What the ID token must say to belong to this sign-in.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: u64,
}

/// Decodes the token's payload and checks the claims.
pub fn check(token: &str, expected: &Expected<'_>) -> Result<IdTokenClaims, ClerkError> {
    let claims = decode(token)?;
    let invalid = |reason: String| Err(ClerkError::InvalidIdToken(reason));
    if claims.iss.trim_end_matches('/') != expected.issuer.trim_end_matches('/') {
        return invalid(format!("iss {} is not {}", claims.iss, expected.issuer));
    }
    check_audience(&claims, expected.client_id)?;
    if claims.exp + CLOCK_SKEW_SECS <= expected.now {
        return invalid("expired".into());
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return invalid("nonce does not match this sign-in".into());
    }
    if claims.sub.is_empty() {
        return invalid("sub is empty".into());
    }
    Ok(claims)
}

/// OIDC Core §3.1.3.7 rules 3–5: our client id must be an audience; with several audiences the
/// authorized party must be us.
fn check_audience(claims: &IdTokenClaims, client_id: &str) -> Result<(), ClerkError> {
    let ok = match &claims.aud {
        Audience::One(aud) => aud == client_id,
        Audience::Many(auds) => {
            auds.iter().any(|a| a == client_id) && (auds.len() == 1 || claims.azp.as_deref() == Some(client_id))
        }
    };
    let azp_ok = claims.azp.as_deref().is_none_or(|azp| azp == client_id);
    if ok && azp_ok { Ok(()) } else { Err(ClerkError::InvalidIdToken("aud/azp is not this client".into())) }
}

/// The JSON payload of a compact JWS, unverified (see the module docs for why that is sound here).
fn decode(token: &str) -> Result<IdTokenClaims, ClerkError> {
    let mut parts = token.split('.');
    let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) => payload,
        _ => return Err(ClerkError::InvalidIdToken("not a compact JWT".into())),
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClerkError::InvalidIdToken("payload is not base64url".into()))?;
    serde_json::from_slice(&bytes).map_err(|e| ClerkError::InvalidIdToken(format!("claims: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::fake::unsigned_jwt as jwt;

    fn claims() -> serde_json::Value {
        json!({"iss":"https://demo.clerk.accounts.dev","sub":"user_1","aud":"cid","exp":2000,"nonce":"n1","sid":"sess_1"})
    }

    const EXPECTED: Expected<'static> =
        Expected { issuer: "https://demo.clerk.accounts.dev", client_id: "cid", nonce: "n1", now: 1000 };

    fn with(key: &str, value: serde_json::Value) -> String {
        let mut c = claims();
        c[key] = value;
        jwt(&c)
    }

    #[test]
    fn valid_id_token_passes_and_yields_claims() {
        let claims = check(&jwt(&claims()), &EXPECTED).unwrap();
        assert_eq!(claims.sub, "user_1");
        assert_eq!(claims.sid.as_deref(), Some("sess_1"));
    }

    #[test]
    fn id_token_from_another_issuer_is_rejected() {
        assert!(check(&with("iss", json!("https://evil.example")), &EXPECTED).is_err());
    }

    #[test]
    fn id_token_for_another_audience_is_rejected() {
        assert!(check(&with("aud", json!("other")), &EXPECTED).is_err());
        assert!(check(&with("aud", json!(["other", "cid"])), &EXPECTED).is_err());
    }

    #[test]
    fn id_token_with_audience_array_and_matching_azp_passes() {
        let mut c = claims();
        c["aud"] = json!(["other", "cid"]);
        c["azp"] = json!("cid");
        assert!(check(&jwt(&c), &EXPECTED).is_ok());
    }

    #[test]
    fn expired_id_token_is_rejected() {
        let at = Expected { now: 2000 + CLOCK_SKEW_SECS, ..EXPECTED };
        assert!(check(&jwt(&claims()), &at).is_err());
    }

    #[test]
    fn id_token_with_wrong_or_missing_nonce_is_rejected() {
        assert!(check(&with("nonce", json!("other")), &EXPECTED).is_err());
        let mut c = claims();
        c.as_object_mut().unwrap().remove("nonce");
        assert!(check(&jwt(&c), &EXPECTED).is_err());
    }

    #[test]
    fn garbage_id_tokens_are_rejected_not_panicked_on() {
        for token in ["", "a.b", "a.!!!.c", "a.b.c.d", &format!("x.{}.y", URL_SAFE_NO_PAD.encode("[1]"))] {
            assert!(matches!(check(token, &EXPECTED), Err(ClerkError::InvalidIdToken(_))), "{token}");
        }
    }
}
