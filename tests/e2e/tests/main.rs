//! The end-to-end suite, compiled into one test binary: each file beside this one is a module
//! (one area of behaviour), so the suite links wasmtime once instead of once per file.
//!
//! Run one area with a filter on its module name: `cargo test -p e2e security::`,
//! `cargo test -p e2e oauth_flow::`; one test with its whole path.

mod mcp_support;

mod abuse;
mod cimd;
mod clerk_webhooks;
mod connected_apps;
mod host_contract;
mod mcp_bench;
mod mcp_sse;
mod mcp_streamable_http;
mod oauth_endpoints;
mod oauth_flow;
mod operator_console;
mod real_clients;
mod response_framing;
mod review_oauth;
mod review_sign_in;
mod runtime_bench;
mod scale_out;
mod scopes;
mod security;
mod sign_in_dev;
mod sign_in_failures;
mod sign_in_flow;
mod slow_clients;
mod spin_headers;
mod spin_local_up;
mod store_bounded;
mod sweep_bench;
