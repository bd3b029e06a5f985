//! spin-local's own tests, compiled into one test binary (each file beside this one is a module):
//! a fixture component exercises every host interface over HTTP. Filter by module:
//! `cargo test -p spin-local kv_backends::`.

mod common;

mod cli_up;
mod kv_backends;
mod outbound_http;
mod outbound_https;
mod routing_and_headers;
mod streaming_and_traps;
mod variables;
