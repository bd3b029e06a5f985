//! sign-in-flow (work in progress).
