//! PKCE (RFC 7636), S256 only: `plain` and a missing method are refused (OAuth 2.1 §7.5.2,
//! MCP authorization).

use subtle::ConstantTimeEq;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge is required (PKCE)")]
    MissingChallenge,
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    #[error("code_challenge must be 43 base64url characters (S256)")]
    MalformedChallenge,
}

fn is_base64url(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks the authorization request's PKCE parameters; returns the challenge to store.
pub fn validate_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, PkceError> {
    let challenge = challenge.filter(|c| !c.is_empty()).ok_or(PkceError::MissingChallenge)?;
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    if challenge.len() != 43 || !is_base64url(challenge) {
        return Err(PkceError::MalformedChallenge);
    }
    Ok(challenge.to_owned())
}

/// Whether `verifier` is well-formed (43-128 unreserved characters) and hashes to `challenge`.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = platform::secret::sha256_base64url(verifier.as_bytes());
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_challenge_is_accepted() {
        assert_eq!(validate_challenge(Some(CHALLENGE), Some("S256")), Ok(CHALLENGE.to_owned()));
    }

    #[test]
    fn plain_and_missing_method_are_refused() {
        assert_eq!(validate_challenge(Some(CHALLENGE), Some("plain")), Err(PkceError::UnsupportedMethod));
        assert_eq!(validate_challenge(Some(CHALLENGE), None), Err(PkceError::UnsupportedMethod));
    }

    #[test]
    fn missing_or_malformed_challenge_is_refused() {
        assert_eq!(validate_challenge(None, Some("S256")), Err(PkceError::MissingChallenge));
        assert_eq!(validate_challenge(Some("short"), Some("S256")), Err(PkceError::MalformedChallenge));
        assert_eq!(
            validate_challenge(Some(&format!("{}!", &CHALLENGE[..42])), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
    }

    #[test]
    fn verifier_must_hash_to_the_challenge() {
        assert!(verify(VERIFIER, CHALLENGE));
        assert!(!verify(&VERIFIER.replace('d', "e"), CHALLENGE));
        assert!(!verify("short", CHALLENGE));
    }
}
