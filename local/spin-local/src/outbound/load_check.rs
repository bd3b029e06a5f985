//! The check released Spin makes of `allowed_outbound_hosts` when it loads `spin.toml` (v3.5.0
//! to v4.0.2: `spin_loader` calls `AllowedHostsConfig::validate` for each component), so an app
//! that `spin up` refuses is refused here too, with the same messages.
//!
//! Spin resolves each template with the application variables' `default`s only: `--variable`,
//! the environment and `.env` play no part yet. A template naming a variable without a default
//! (a required one, or one not declared) cannot be resolved, and its check is deferred to run
//! time. Any other template must resolve to a valid `<scheme>://<host>[:<port>]` pattern; an
//! empty result is not one. (Spin after v4.0.2, from commit 82af2632, skips an entry that
//! resolves to empty; no release has that yet.)

use super::allowed_hosts::{AllowedHost, Entry, parse_entries};
use crate::error::Chain;
use crate::manifest::{AppVariable, Manifest};
use std::collections::BTreeMap;
use std::path::Path;

/// Checks every component's list, with the context lines `spin up` prints above the cause.
pub(crate) fn check(manifest: &Manifest, path: &Path) -> Result<(), Chain> {
    for (id, component) in &manifest.component {
        check_list(&component.allowed_outbound_hosts, &manifest.variables).map_err(|cause| {
            let shown = format!("\"{}\"", path.display());
            cause
                .context("`allowed_outbound_hosts` is malformed")
                .context(format!("Failed to load component `{id}`"))
                .context(format!("Failed to load Spin app from {shown}"))
                .context(format!("Failed to load manifest from {shown}"))
        })?;
    }
    Ok(())
}

/// One component's `allowed_outbound_hosts`: literals must parse; templates must parse once
/// rendered with the defaults, when every variable they name has one.
fn check_list(items: &[String], variables: &BTreeMap<String, AppVariable>) -> Result<(), Chain> {
    for entry in parse_entries(items)? {
        let Entry::Template(template) = entry else { continue };
        let Ok(resolved) = template.render(|name| variables.get(name).and_then(|v| v.default.clone())) else {
            continue;
        };
        AllowedHost::parse(&resolved).map_err(|cause| {
            cause.context(format!(
                "using default variable value(s) with template {:?} results in invalid config {resolved:?}",
                template.to_string()
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables(defaults: &[(&str, Option<&str>)]) -> BTreeMap<String, AppVariable> {
        defaults
            .iter()
            .map(|(name, default)| {
                let var =
                    AppVariable { default: default.map(str::to_owned), required: default.is_none(), secret: false };
                (name.to_string(), var)
            })
            .collect()
    }

    fn check_one(item: &str, defaults: &[(&str, Option<&str>)]) -> Result<(), Vec<String>> {
        check_list(&[item.to_owned()], &variables(defaults))
            .map_err(|chain| chain.messages().into_iter().map(str::to_owned).collect())
    }

    #[test]
    fn an_empty_default_is_refused_with_spins_messages() {
        let messages = check_one("{{ image_api_origin }}", &[("image_api_origin", Some(""))]).expect_err("refused");
        assert_eq!(
            messages[0],
            "using default variable value(s) with template \"{{ image_api_origin }}\" results in invalid config \"\""
        );
        assert!(messages[1].starts_with("\"\" is not an allowed outbound host format."), "{messages:?}");
    }

    #[test]
    fn a_valid_default_passes_and_a_bad_one_is_refused() {
        assert_eq!(check_one("{{ origin }}", &[("origin", Some("https://api.example.com"))]), Ok(()));
        assert_eq!(
            check_one("https://{{ host }}:{{ port }}", &[("host", Some("a.b")), ("port", Some("8443"))]),
            Ok(())
        );
        let messages = check_one("{{origin}}", &[("origin", Some("api.example.com"))]).expect_err("no scheme");
        assert!(messages[0].contains("template \"{{ origin }}\" results in invalid config \"api.example.com\""));
    }

    #[test]
    fn templates_over_variables_without_a_default_are_deferred() {
        assert_eq!(check_one("{{ clerk_frontend_api }}", &[("clerk_frontend_api", None)]), Ok(()));
        assert_eq!(check_one("{{ not_declared }}", &[]), Ok(()));
        // One variable without a default defers the whole template, even with a bad literal part.
        assert_eq!(check_one("nonsense{{ a }}{{ b }}", &[("a", Some("")), ("b", None)]), Ok(()));
    }

    #[test]
    fn literals_are_checked_without_the_template_context() {
        let messages = check_one("https://a.com/path", &[]).expect_err("path");
        assert_eq!(messages, ["Invalid allowed host \"a.com/path\"", "must not include a path"]);
    }
}

#[cfg(test)]
mod app_manifests {
    use super::*;
    use std::path::Path;

    fn load(path: &Path) -> Result<Manifest, String> {
        let manifest = Manifest::load(path).map_err(|e| e.to_string())?;
        check(&manifest, path).map(|()| manifest).map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            text
        })
    }

    /// CI runs this: the app's own `spin.toml` passes the checks of every released Spin.
    #[test]
    fn the_repositorys_spin_toml_passes_released_spins_load_checks() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
        let manifest = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(manifest.component.values().any(|c| !c.allowed_outbound_hosts.is_empty()));
    }

    #[test]
    fn the_fixture_manifest_passes_them_too() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/spin.toml");
        load(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}
