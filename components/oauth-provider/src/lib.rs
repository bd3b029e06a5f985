//! oauth-provider (work in progress).
