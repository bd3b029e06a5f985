//! clerk-client (work in progress).
