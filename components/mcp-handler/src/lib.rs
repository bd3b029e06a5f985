//! mcp-handler (work in progress).
