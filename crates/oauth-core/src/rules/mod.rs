//! The protocol rules, as pure functions: redirect URIs, the resource indicator, scopes, PKCE.

pub mod pkce;
pub mod redirect_uri;
pub mod resource;
pub mod scope;
