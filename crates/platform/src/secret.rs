//! Random secrets and their hashes. Secrets (codes, tokens, client secrets, state handles) are
//! stored only as SHA-256 hashes, so a leaked store does not leak usable credentials.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the host's random source failed: {0}")]
pub struct RandomError(String);

/// `N` bytes from the host's CSPRNG (`wasi:random` inside a component).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(bytes)
}

/// A 256-bit random secret, base64url without padding (43 characters).
pub fn random_token() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// SHA-256 of `secret`, as lowercase hex: the form a secret takes inside a key.
pub fn hash_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// base64url (no padding) of SHA-256, as PKCE S256 and OIDC hashes use.
pub fn sha256_base64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input))
}

/// Why [`seal`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("the data is too large to seal")]
    TooLarge,
}

/// Encrypts `plaintext` (ChaCha20-Poly1305) under a key derived from `secret` and `context`,
/// for data that only a presenter of `secret` may read back: the store holds only
/// `hash_hex(secret)` in the key, and that hash does not give the key (another derivation).
/// The result is base64url: a random nonce, then the ciphertext with its tag.
pub fn seal(context: &str, secret: &str, plaintext: &[u8]) -> Result<String, SealError> {
    let nonce = random_bytes::<12>()?;
    let cipher = cipher(context, secret);
    let sealed = cipher.encrypt(Nonce::from_slice(&nonce), plaintext).map_err(|_| SealError::TooLarge)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Decrypts what [`seal`] made with the same `context` and `secret`; `None` if anything differs.
pub fn unseal(context: &str, secret: &str, sealed: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    cipher(context, secret).decrypt(Nonce::from_slice(nonce), ciphertext).ok()
}

/// The key: SHA-256 over a domain-separated `context` and the secret.
fn cipher(context: &str, secret: &str) -> ChaCha20Poly1305 {
    let mut hasher = Sha256::new();
    hasher.update(b"mcp-clerk-oauth seal\0");
    hasher.update(context.as_bytes());
    hasher.update(b"\0");
    hasher.update(secret.as_bytes());
    ChaCha20Poly1305::new(&Key::from(<[u8; 32]>::from(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_the_same_secret_and_context() {
        let sealed = seal("refresh", "secret-a", b"payload").unwrap();
        assert_eq!(unseal("refresh", "secret-a", &sealed).as_deref(), Some(&b"payload"[..]));
        assert_eq!(unseal("refresh", "secret-b", &sealed), None);
        assert_eq!(unseal("other", "secret-a", &sealed), None);
        assert_eq!(unseal("refresh", "secret-a", "garbage"), None);
        assert!(!sealed.contains("payload"));
        assert_ne!(sealed, seal("refresh", "secret-a", b"payload").unwrap(), "a fresh nonce each time");
    }

    #[test]
    fn random_tokens_are_256_bits_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn hash_hex_is_sha256() {
        assert_eq!(hash_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn sha256_base64url_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            sha256_base64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
