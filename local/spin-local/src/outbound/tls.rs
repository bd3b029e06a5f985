//! TLS client configuration per component and host: Spin's `[[client_tls]]` entries, and Spin's
//! default for every other https request (platform roots plus the webpki roots).

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One `[[client_tls]]` entry, validated and with its files loaded.
#[derive(Debug)]
pub struct ClientTls {
    pub component_ids: Vec<String>,
    /// Host names without port; a request's host must equal one exactly.
    pub hosts: Vec<String>,
    pub use_platform_roots: bool,
    pub use_webpki_roots: bool,
    /// `ca_roots_file`: trusted in addition to the roots chosen above.
    pub root_certificates: Vec<CertificateDer<'static>>,
    pub client_cert: Option<ClientCert>,
}

/// `client_cert_file` + `client_private_key_file`, for mutual TLS.
#[derive(Debug)]
pub struct ClientCert {
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

type HostConfigs = Arc<HashMap<String, Arc<ClientConfig>>>;

/// The app's TLS client configurations.
#[derive(Debug, Clone, Default)]
pub struct TlsConfigs {
    by_component: HashMap<String, HostConfigs>,
    default: DefaultConfig,
}

/// Spin's default: platform roots plus webpki roots, built on first use.
#[derive(Debug, Clone, Default)]
struct DefaultConfig(Arc<OnceLock<Result<Arc<ClientConfig>, String>>>);

impl DefaultConfig {
    fn get(&self) -> Result<Arc<ClientConfig>, String> {
        self.0.get_or_init(|| client_config(true, true, Vec::new(), None)).clone()
    }
}

impl TlsConfigs {
    /// Builds every entry's configuration; for a (component, host) pair the first entry wins.
    pub fn new(entries: Vec<ClientTls>) -> Result<Self, String> {
        let mut by_component: HashMap<String, HashMap<String, Arc<ClientConfig>>> = HashMap::new();
        for entry in entries {
            let config = client_config(
                entry.use_platform_roots,
                entry.use_webpki_roots,
                entry.root_certificates,
                entry.client_cert,
            )
            .map_err(|e| format!("error building TLS client config: {e}"))?;
            for component in &entry.component_ids {
                let hosts = by_component.entry(component.clone()).or_default();
                for host in &entry.hosts {
                    hosts.entry(host.clone()).or_insert_with(|| config.clone());
                }
            }
        }
        let by_component = by_component.into_iter().map(|(id, hosts)| (id, Arc::new(hosts))).collect();
        Ok(Self { by_component, default: DefaultConfig::default() })
    }

    pub fn for_component(&self, component_id: &str) -> ComponentTls {
        ComponentTls { hosts: self.by_component.get(component_id).cloned(), default: self.default.clone() }
    }
}

/// One component's TLS client configurations.
#[derive(Debug, Clone, Default)]
pub struct ComponentTls {
    hosts: Option<HostConfigs>,
    default: DefaultConfig,
}

impl ComponentTls {
    /// The configuration for `host` (as in the URI, without port): its `[[client_tls]]` entry, or
    /// Spin's default.
    pub fn config_for(&self, host: &str) -> Result<Arc<ClientConfig>, String> {
        match self.hosts.as_ref().and_then(|hosts| hosts.get(host)) {
            Some(config) => Ok(config.clone()),
            None => self.default.get(),
        }
    }
}

/// A rustls client configuration trusting the chosen roots (Spin's `TlsClientConfig::new`).
/// Only HTTP/1.1 is offered in ALPN: spin-local's client does not speak HTTP/2.
fn client_config(
    use_platform_roots: bool,
    use_webpki_roots: bool,
    root_certificates: Vec<CertificateDer<'static>>,
    client_cert: Option<ClientCert>,
) -> Result<Arc<ClientConfig>, String> {
    if !(use_platform_roots || use_webpki_roots || !root_certificates.is_empty()) {
        return Err(
            "at least one of 'use_platform_roots', 'use_webpki_roots', or 'root_certificates' must be set".into()
        );
    }
    let mut roots = RootCertStore::empty();
    for cert in root_certificates {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    if use_webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if use_platform_roots {
        roots.add_parsable_certificates(platform_roots().iter().cloned());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match client_cert {
        Some(ClientCert { cert_chain, key }) => {
            builder.with_client_auth_cert(cert_chain, key).map_err(|e| e.to_string())?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The operating system's trusted roots (on Linux what Spin's platform verifier reads too: the
/// system bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), read once per process.
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(component: &str, host: &str, webpki: bool) -> ClientTls {
        ClientTls {
            component_ids: vec![component.into()],
            hosts: vec![host.into()],
            use_platform_roots: false,
            use_webpki_roots: webpki,
            root_certificates: Vec::new(),
            client_cert: None,
        }
    }

    #[test]
    fn an_entry_without_any_roots_is_refused_with_spins_message() {
        let Err(e) = TlsConfigs::new(vec![entry("a", "h", false)]) else { panic!("no roots at all") };
        assert!(e.contains("at least one of 'use_platform_roots', 'use_webpki_roots'"), "{e}");
    }

    #[test]
    fn the_first_entry_for_a_component_and_host_wins_and_others_get_the_default() {
        let configs = TlsConfigs::new(vec![entry("a", "h", true), entry("a", "h", true)]).expect("valid");
        let a = configs.for_component("a");
        let first = a.config_for("h").expect("config");
        assert!(Arc::ptr_eq(&first, &a.config_for("h").expect("config")));
        let default = configs.for_component("b").config_for("h").expect("default");
        assert!(!Arc::ptr_eq(&first, &default));
        assert!(Arc::ptr_eq(&default, &a.config_for("other-host").expect("default")));
    }
}
