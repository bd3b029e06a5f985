//! Spin's runtime-config file (`--runtime-config-file`), the `[key_value_store.<label>]` part:
//!
//! ```toml
//! [key_value_store.default]
//! type = "spin"                 # SQLite; `path` is relative to this file's directory.
//! path = ".spin/kv.db"          # without `path`, Spin keeps the store in memory
//!
//! [key_value_store.cache]
//! type = "redis"
//! url = "redis://127.0.0.1:6379"
//! ```
//!
//! Other sections are accepted and ignored (spin-local implements no other runtime config).

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

/// The key-value part of a runtime config: label -> store.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub key_value_stores: BTreeMap<String, StoreConfig>,
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|message| Error::RuntimeConfig { path: path.to_path_buf(), message })
    }

    /// Parses the TOML text; relative SQLite paths resolve against `base`.
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
        Ok(Self { key_value_stores })
    }
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
}
