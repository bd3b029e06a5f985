//! mcp-server (work in progress).
