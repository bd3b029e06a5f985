//! `[outbound_networking]` and `[[client_tls]]`, parsed with Spin's rules and error messages
//! (`factor-outbound-networking/src/runtime_config/spin.rs`).

use super::blocked::BlockedNetworks;
use super::tls::{ClientCert, ClientTls};
use ip_network::IpNetwork;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// What the runtime config says about outbound connections.
#[derive(Debug, Default)]
pub struct OutboundNetworking {
    pub blocked: BlockedNetworks,
    pub client_tls: Vec<ClientTls>,
}

impl OutboundNetworking {
    pub(crate) fn from_table(doc: &toml::Table, base: &Path) -> Result<Self, String> {
        let networking = match doc.get("outbound_networking") {
            Some(value) => value
                .clone()
                .try_into::<OutboundNetworkingToml>()
                .map_err(|e| format!("failed to parse [outbound_networking] table: {}", e.message()))?,
            None => OutboundNetworkingToml::default(),
        };
        let client_tls = match doc.get("client_tls") {
            Some(value) => {
                client_tls_entries(value, base).map_err(|e| format!("failed to parse [[client_tls]] table: {e}"))?
            }
            None => Vec::new(),
        };
        let mut networks = Vec::new();
        let mut block_private = false;
        for entry in networking.block_networks {
            match entry {
                CidrOrPrivate::Cidr(network) => networks.push(network),
                CidrOrPrivate::Private => block_private = true,
            }
        }
        Ok(Self { blocked: BlockedNetworks::new(&networks, block_private), client_tls })
    }
}

/// `[outbound_networking]`. The connection limits are accepted as Spin 4.1 does, not enforced.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboundNetworkingToml {
    #[serde(default)]
    block_networks: Vec<CidrOrPrivate>,
    #[serde(default, rename = "max_socket_connections")]
    _max_socket_connections: Option<usize>,
    #[serde(default, rename = "max_total_connections")]
    _max_total_connections: Option<usize>,
}

#[derive(Debug)]
enum CidrOrPrivate {
    Cidr(IpNetwork),
    Private,
}

impl<'de> Deserialize<'de> for CidrOrPrivate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "private" {
            return Ok(Self::Private);
        }
        // Host bits are dropped ("1.2.3.4/16" is 1.2.0.0/16), as in Spin.
        IpNetwork::from_str_truncate(&text).map(Self::Cidr).map_err(|_| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &"an IP network in CIDR notation or the keyword 'private'",
            )
        })
    }
}

/// One `[[client_tls]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientTlsToml {
    component_ids: Vec<KebabId>,
    #[serde(deserialize_with = "tls_hosts")]
    hosts: Vec<String>,
    ca_use_platform_roots: Option<bool>,
    ca_use_webpki_roots: Option<bool>,
    ca_roots_file: Option<PathBuf>,
    client_cert_file: Option<PathBuf>,
    client_private_key_file: Option<PathBuf>,
}

fn client_tls_entries(value: &toml::Value, base: &Path) -> Result<Vec<ClientTls>, String> {
    let tables: Vec<ClientTlsToml> = value.clone().try_into().map_err(|e| e.message().to_string())?;
    tables
        .into_iter()
        .map(|t| load_client_tls(t, base).map_err(|e| format!("failed to parse TLS config: {e}")))
        .collect()
}

fn load_client_tls(toml: ClientTlsToml, base: &Path) -> Result<ClientTls, String> {
    if toml.component_ids.is_empty() {
        return Err("'component_ids' list may not be empty".into());
    }
    if toml.hosts.is_empty() {
        return Err("'hosts' list may not be empty".into());
    }
    // Neither set: platform roots, unless explicit roots were given (then only those).
    let (use_platform_roots, use_webpki_roots) = match (toml.ca_use_platform_roots, toml.ca_use_webpki_roots) {
        (Some(platform), Some(webpki)) => (platform, webpki),
        (Some(platform), None) => (platform, false),
        (None, Some(webpki)) => (false, webpki),
        (None, None) => (toml.ca_roots_file.is_none(), false),
    };
    let root_certificates = match &toml.ca_roots_file {
        Some(file) => load_certs(&base.join(file))?,
        None => Vec::new(),
    };
    let client_cert = match (&toml.client_cert_file, &toml.client_private_key_file) {
        (Some(cert), Some(key)) => {
            Some(ClientCert { cert_chain: load_certs(&base.join(cert))?, key: load_key(&base.join(key))? })
        }
        (None, None) => None,
        (Some(_), None) => return Err("client_cert_file specified without client_private_key_file".into()),
        (None, Some(_)) => return Err("client_private_key_file specified without client_cert_file".into()),
    };
    Ok(ClientTls {
        component_ids: toml.component_ids.into_iter().map(|id| id.0).collect(),
        hosts: toml.hosts,
        use_platform_roots,
        use_webpki_roots,
        root_certificates,
        client_cert,
    })
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("failed to load certificate(s) from '{}': {e}", path.display()))
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("failed to load key from '{}': {e}", path.display()))
}

/// Each host must be an authority without port (`validate_host` in Spin).
fn tls_hosts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let hosts = Vec::<String>::deserialize(deserializer)?;
    for host in &hosts {
        let authority: http::uri::Authority =
            host.parse().map_err(|_| serde::de::Error::custom(format!("invalid TLS 'host' {host:?}")))?;
        if authority.port().is_some() {
            return Err(serde::de::Error::custom(format!(
                "invalid TLS 'host' {host:?}; ports not currently supported"
            )));
        }
    }
    Ok(hosts)
}

/// A component id as Spin's manifest allows it: kebab-case words (`spin_serde::KebabId`).
#[derive(Debug)]
struct KebabId(String);

impl<'de> Deserialize<'de> for KebabId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        check_kebab_id(&id).map_err(serde::de::Error::custom)?;
        Ok(Self(id))
    }
}

fn check_kebab_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty".into());
    }
    if id.contains('_') {
        return Err("words must be separated with '-', not '_'".into());
    }
    for word in id.split('-') {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err("'-'-separated words must not be empty".into());
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!("'-'-separated words must start with an ASCII letter; got {first:?}"));
        }
        let upper = first.is_ascii_uppercase();
        for ch in chars.filter(|c| !c.is_ascii_digit()) {
            if !ch.is_ascii_alphanumeric() {
                return Err(format!("'-'-separated words may only contain alphanumeric ASCII; got {ch:?}"));
            }
            if ch.is_ascii_uppercase() != upper {
                return Err(format!("'-'-separated words must be all lowercase or all UPPERCASE; got {word:?}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, base: &Path) -> Result<OutboundNetworking, String> {
        OutboundNetworking::from_table(&toml::from_str(text).expect("valid TOML"), base)
    }

    #[test]
    fn block_networks_take_cidrs_and_private() {
        let config = parse(
            "[outbound_networking]\nblock_networks = [\"1.1.1.1/32\", \"8.8.8.8/16\", \"private\"]\n",
            Path::new("."),
        )
        .expect("valid");
        assert!(config.blocked.is_blocked("1.1.1.1".parse().expect("ip")));
        assert!(config.blocked.is_blocked("8.8.1.2".parse().expect("ip")), "host bits are truncated");
        assert!(config.blocked.is_blocked("10.0.0.1".parse().expect("ip")));
        assert!(!config.blocked.is_blocked("9.9.9.9".parse().expect("ip")));
        let empty = parse("[outbound_networking]\n", Path::new(".")).expect("valid");
        assert!(empty.blocked.is_empty());
        parse("[outbound_networking]\nmax_total_connections = 10\nmax_socket_connections = 5\n", Path::new("."))
            .expect("Spin 4.1's connection limits are accepted");
    }

    #[test]
    fn outbound_networking_errors_are_spins() {
        let err = parse("[outbound_networking]\nblock_networks = [\"nope\"]\n", Path::new(".")).expect_err("bad");
        assert_eq!(
            err,
            "failed to parse [outbound_networking] table: invalid value: string \"nope\", expected an IP \
             network in CIDR notation or the keyword 'private'"
        );
        let err = parse("[outbound_networking]\nallow = []\n", Path::new(".")).expect_err("unknown field");
        assert!(err.starts_with("failed to parse [outbound_networking] table: unknown field `allow`"), "{err}");
    }

    #[test]
    fn client_tls_defaults_follow_spin() {
        let dir = tempfile::tempdir().expect("temp dir");
        let only_hosts = "[[client_tls]]\ncomponent_ids = [\"a-b\"]\nhosts = [\"example.com\"]\n";
        let tls = &parse(only_hosts, dir.path()).expect("valid").client_tls[0];
        assert!(tls.use_platform_roots && !tls.use_webpki_roots && tls.root_certificates.is_empty());

        let pem = spin_local_testing::TestCa::new().ca_pem().to_owned();
        std::fs::write(dir.path().join("ca.pem"), pem).expect("write CA");
        let with_roots = format!("{only_hosts}ca_roots_file = \"ca.pem\"\n");
        let tls = &parse(&with_roots, dir.path()).expect("valid").client_tls[0];
        assert!(!tls.use_platform_roots && !tls.use_webpki_roots, "only the given roots");
        assert_eq!(tls.root_certificates.len(), 1);
        let webpki = format!("{with_roots}ca_use_webpki_roots = true\n");
        let tls = &parse(&webpki, dir.path()).expect("valid").client_tls[0];
        assert!(!tls.use_platform_roots && tls.use_webpki_roots);
    }

    #[test]
    fn client_tls_errors_are_spins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cases = [
            (
                "component_ids = []\nhosts = [\"h\"]",
                "failed to parse TLS config: 'component_ids' list may not be empty",
            ),
            ("component_ids = [\"a\"]\nhosts = []", "failed to parse TLS config: 'hosts' list may not be empty"),
            (
                "component_ids = [\"a\"]\nhosts = [\"h:443\"]",
                "invalid TLS 'host' \"h:443\"; ports not currently supported",
            ),
            ("component_ids = [\"a_b\"]\nhosts = [\"h\"]", "words must be separated with '-', not '_'"),
            ("component_ids = [\"a\"]\nhosts = [\"h\"]\nca_file = \"x\"", "unknown field `ca_file`"),
            (
                "component_ids = [\"a\"]\nhosts = [\"h\"]\nca_roots_file = \"missing.pem\"",
                "failed to load certificate(s) from '",
            ),
            (
                "component_ids = [\"a\"]\nhosts = [\"h\"]\nclient_cert_file = \"c.pem\"",
                "client_cert_file specified without client_private_key_file",
            ),
            (
                "component_ids = [\"a\"]\nhosts = [\"h\"]\nclient_private_key_file = \"k.pem\"",
                "client_private_key_file specified without client_cert_file",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(&format!("[[client_tls]]\n{body}\n"), dir.path()).expect_err(body);
            assert!(err.starts_with("failed to parse [[client_tls]] table: "), "{err}");
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn kebab_ids_follow_spins_rules() {
        for ok in ["a", "oauth-provider", "abc1-x2", "ABC-def"] {
            check_kebab_id(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["", "a--b", "-a", "1a", "aB", "a.b"] {
            assert!(check_kebab_id(bad).is_err(), "{bad}");
        }
    }
}
