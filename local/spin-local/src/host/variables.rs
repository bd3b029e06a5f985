//! `fermyon:spin/variables@2.0.0`: a component reads its own (templated) variables.

use super::HostState;
use super::bindings::fermyon::spin::variables::{Error, Host};
use crate::variables::is_variable_name;

impl Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if !is_variable_name(&name) {
            return Ok(Err(Error::InvalidName(format!("invalid variable name {name:?}: use lower_snake_case"))));
        }
        let component = &self.component;
        let Some(template) = component.variables.get(&name) else {
            return Ok(Err(Error::Undefined(format!("no variable for {:?}.{name:?}", component.id))));
        };
        // Rendered on every call, so a changed provider value shows up (Spin's behaviour).
        Ok(component
            .resolver
            .render(template)
            .map_err(|missing| Error::Undefined(format!("no value for variable {missing:?}"))))
    }
}
