use platform::{VariableError, Variables};
use spin_sdk::variables::Error as SpinVarError;

/// Component variables, as declared in the component's `[component.*.variables]` table.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinVariables;

impl Variables for SpinVariables {
    fn get(&self, name: &str) -> Result<Option<String>, VariableError> {
        match spin_sdk::variables::get(name) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(SpinVarError::Undefined(_)) => Ok(None),
            Err(SpinVarError::InvalidName(reason)) => Err(VariableError::Invalid { name: name.to_owned(), reason }),
            Err(other) => Err(VariableError::Backend(other.to_string())),
        }
    }
}
