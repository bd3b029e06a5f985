//! `allowed_outbound_hosts`, parsed and matched by released Spin's rules (v3.5.0 to v4.0.2,
//! `crates/outbound-networking-config/src/allowed_hosts.rs`), with Spin's error messages:
//! `<scheme>://<host>[:<port>]`, `*` for any scheme, host or port, `*.domain` for subdomains,
//! CIDR ranges (`10.0.0.0/8`), port ranges (`8000..9000`), no paths.

use crate::error::Chain;
use crate::variables::Template;
use std::net::IpAddr;
use std::ops::Range;

/// Where Spin's own messages send a user who wrote a bad entry.
const LEARN_MORE: &str =
    "Learn more: https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";

/// One allowed destination.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum SchemePattern {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`, kept as `.example.com`.
    AnySubdomain(String),
    /// `self` / `self.alt`: the app itself, reached by relative URLs (spin-local has none).
    ToSelf,
    Literal(url::Host),
    Network(Cidr),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    Exact(u16),
    Range(Range<u16>),
}

impl AllowedHost {
    /// Parses one entry whose templates (if any) were rendered. Spin checks the port first,
    /// then the scheme, then the host; so does this, so the first error is the same.
    pub fn parse(entry: &str) -> Result<Self, Chain> {
        let url = entry.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(Chain::new(missing_scheme_message(url)));
        };
        let (host, rest) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match rest.split_once('/') {
            Some((_, path)) if !path.is_empty() => {
                return Err(Chain::new(format!("{url:?} has a path but is not allowed to")));
            }
            Some((port, _)) => port,
            None => rest,
        };
        let port =
            PortPattern::parse(port, scheme).map_err(|e| e.context(format!("Invalid allowed host port {port:?}")))?;
        let scheme =
            SchemePattern::parse(scheme).map_err(|e| e.context(format!("Invalid allowed host scheme {scheme:?}")))?;
        let host = HostPattern::parse(host).map_err(|e| e.context(format!("Invalid allowed host {host:?}")))?;
        Ok(Self { scheme, host, port })
    }

    /// Whether a request to `scheme://host[:port]` is allowed by this entry (a request without
    /// a port uses its scheme's well-known port).
    fn allows(&self, scheme: &str, host: &url::Host, port: Option<u16>) -> bool {
        self.scheme.allows(scheme)
            && self.host.allows(host)
            && self.port.allows(port.or_else(|| well_known_port(scheme)))
    }
}

fn missing_scheme_message(url: &str) -> String {
    match url {
        "*" | ":" | "" | "?" => format!(
            "{url:?} is not an allowed outbound host format.\nHosts must be in the form \
             <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to \
             allow all outbound networking, you can use '*://*:*' - this will obviate all network \
             sandboxing.\n{LEARN_MORE}"
        ),
        _ => format!("{url:?} does not contain a scheme (e.g., 'http://' or '*://')\n{LEARN_MORE}"),
    }
}

impl SchemePattern {
    fn parse(scheme: &str) -> Result<Self, Chain> {
        if scheme == "*" {
            return Ok(Self::Any);
        }
        if scheme.starts_with('{') {
            return Err(Chain::new("scheme lists are not supported"));
        }
        if scheme.chars().any(|c| !c.is_alphabetic()) {
            return Err(Chain::new("only alphabetic characters are allowed"));
        }
        Ok(Self::Exact(scheme.to_owned()))
    }

    fn allows(&self, scheme: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(s) => s == scheme,
        }
    }
}

impl HostPattern {
    fn parse(host: &str) -> Result<Self, Chain> {
        let host = host.trim();
        if host == "*" {
            return Ok(Self::Any);
        }
        if host == "self" || host == "self.alt" {
            return Ok(Self::ToSelf);
        }
        if host.starts_with('{') {
            if !host.ends_with('}') {
                return Err(Chain::new("Condition failed: `host.ends_with('}')`"));
            }
            return Err(Chain::new("host lists are not yet supported"));
        }
        if let Some(network) = Cidr::parse(host) {
            return Ok(Self::Network(network));
        }
        let host = host.trim_end_matches('/');
        if host.contains('/') {
            return Err(Chain::new("must not include a path"));
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                return Err(Chain::new("wildcards are allowed only as prefixes"));
            }
            return Ok(Self::AnySubdomain(format!(".{domain}")));
        }
        if host.contains('*') {
            return Err(Chain::new("wildcards are allowed only as subdomains"));
        }
        url::Host::parse(host).map(Self::Literal).map_err(|e| Chain::new(e.to_string()))
    }

    fn allows(&self, host: &url::Host) -> bool {
        match (self, host) {
            (Self::Any, _) => true,
            (Self::AnySubdomain(suffix), url::Host::Domain(domain)) => domain.ends_with(suffix.as_str()),
            (Self::Literal(literal), host) => literal == host,
            (Self::Network(network), url::Host::Ipv4(ip)) => network.contains(IpAddr::V4(*ip)),
            (Self::Network(network), url::Host::Ipv6(ip)) => network.contains(IpAddr::V6(*ip)),
            _ => false,
        }
    }
}

impl PortPattern {
    fn parse(port: &str, scheme: &str) -> Result<Self, Chain> {
        if port.is_empty() {
            return well_known_port(scheme).map(Self::Exact).ok_or_else(|| {
                Chain::new(format!(
                    "no port was provided and the scheme {scheme:?} does not have a known default port number"
                ))
            });
        }
        if port == "*" {
            return Ok(Self::Any);
        }
        if port.starts_with('{') {
            return Err(Chain::new("port lists are not yet supported"));
        }
        if let Some((start, end)) = port.split_once("..") {
            let number = |text: &str| {
                text.parse::<u16>()
                    .map_err(|e| Chain::new(e.to_string()).context(format!("port range {port:?} contains non-number")))
            };
            return Ok(Self::Range(number(start)?..number(end)?));
        }
        port.parse()
            .map(Self::Exact)
            .map_err(|e| Chain::new(e.to_string()).context(format!("port {port:?} is not a number")))
    }

    fn allows(&self, port: Option<u16>) -> bool {
        match (self, port) {
            (Self::Any, _) => true,
            (_, None) => false,
            (Self::Exact(p), Some(port)) => *p == port,
            (Self::Range(range), Some(port)) => range.contains(&port),
        }
    }
}

/// Spin's default ports for a scheme without one.
fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// An IP network in CIDR notation (`address/prefix`), host bits dropped (`10.1.2.3/8` is
/// `10.0.0.0/8`), as Spin's `ip_network::IpNetwork::from_str_truncate` reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = text.split_once('/')?;
        let address: IpAddr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then(|| Self { network: mask(address, prefix), prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

/// `ip` with all but its first `prefix` bits cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

/// One `allowed_outbound_hosts` item as Spin holds it before variables are resolved: a
/// literal, already parsed (a bad literal refuses the app at once), or a template.
#[derive(Debug, Clone)]
pub enum Entry {
    Exact(AllowedHost),
    Template(Template),
}

/// Spin's first pass over a component's list: every template parsed, every literal parsed.
pub fn parse_entries(items: &[String]) -> Result<Vec<Entry>, Chain> {
    if items.len() == 1 && items[0] == "insecure:allow-all" {
        return Err(Chain::new(
            "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all \
             outbound traffic'",
        ));
    }
    items
        .iter()
        .map(|item| {
            let template = Template::parse(item).map_err(|e| Chain::new(format!("invalid variable template: {e}")))?;
            if template.is_literal() {
                AllowedHost::parse(item).map(Entry::Exact)
            } else {
                Ok(Entry::Template(template))
            }
        })
        .collect()
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

    /// Nothing allowed: what released Spin enforces for a component whose list does not parse
    /// with the variables' values at run time (every check of it fails, so every request is denied).
    pub fn deny_all() -> Self {
        Self::default()
    }

    pub fn allows_uri(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let Some(host) = uri.host().and_then(|h| url::Host::parse(h).ok()) else {
            return false;
        };
        self.entries.iter().any(|e| e.allows(&scheme, &host, uri.port_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entry: &str, uri: &str) -> bool {
        let hosts = AllowedHosts::new(vec![AllowedHost::parse(entry).expect("valid entry")]);
        hosts.allows_uri(&uri.parse().expect("valid uri"))
    }

    fn error(entry: &str) -> Vec<String> {
        let chain = AllowedHost::parse(entry).expect_err("invalid entry");
        chain.messages().into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn exact_host_uses_the_schemes_well_known_port() {
        assert!(allows("https://api.clerk.com", "https://api.clerk.com/v1/users"));
        assert!(allows("https://api.clerk.com", "https://API.clerk.com:443/"));
        assert!(!allows("https://api.clerk.com", "https://api.clerk.com:8443/"));
        assert!(!allows("https://api.clerk.com", "http://api.clerk.com/"));
        assert!(allows("redis://cache", "redis://cache:6379"));
    }

    #[test]
    fn wildcards_cidr_and_port_ranges() {
        assert!(allows("*://*:*", "http://x.y:1234/"));
        assert!(allows("https://*.example.com", "https://a.example.com/"));
        assert!(!allows("https://*.example.com", "https://example.org/"));
        assert!(allows("http://127.0.0.1:*", "http://127.0.0.1:5/"));
        assert!(allows("http://10.0.0.0/8:*", "http://10.200.3.4:9/"));
        assert!(!allows("http://10.0.0.0/8:*", "http://11.0.0.1:9/"));
        assert!(!allows("http://10.0.0.0/8:*", "http://ten.example:9/"));
        assert!(allows("http://localhost:8000..8010", "http://localhost:8009/"));
        assert!(!allows("http://localhost:8000..8010", "http://localhost:8010/"));
        assert!(allows("http://[::1]:80", "http://[::1]/"));
    }

    #[test]
    fn self_is_accepted_but_matches_no_absolute_url() {
        assert!(!allows("http://self", "http://self/"));
        assert!(!allows("*://self.alt:*", "http://127.0.0.1:3000/"));
    }

    #[test]
    fn a_missing_scheme_or_an_empty_entry_is_refused_with_spins_message() {
        let empty = error("");
        assert_eq!(empty.len(), 1);
        assert!(empty[0].starts_with("\"\" is not an allowed outbound host format.\nHosts must be in the form"));
        assert!(error("*")[0].starts_with("\"*\" is not an allowed outbound host format."));
        assert!(error("api.clerk.com")[0].starts_with("\"api.clerk.com\" does not contain a scheme (e.g., 'http://' or '*://')\nLearn more: https://spinframework.dev/v3/http-outbound"));
    }

    #[test]
    fn paths_are_refused_where_spin_refuses_them() {
        assert_eq!(error("https://a.com:443/v1"), ["\"https://a.com:443/v1\" has a path but is not allowed to"]);
        assert_eq!(error("https://a.com/v1"), ["Invalid allowed host \"a.com/v1\"", "must not include a path"]);
        assert!(AllowedHost::parse("https://a.com/").is_ok());
        assert!(AllowedHost::parse("https://a.com:443/").is_ok());
    }

    #[test]
    fn ports_are_checked_first() {
        assert_eq!(
            error("*://a.com"),
            [
                "Invalid allowed host port \"\"",
                "no port was provided and the scheme \"*\" does not have a known default port number"
            ]
        );
        assert_eq!(
            error("https://a.com:x"),
            ["Invalid allowed host port \"x\"", "port \"x\" is not a number", "invalid digit found in string"]
        );
        assert_eq!(error("https://a.com:1..x")[1], "port range \"1..x\" contains non-number");
        assert_eq!(error("https://a.com:{1,2}")[1], "port lists are not yet supported");
        // Spin splits the port at the last colon, so a bracketed IPv6 host needs a port.
        assert_eq!(error("http://[::1]")[1], "port \"1]\" is not a number");
    }

    #[test]
    fn schemes_and_hosts() {
        assert_eq!(
            error("h2c+x://a.com:1"),
            ["Invalid allowed host scheme \"h2c+x\"", "only alphabetic characters are allowed"]
        );
        assert_eq!(error("{http,https}://a.com:1")[1], "scheme lists are not supported");
        assert_eq!(error("https://{a,b}")[1], "host lists are not yet supported");
        assert_eq!(error("https://a.*.com")[1], "wildcards are allowed only as subdomains");
        assert_eq!(error("https://*.a.*")[1], "wildcards are allowed only as prefixes");
        assert_eq!(error("https://"), ["Invalid allowed host \"\"", "empty host"]);
        assert_eq!(error("https://a b")[0], "Invalid allowed host \"a b\"");
    }

    #[test]
    fn entries_keep_templates_for_later_and_refuse_insecure_allow_all() {
        let items = ["https://a.com".to_owned(), "{{ origin }}".to_owned()];
        let entries = parse_entries(&items).expect("parses");
        assert!(matches!(entries[0], Entry::Exact(_)));
        assert!(matches!(&entries[1], Entry::Template(t) if t.to_string() == "{{ origin }}"));
        assert!(parse_entries(&["insecure:allow-all".to_owned()]).is_err());
        assert_eq!(
            parse_entries(&["{{ open".to_owned()]).expect_err("unmatched").messages(),
            ["invalid variable template: unmatched '{{' in template"]
        );
        let bad_literal = parse_entries(&["{{ ok }}".to_owned(), "nope".to_owned()]).expect_err("bad literal");
        assert!(bad_literal.messages()[0].starts_with("\"nope\" does not contain a scheme"));
    }
}
