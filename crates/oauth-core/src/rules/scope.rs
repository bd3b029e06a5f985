//! Scopes. The server offers one scope, `mcp` (use the MCP server). A request without `scope`
//! gets `mcp`. Scopes we do not know are dropped rather than refused (RFC 6749 §3.3 lets the
//! server grant less; the token response always names the granted scope), because clients
//! add things like `offline_access` or `openid`; a request that is left with nothing we offer
//! is `invalid_scope`. On refresh, the scope may only narrow (RFC 6749 §6).

/// The scope that grants use of the MCP server.
pub const MCP: &str = "mcp";

/// `scopes_supported` in both metadata documents.
pub const SUPPORTED: &[&str] = &[MCP];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("none of the requested scopes is supported (supported: mcp)")]
    NoneSupported,
    #[error("the requested scope exceeds the scope originally granted")]
    Widened,
}

fn split(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|s| !s.is_empty())
}

/// The scopes to grant for an authorization request's `scope` parameter.
pub fn grantable(requested: Option<&str>) -> Result<Vec<String>, ScopeError> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(vec![MCP.to_owned()]);
    };
    let mut granted: Vec<String> = Vec::new();
    for scope in split(requested).filter(|s| SUPPORTED.contains(s)) {
        if !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    if granted.is_empty() { Err(ScopeError::NoneSupported) } else { Ok(granted) }
}

/// The scope of a refreshed access token: `requested` must be a subset of `granted`.
pub fn narrow(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, ScopeError> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(granted.to_vec());
    };
    let mut narrowed: Vec<String> = Vec::new();
    for scope in split(requested) {
        if !granted.iter().any(|g| g == scope) {
            return Err(ScopeError::Widened);
        }
        if !narrowed.iter().any(|n| n == scope) {
            narrowed.push(scope.to_owned());
        }
    }
    Ok(narrowed)
}

/// The space-separated form.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scope_defaults_to_mcp() {
        assert_eq!(grantable(None), Ok(vec!["mcp".to_owned()]));
        assert_eq!(grantable(Some("  ")), Ok(vec!["mcp".to_owned()]));
    }

    #[test]
    fn unknown_scopes_are_dropped() {
        assert_eq!(grantable(Some("openid mcp offline_access mcp")), Ok(vec!["mcp".to_owned()]));
    }

    #[test]
    fn only_unknown_scopes_is_invalid_scope() {
        assert_eq!(grantable(Some("openid admin")), Err(ScopeError::NoneSupported));
    }

    #[test]
    fn refresh_scope_may_narrow_but_not_widen() {
        let granted = vec!["mcp".to_owned()];
        assert_eq!(narrow(&granted, None), Ok(granted.clone()));
        assert_eq!(narrow(&granted, Some("mcp")), Ok(granted.clone()));
        assert_eq!(narrow(&granted, Some("mcp admin")), Err(ScopeError::Widened));
    }
}
