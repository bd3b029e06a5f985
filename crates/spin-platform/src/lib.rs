//! spin-platform (work in progress).
