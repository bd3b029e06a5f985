//! `allowed_outbound_hosts`: `scheme://host[:port]` with `*` wildcards, no paths (Spin's rules).

/// One allowed destination.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com` is stored as `.example.com`.
    Suffix(String),
}

impl AllowedHost {
    /// Parses one entry, after templates were rendered.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let (scheme, rest) = entry.split_once("://").ok_or("expected `scheme://host[:port]`")?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err("has a path but is not allowed to".into());
        }
        let (host, port) = split_port(rest)?;
        if host.is_empty() {
            return Err("has no host".into());
        }
        let host = match host {
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Suffix(h[1..].to_ascii_lowercase()),
            h if h.contains('*') => return Err("`*` may only stand for a whole host or a subdomain".into()),
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        Ok(Self { scheme: (scheme != "*").then(|| scheme.to_ascii_lowercase()), host, port })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry. A missing port in
    /// the entry means the scheme's default port.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == scheme);
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Suffix(s) => host.ends_with(s.as_str()),
        };
        let port_ok = match self.port {
            Some(0) => true,
            Some(p) => p == port,
            None => default_port(self.scheme.as_deref().unwrap_or(scheme)) == Some(port),
        };
        scheme_ok && host_ok && port_ok
    }
}

/// `host:port`, `host:*` (stored as port 0 = any) or `host`; `[v6]:port` too.
fn split_port(rest: &str) -> Result<(&str, Option<u16>), String> {
    let colon = match rest.rfind(':') {
        Some(i) if !rest[i..].contains(']') => i,
        _ => return Ok((rest, None)),
    };
    let (host, port) = (&rest[..colon], &rest[colon + 1..]);
    if port == "*" {
        return Ok((host, Some(0)));
    }
    let port: u16 = port.parse().map_err(|_| format!("invalid port `{port}`"))?;
    Ok((host, Some(port)))
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A component's allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

impl AllowedHosts {
    pub fn new(entries: Vec<AllowedHost>) -> Self {
        Self { entries }
    }

    pub fn allows_uri(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let Some(host) = uri.host() else {
            return false;
        };
        let Some(port) = uri.port_u16().or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.entries.iter().any(|e| e.allows(&scheme, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entry: &str, uri: &str) -> bool {
        let hosts = AllowedHosts::new(vec![AllowedHost::parse(entry).expect("valid entry")]);
        hosts.allows_uri(&uri.parse().expect("valid uri"))
    }

    #[test]
    fn exact_host_uses_default_port() {
        assert!(allows("https://api.clerk.com", "https://api.clerk.com/v1/users"));
        assert!(!allows("https://api.clerk.com", "https://api.clerk.com:8443/"));
        assert!(!allows("https://api.clerk.com", "http://api.clerk.com/"));
    }

    #[test]
    fn wildcards() {
        assert!(allows("*://*:*", "http://x.y:1234/"));
        assert!(allows("https://*.example.com", "https://a.example.com/"));
        assert!(!allows("https://*.example.com", "https://example.org/"));
        assert!(allows("http://127.0.0.1:*", "http://127.0.0.1:5/"));
    }

    #[test]
    fn paths_are_rejected() {
        assert!(AllowedHost::parse("https://a.com/path").is_err());
        assert!(AllowedHost::parse("https://a.com/").is_ok());
    }
}
