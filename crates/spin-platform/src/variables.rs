//! Component variables (`spin.toml` `[component.*.variables]`), read with one host call per
//! request.
//!
//! A request reads about fifteen variables (the shared settings and its crate's). Asked one by
//! one, each is a host call in which Spin resolves the variable's template through its
//! providers; `wasi:config/store.get-all` (Spin 3.5 to 4.x) resolves all of them in one call.
//! The copy lives as long as the request's [`SpinVariables`], so a value changed in a provider
//! shows at the next request, as before. Should `get-all` fail (a provider that cannot answer,
//! a variable without a value), each variable is asked for on its own, so the error names the
//! variable a setting needed, and a variable nobody reads cannot fail the request.

use std::cell::OnceCell;

use platform::{VariableError, Variables};
use spin_sdk::variables::Error as SpinVarError;
use spin_sdk::wit::wasi::config::store as config;

/// The component's variables, as one request sees them.
#[derive(Debug, Default)]
pub struct SpinVariables {
    /// Every variable as `get-all` answered (name, value), fetched at the first lookup; `None`
    /// when `get-all` failed. A list, not a map: a component has a few dozen variables, which a
    /// scan finds faster than hashing every name would.
    all: OnceCell<Option<Vec<(String, String)>>>,
}

impl SpinVariables {
    fn all(&self) -> Option<&[(String, String)]> {
        self.all.get_or_init(|| config::get_all().ok()).as_deref()
    }
}

impl Variables for SpinVariables {
    fn get(&self, name: &str) -> Result<Option<String>, VariableError> {
        let value = match self.all() {
            Some(all) => all.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()),
            None => one(name)?,
        };
        Ok(value.filter(|value| !value.trim().is_empty()))
    }
}

/// One variable, asked for on its own: `None` when the component has no such variable.
fn one(name: &str) -> Result<Option<String>, VariableError> {
    match spin_sdk::variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(SpinVarError::Undefined(_)) => Ok(None),
        Err(SpinVarError::InvalidName(reason)) => Err(VariableError::Invalid { name: name.to_owned(), reason }),
        Err(other) => Err(VariableError::Backend(other.to_string())),
    }
}
