//! Verifying a webhook as Svix signs it (Standard Webhooks, which Clerk's webhooks follow).
//!
//! - Headers: `svix-id` (the message id, the same on every retry), `svix-timestamp` (Unix
//!   seconds of this attempt) and `svix-signature`: space-separated `<version>,<base64>` entries.
//!   Only `v1` entries (HMAC-SHA256) are ours to check; others (`v1a`, asymmetric) are skipped.
//! - Signed content: `<svix-id>.<svix-timestamp>.<raw body>`, HMAC-SHA256 keyed with the
//!   base64-decoded secret after its `whsec_` prefix.
//! - Any one valid signature passes, under any one configured secret: during a rotation Svix
//!   signs with both the old and the new secret, and an operator may configure both.
//! - The timestamp must be within [`TOLERANCE_SECS`] of now, either way: a captured request
//!   cannot be replayed later, and its signature covers the timestamp.
//!
//! Signatures are compared in constant time (`subtle`), so the comparison does not tell an
//! attacker how much of a forged signature was right.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far the timestamp may be from now, in either direction (Svix's own libraries use 5
/// minutes too).
pub const TOLERANCE_SECS: u64 = 5 * 60;

/// The longest `svix-id` accepted (Svix's are `msg_` and 27 characters).
pub const MAX_ID_LEN: usize = 128;

/// Entries read from one `svix-signature` header at most (Svix sends one per active secret).
const MAX_SIGNATURES: usize = 16;

/// The length of an HMAC-SHA256 signature.
const SIGNATURE_LEN: usize = 32;

/// The header names, as Clerk (through Svix) sends them.
pub const ID_HEADER: &str = "svix-id";
pub const TIMESTAMP_HEADER: &str = "svix-timestamp";
pub const SIGNATURE_HEADER: &str = "svix-signature";

/// The prefix of a Svix signing secret.
const SECRET_PREFIX: &str = "whsec_";

/// The configured signing secrets (the decoded keys), at least one.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets(Vec<Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} configured)", self.0.len())
    }
}

/// Why the configured secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("no secret is configured")]
    Empty,
    #[error("secret number {position} is not `whsec_` followed by base64 (copy it from the Clerk dashboard)")]
    Malformed { position: usize },
}

impl Secrets {
    /// Parses the variable's value: one or more secrets separated by spaces or commas, each
    /// `whsec_<base64>` (a bare base64 key is accepted too, as Svix's libraries do).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let parts: Vec<&str> = text.split([' ', ',', '\t', '\n']).filter(|part| !part.is_empty()).collect();
        if parts.is_empty() {
            return Err(SecretError::Empty);
        }
        let keys = parts
            .iter()
            .enumerate()
            .map(|(index, part)| {
                let encoded = part.strip_prefix(SECRET_PREFIX).unwrap_or(part);
                STANDARD
                    .decode(encoded)
                    .ok()
                    .filter(|key| !key.is_empty())
                    .ok_or(SecretError::Malformed { position: index + 1 })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(keys))
    }
}

/// The three headers of a delivery, as sent.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Why a delivery is refused. Each is the sender's fault (a 4xx); none changes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    #[error("the `svix-id` header is not a message id (1 to 128 visible ASCII characters)")]
    MalformedId,
    #[error("the `svix-timestamp` header is not Unix seconds")]
    MalformedTimestamp,
    #[error("the `svix-timestamp` is more than 5 minutes from now")]
    OutsideTolerance,
    #[error("no `v1` signature in `svix-signature` matches the body under the configured secret")]
    NoValidSignature,
}

impl SignatureError {
    /// A short fixed code for answers and the audit trail.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader(_) | SignatureError::MalformedId | SignatureError::MalformedTimestamp => {
                "invalid_request"
            }
            SignatureError::OutsideTolerance => "stale_timestamp",
            SignatureError::NoValidSignature => "invalid_signature",
        }
    }
}

/// A delivery whose signature was verified: its message id (the same on every retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub id: String,
    pub timestamp: u64,
}

/// Checks the headers and `body` of a delivery against `secrets` at time `now` (Unix seconds).
pub fn verify(
    secrets: &Secrets,
    headers: SignedHeaders<'_>,
    body: &[u8],
    now: u64,
) -> Result<Verified, SignatureError> {
    let id = headers.id.ok_or(SignatureError::MissingHeader(ID_HEADER))?;
    let timestamp_text = headers.timestamp.ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
    let signature = headers.signature.ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SignatureError::MalformedId);
    }
    let timestamp = parse_timestamp(timestamp_text)?;
    if timestamp.abs_diff(now) > TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance);
    }
    let candidates: Vec<Vec<u8>> = signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .take(MAX_SIGNATURES)
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        .filter(|candidate| candidate.len() == SIGNATURE_LEN)
        .collect();
    let mut any = false;
    for key in &secrets.0 {
        let expected = sign(key, id, timestamp_text, body);
        if expected.len() != SIGNATURE_LEN {
            continue;
        }
        for candidate in &candidates {
            // No early exit: every candidate is compared under every secret.
            any |= bool::from(expected.as_slice().ct_eq(candidate.as_slice()));
        }
    }
    if !any {
        return Err(SignatureError::NoValidSignature);
    }
    Ok(Verified { id: id.to_owned(), timestamp })
}

/// Digits only (Svix sends plain Unix seconds), at most 20 of them.
fn parse_timestamp(text: &str) -> Result<u64, SignatureError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    text.parse().map_err(|_| SignatureError::MalformedTimestamp)
}

/// HMAC-SHA256 of `<id>.<timestamp>.<body>` under `key`.
fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `svix-signature` header value Svix would send for this delivery under `secret` (one
/// `whsec_` secret): for tests, and for anyone checking their set-up by hand.
pub fn signature_header(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String, SecretError> {
    let secrets = Secrets::parse(secret)?;
    let parts: Vec<String> = secrets
        .0
        .iter()
        .map(|key| format!("v1,{}", STANDARD.encode(sign(key, id, &timestamp.to_string(), body))))
        .collect();
    Ok(parts.join(" "))
}

#[cfg(test)]
mod tests;
