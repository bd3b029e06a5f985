//! HTTP endpoints (todo).
