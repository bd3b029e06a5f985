//! The MCP server, host-agnostic: JSON-RPC dispatch on `rmcp` model types, the tools, the
//! Streamable HTTP endpoint (`POST /mcp`) and the legacy HTTP+SSE transport's mailbox.
//!
//! No `spin-sdk` here: storage, outbound HTTP and token verification come in through ports, so
//! every endpoint is tested natively. `components/mcp-handler` adapts this to Spin.

pub mod tools;

pub mod dispatch;
pub mod protocol;
#[cfg(test)]
mod test_support;
