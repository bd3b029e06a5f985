//! The MCP server, host-agnostic: JSON-RPC dispatch on `rmcp` model types, the tools, the
//! Streamable HTTP endpoint (`POST /mcp`) and the legacy HTTP+SSE transport's mailbox.
//!
//! No `spin-sdk` here: storage, outbound HTTP and token verification come in through ports, so
//! every endpoint is tested natively. `components/mcp-handler` adapts this to Spin.

pub mod tools;

pub mod calls;
pub mod dispatch;
pub mod protocol;
pub mod routes;
pub mod settings;
pub mod sse;
#[cfg(test)]
mod test_support;
pub mod transport;

pub use routes::{Route, respond, route, route_path};
pub use settings::{MAX_BODY_BYTES, Settings};
pub use transport::{Services, handle_mcp};
