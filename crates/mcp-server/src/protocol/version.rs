//! MCP protocol versions: which we speak, negotiation, and which wire shape each expects.

use rmcp::model::ProtocolVersion;

/// Every version this server speaks, oldest first. 2024-11-05 is what legacy HTTP+SSE clients
/// still send in `initialize`; tools behave the same under all of them.
pub const SUPPORTED: [ProtocolVersion; 5] = [
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// What a request without any version signal is assumed to speak (Streamable HTTP spec:
/// "the server SHOULD assume protocol version 2025-03-26").
pub const ASSUMED: ProtocolVersion = ProtocolVersion::V_2025_03_26;

/// The supported version named `text`, if any.
pub fn supported(text: &str) -> Option<ProtocolVersion> {
    SUPPORTED.iter().find(|v| v.as_str() == text).cloned()
}

/// The version to answer `initialize` with: the client's when we speak it over the handshake,
/// otherwise the newest version that still has one (2026-07-28 dropped `initialize`).
pub fn negotiate(requested: &str) -> ProtocolVersion {
    match supported(requested) {
        Some(version) if version.has_initialize() => version,
        _ => ProtocolVersion::LATEST_WITH_INITIALIZE,
    }
}

/// True for the stateless revisions (2026-07-28 on): per-request `_meta`, `resultType`.
pub fn is_stateless(version: &ProtocolVersion) -> bool {
    !version.has_initialize()
}

pub fn supported_list() -> String {
    SUPPORTED.iter().map(ProtocolVersion::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_echoes_each_supported_handshake_version() {
        for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
            assert_eq!(negotiate(v).as_str(), v);
        }
    }

    #[test]
    fn initialize_with_unknown_or_stateless_version_gets_latest_handshake_version() {
        for v in ["1999-01-01", "2030-01-01", "garbage", "2026-07-28"] {
            assert_eq!(negotiate(v), ProtocolVersion::V_2025_11_25, "{v}");
        }
    }

    #[test]
    fn only_2026_07_28_is_stateless() {
        assert!(is_stateless(&ProtocolVersion::V_2026_07_28));
        assert!(!is_stateless(&ProtocolVersion::V_2025_11_25));
        assert!(supported("2025-06-18").is_some() && supported("2025-06-19").is_none());
    }
}
