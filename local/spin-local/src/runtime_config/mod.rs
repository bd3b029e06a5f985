//! Spin's runtime-config file (`--runtime-config-file`), the parts spin-local implements:
//!
//! ```toml
//! [key_value_store.default]
//! type = "spin"                 # SQLite; `path` is relative to this file's directory.
//! path = ".spin/kv.db"          # without `path`, Spin keeps the store in memory
//!
//! [key_value_store.cache]
//! type = "redis"
//! url = "redis://127.0.0.1:6379"
//!
//! [outbound_networking]
//! block_networks = ["private", "1.1.1.1/32"]   # checked on every resolved address
//!
//! [[client_tls]]
//! component_ids = ["oauth-provider"]
//! hosts = ["localhost"]
//! ca_roots_file = "test-ca.pem"                # relative to this file's directory
//! ```
//!
//! Like Spin, a top-level key Spin does not know is an error ("unused runtime config key(s)");
//! the other sections Spin knows (`sqlite_database`, `variables_provider`, `llm_compute`,
//! `outbound_http`, ...) are accepted and ignored.

pub use crate::outbound::OutboundNetworking;

use crate::error::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where one store lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Sqlite(PathBuf),
    Memory,
    Redis(String),
}

/// The runtime config: key-value stores by label, and outbound networking.
#[derive(Debug, Default)]
pub struct RuntimeConfig {
    pub key_value_stores: BTreeMap<String, StoreConfig>,
    pub outbound: OutboundNetworking,
}

/// Every top-level key Spin 4.1 reads; any other is refused, as Spin does.
const SPIN_KEYS: [&str; 15] = [
    "state_dir",
    "log_dir",
    "max_instance_memory",
    "key_value_store",
    "sqlite_database",
    "variables_provider",
    "config_provider",
    "llm_compute",
    "outbound_http",
    "outbound_mqtt",
    "outbound_mysql",
    "outbound_pg",
    "outbound_redis",
    "outbound_networking",
    "client_tls",
];

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|message| Error::RuntimeConfig { path: path.to_path_buf(), message })
    }

    /// Parses the TOML text; relative paths resolve against `base` (the file's directory).
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut key_value_stores = BTreeMap::new();
        if let Some(stores) = doc.get("key_value_store") {
            let stores = stores.as_table().ok_or("`key_value_store` must be a table of labels")?;
            for (label, table) in stores {
                let table = table.as_table().ok_or_else(|| format!("key_value_store.{label} must be a table"))?;
                key_value_stores.insert(label.clone(), store_config(label, table, base)?);
            }
        }
        let outbound = OutboundNetworking::from_table(&doc, base)?;
        check_all_keys_known(&doc)?;
        Ok(Self { key_value_stores, outbound })
    }
}

fn check_all_keys_known(doc: &toml::Table) -> Result<(), String> {
    let unknown: Vec<&str> = doc.keys().map(String::as_str).filter(|k| !SPIN_KEYS.contains(k)).collect();
    if unknown.is_empty() { Ok(()) } else { Err(format!("unused runtime config key(s): {}", unknown.join(", "))) }
}

fn store_config(label: &str, table: &toml::Table, base: &Path) -> Result<StoreConfig, String> {
    let field = |name: &str| table.get(name).and_then(|v| v.as_str());
    match field("type") {
        Some("spin") => Ok(match field("path") {
            Some(p) => StoreConfig::Sqlite(base.join(p)),
            None => StoreConfig::Memory,
        }),
        Some("redis") => field("url")
            .map(|u| StoreConfig::Redis(u.to_string()))
            .ok_or_else(|| format!("key_value_store.{label}: type \"redis\" needs `url`")),
        Some(other) => Err(format!(
            "key_value_store.{label}: type \"{other}\" is not supported by spin-local \
             (supported: \"spin\", \"redis\")"
        )),
        None => Err(format!("key_value_store.{label}: missing `type`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spin_memory_and_redis() {
        let text = r#"
            [key_value_store.default]
            type = "spin"
            path = "data/kv.db"
            [key_value_store.mem]
            type = "spin"
            [key_value_store.cache]
            type = "redis"
            url = "redis://127.0.0.1:1"
        "#;
        let rc = RuntimeConfig::parse(text, Path::new("/cfg")).expect("parses");
        let s = &rc.key_value_stores;
        assert_eq!(s["default"], StoreConfig::Sqlite(PathBuf::from("/cfg/data/kv.db")));
        assert_eq!(s["mem"], StoreConfig::Memory);
        assert_eq!(s["cache"], StoreConfig::Redis("redis://127.0.0.1:1".into()));
    }

    #[test]
    fn rejects_unknown_types() {
        assert!(RuntimeConfig::parse("[key_value_store.x]\ntype = \"azure_cosmos\"", Path::new(".")).is_err());
    }

    #[test]
    fn unknown_top_level_keys_are_refused_like_spin_and_known_ones_accepted() {
        let err = RuntimeConfig::parse("baz = \"/baz\"\n", Path::new(".")).expect_err("unknown key");
        assert_eq!(err, "unused runtime config key(s): baz");
        let known = "state_dir = \"/s\"\n[sqlite_database.default]\ntype = \"spin\"\n[outbound_http]\n";
        RuntimeConfig::parse(known, Path::new(".")).expect("keys Spin knows");
    }
}
