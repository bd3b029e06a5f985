//! The MCP server, host-agnostic: JSON-RPC dispatch on `rmcp` model types, the tools, the
//! Streamable HTTP endpoint (`POST /mcp`) and the legacy HTTP+SSE transport's mailbox.
//!
//! No `spin-sdk` here: storage, outbound HTTP and token verification come in through ports, so
//! every endpoint is tested natively. `components/mcp-handler` adapts this to Spin.

pub mod tools;

pub mod calls;
pub mod config;
pub mod dispatch;
pub mod protocol;
pub mod sse;
#[cfg(test)]
mod test_support;
pub mod transport;

pub use config::{MAX_BODY_BYTES, McpConfig};
pub use transport::{Route, Services, handle_mcp, route, route_path};
