//! The parts of a Spin manifest (`spin_manifest_version = 2`) that spin-local runs.
//!
//! Unknown fields are accepted and ignored (like `build`, `files`, `description`), so any
//! manifest `spin up` accepts parses here; features spin-local lacks are refused when used.
//! What released Spin refuses at load is refused here too (its check of `allowed_outbound_hosts`
//! is `crate::outbound::load_check`, run by [`crate::App::load`]).

use crate::error::Error;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, AppVariable>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
}

/// An application variable: `required` XOR `default` (Spin's rule).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppVariable {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpTrigger {
    pub route: RouteDef,
    pub component: String,
}

/// `route = "/path"` or `route = { private = true }` (reachable only by service chaining).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteDef {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Clone, Deserialize)]
pub struct ComponentDef {
    pub source: SourceDef,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub build: Option<BuildDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SourceDef {
    Path(String),
    Remote { url: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct BuildDef {
    pub command: BuildCommand,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BuildCommand {
    One(String),
    Many(Vec<String>),
}

impl Manifest {
    /// Reads and checks `spin.toml`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| Error::manifest(path, e.to_string()))?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        if self.spin_manifest_version != 2 {
            return Err(Error::manifest(path, "only spin_manifest_version = 2 is supported"));
        }
        for (name, var) in &self.variables {
            if var.required == var.default.is_some() {
                return Err(Error::manifest(path, format!("variable `{name}` must be `required` OR have a `default`")));
            }
        }
        for trigger in &self.trigger.http {
            if !self.component.contains_key(&trigger.component) {
                return Err(Error::manifest(
                    path,
                    format!("trigger refers to unknown component `{}`", trigger.component),
                ));
            }
        }
        Ok(())
    }
}

impl ComponentDef {
    /// The command that builds this component, for the missing-source error.
    pub fn build_hint(&self) -> String {
        match self.build.as_ref().map(|b| &b.command) {
            Some(BuildCommand::One(c)) => c.clone(),
            Some(BuildCommand::Many(cs)) => cs.join(" && "),
            None => "cargo build --target wasm32-wasip2 --release".to_string(),
        }
    }
}
