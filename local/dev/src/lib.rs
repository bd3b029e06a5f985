//! The run command's parts (`cargo dev`, `src/main.rs`): the development sign-in ([`sign_in`]),
//! an OIDC provider speaking Clerk's shapes with a pick-a-user page, for running the app without
//! a Clerk instance. DEVELOPMENT ONLY.

pub mod sign_in;
