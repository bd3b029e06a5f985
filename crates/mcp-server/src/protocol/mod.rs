//! The wire protocol: JSON-RPC framing and MCP protocol versions.

pub mod jsonrpc;
pub mod version;
