//! Application variables, with Spin's providers and precedence, and `{{ var }}` templates.
//!
//! Precedence (highest first), as in Spin: `--variable k=v`, then the environment
//! `SPIN_VARIABLE_<NAME>`, then a `.env` file (same key), then the manifest's `default`.

use crate::error::Error;
use crate::manifest::AppVariable;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A string with `{{ app_variable }}` holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Var(String),
}

impl Template {
    /// Parses like Spin's `spin_expressions::Template::new`: `{{ expr }}` holes (trimmed) and
    /// literals; only an unmatched `{{` is an error. Names are checked where they are used.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{{") {
                let (expr, tail) = after.split_once("}}").ok_or("unmatched '{{' in template")?;
                parts.push(Part::Var(expr.trim().to_string()));
                rest = tail;
            } else {
                let end = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        Ok(Self { parts })
    }

    /// No holes at all.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The variables this template refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Fills the holes; `Err(name)` names the first variable without a value.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Var(v) => out.push_str(&lookup(v).ok_or_else(|| v.clone())?),
            }
        }
        Ok(out)
    }
}

/// As Spin prints a template in its messages: each hole as `{{ name }}`.
impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(l) => f.write_str(l)?,
                Part::Var(v) => write!(f, "{{{{ {v} }}}}")?,
            }
        }
        Ok(())
    }
}

/// Spin's variable names: lower snake case, starting with a letter.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && !name.ends_with('_')
        && !name.contains("__")
}

/// Where variable values come from.
#[derive(Debug, Clone, Default)]
pub struct VariableSources {
    /// `--variable k=v` (highest precedence). Names the manifest does not declare are ignored.
    pub explicit: HashMap<String, String>,
    /// Read `SPIN_VARIABLE_<NAME>` from the process environment on each lookup.
    pub use_env: bool,
    /// Contents of the `.env` file (key `SPIN_VARIABLE_<NAME>`), read once at start-up.
    pub dotenv: HashMap<String, String>,
}

impl VariableSources {
    /// Parses a `.env` file: `KEY=value` lines, `#` comments, optional `export ` and quotes.
    /// A missing file is no error (Spin treats it as empty).
    pub fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(source) => {
                return Err(Error::Read { path: path.to_path_buf(), source });
            }
        };
        Ok(text.lines().filter_map(parse_dotenv_line).collect())
    }
}

fn parse_dotenv_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, value) = line.split_once('=')?;
    let value = value.trim();
    let unquoted =
        ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q))).unwrap_or(value);
    Some((key.trim().to_string(), unquoted.to_string()))
}

/// Resolves application variables from the sources, falling back to defaults.
#[derive(Debug)]
pub struct Resolver {
    declared: BTreeMap<String, AppVariable>,
    sources: VariableSources,
}

impl Resolver {
    pub fn new(declared: BTreeMap<String, AppVariable>, sources: VariableSources) -> Self {
        Self { declared, sources }
    }

    pub fn is_declared(&self, name: &str) -> bool {
        self.declared.contains_key(name)
    }

    /// The current value of application variable `name`, or `None` if it has none.
    pub fn get(&self, name: &str) -> Option<String> {
        let declared = self.declared.get(name)?;
        let key = env_key(name);
        self.sources
            .explicit
            .get(name)
            .cloned()
            .or_else(|| self.env_value(&key))
            .or_else(|| self.sources.dotenv.get(&key).cloned())
            .or_else(|| declared.default.clone())
    }

    fn env_value(&self, key: &str) -> Option<String> {
        if !self.sources.use_env {
            return None;
        }
        std::env::var(key).ok()
    }

    /// Spin's start-up check: every required variable has a value.
    pub fn check_required(&self) -> Result<(), Error> {
        for (name, var) in &self.declared {
            if var.required && self.get(name).is_none() {
                return Err(Error::MissingVariable { name: name.clone(), upper: name.to_uppercase() });
            }
        }
        Ok(())
    }

    /// Renders a template against the application variables.
    pub fn render(&self, template: &Template) -> Result<String, String> {
        template.render(|v| self.get(v))
    }
}

/// `clerk_client_id` -> `SPIN_VARIABLE_CLERK_CLIENT_ID`.
pub fn env_key(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_holes_and_literals() {
        let t = Template::parse("https://{{ host }}:{{port}}/x").expect("parses");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["host", "port"]);
        let s = t.render(|v| Some(if v == "host" { "a.b" } else { "8" }.into())).expect("renders");
        assert_eq!(s, "https://a.b:8/x");
    }

    #[test]
    fn template_refuses_only_an_unmatched_opening() {
        assert_eq!(Template::parse("{{ open"), Err("unmatched '{{' in template".to_string()));
        let odd = Template::parse("a}}{{Bad}}").expect("names are checked where they are used");
        assert_eq!(odd.variables().collect::<Vec<_>>(), ["Bad"]);
        assert_eq!(odd.to_string(), "a}}{{ Bad }}");
        assert!(Template::parse("https://x").expect("literal").is_literal());
    }

    #[test]
    fn precedence_is_explicit_then_env_then_dotenv_then_default() {
        let mut declared = BTreeMap::new();
        declared.insert(
            "zz_spin_local_test_var".to_string(),
            AppVariable { default: Some("default".into()), ..Default::default() },
        );
        let mut sources = VariableSources::default();
        sources.dotenv.insert("SPIN_VARIABLE_ZZ_SPIN_LOCAL_TEST_VAR".into(), "dotenv".into());
        let r = Resolver::new(declared.clone(), sources.clone());
        assert_eq!(r.get("zz_spin_local_test_var").as_deref(), Some("dotenv"));
        sources.explicit.insert("zz_spin_local_test_var".into(), "explicit".into());
        let r = Resolver::new(declared, sources);
        assert_eq!(r.get("zz_spin_local_test_var").as_deref(), Some("explicit"));
    }

    #[test]
    fn dotenv_lines() {
        assert_eq!(parse_dotenv_line("export A=\"b c\""), Some(("A".into(), "b c".into())));
        assert_eq!(parse_dotenv_line("# x"), None);
    }
}
