//! Application configuration (Spin variables), read by name.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    #[error("required variable `{name}` is not set (set SPIN_VARIABLE_{upper} or `--variable {name}=...`)", upper = name.to_uppercase())]
    Missing { name: String },
    #[error("variable `{name}` is invalid: {reason}")]
    Invalid { name: String, reason: String },
    #[error("variables are unavailable: {0}")]
    Backend(String),
}

pub trait Variables {
    /// The value, or `None` when the variable is unset or empty.
    fn get(&self, name: &str) -> Result<Option<String>, VariableError>;

    fn require(&self, name: &str) -> Result<String, VariableError> {
        self.get(name)?.ok_or_else(|| VariableError::Missing { name: name.to_owned() })
    }
}

/// Fixed variables, for tests and native tools.
#[derive(Debug, Default, Clone)]
pub struct StaticVariables(HashMap<String, String>);

impl StaticVariables {
    pub fn new<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl Variables for StaticVariables {
    fn get(&self, name: &str) -> Result<Option<String>, VariableError> {
        Ok(self.0.get(name).filter(|v| !v.is_empty()).cloned())
    }
}
