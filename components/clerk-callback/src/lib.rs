//! clerk-callback (work in progress).
