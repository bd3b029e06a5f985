//! A component reads its own (templated) variables: `fermyon:spin/variables@2.0.0` one at a
//! time, and `wasi:config/store@0.2.0-draft-2024-09-27` one at a time or all at once, with the
//! answers Spin gives (`crates/factor-variables/src/host.rs`, the same from 3.5.0 to 4.0.2).

use super::HostState;
use super::bindings::fermyon::spin::variables::{Error, Host};
use super::bindings::wasi::config::store::{Error as ConfigError, Host as ConfigHost};
use crate::variables::is_variable_name;

impl HostState {
    /// The value of the component's variable `name`, rendered now (a changed provider value
    /// shows up at the next call, as in Spin).
    fn variable(&self, name: &str) -> Result<String, Error> {
        if !is_variable_name(name) {
            return Err(Error::InvalidName(format!("invalid variable name {name:?}: use lower_snake_case")));
        }
        let component = &self.component;
        let Some(template) = component.variables.get(name) else {
            return Err(Error::Undefined(format!("no variable for {:?}.{name:?}", component.id)));
        };
        component
            .resolver
            .render(template)
            .map_err(|missing| Error::Undefined(format!("no value for variable {missing:?}")))
    }
}

impl Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        Ok(self.variable(&name))
    }
}

impl ConfigHost for HostState {
    /// Spin: an undefined or invalid name is `none`, not an error.
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, ConfigError>> {
        Ok(match self.variable(&key) {
            Ok(value) => Ok(Some(value)),
            Err(Error::Undefined(_) | Error::InvalidName(_)) => Ok(None),
            Err(Error::Provider(message)) => Err(ConfigError::Upstream(message)),
            Err(Error::Other(message)) => Err(ConfigError::Io(message)),
        })
    }

    /// Spin: every variable of the component, or an `io` error when one has no value.
    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, ConfigError>> {
        let component = &self.component;
        let all: Result<Vec<(String, String)>, String> = component
            .variables
            .iter()
            .map(|(name, template)| {
                let value = component
                    .resolver
                    .render(template)
                    .map_err(|missing| format!("no value for variable {missing:?}"))?;
                Ok((name.clone(), value))
            })
            .collect();
        Ok(all.map_err(ConfigError::Io))
    }
}
