//! The OAuth 2.1 authorization server model: clients, grants, codes, tokens, their key-value
//! records and the rules around them.

pub mod props;

pub use props::UserProps;
