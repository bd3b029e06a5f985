//! The protocol rules, as pure functions: redirect URIs, the resource indicator, scopes, PKCE,
//! and what text a client may have shown to users.

pub mod display_text;
pub mod pkce;
pub mod redirect_uri;
pub mod resource;
pub mod scope;
