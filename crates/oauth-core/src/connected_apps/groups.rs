//! Connected apps grouped by what identifies the app to its user, so the same app approved
//! several times is shown once, with its connections under it.
//!
//! Clients approved several times: one that registers anew for every connection (a new
//! `client_id` each time, same name and redirect host), and one identified by its metadata
//! document used from two machines (the same URL `client_id`, one grant per approval). What
//! identifies an app is what its user was shown on the consent page:
//! - a client identified by a metadata document: its URL (verified by where the document was
//!   fetched from);
//! - a registered client: its registered name and the host its redirect URI goes to (a
//!   registration proves nothing more).
//!
//! Grouping changes only how apps are shown: each connection is still listed and revoked on
//! its own (and all of an app's at once, on request); nothing is revoked automatically, since
//! one person may well use the same app on two machines.

use super::ConnectedApp;

/// One app and its connections (grants), most recently approved first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppGroup {
    /// A stable key of the group within a listing (what identifies the app, as text).
    pub key: String,
    pub connections: Vec<ConnectedApp>,
}

impl AppGroup {
    /// The most recently approved connection, which names the group.
    pub fn newest(&self) -> Option<&ConnectedApp> {
        self.connections.first()
    }

    /// The grant ids of every connection (to revoke them all at once).
    pub fn grant_ids(&self) -> Vec<String> {
        self.connections.iter().map(|app| app.grant_id.clone()).collect()
    }
}

/// What identifies `app` to its user.
pub fn identity(app: &ConnectedApp) -> String {
    if app.verified_host().is_some() {
        return format!("document {}", app.client_id);
    }
    let name = app.client_name.as_deref().map(|name| name.trim().to_lowercase()).unwrap_or_default();
    let host = app.redirect_host().unwrap_or_default().to_lowercase();
    format!("registered {name:?} at {host:?}")
}

/// `apps` (most recently approved first) grouped by [`identity`]; groups in the order of their
/// newest connection.
pub fn group(apps: &[ConnectedApp]) -> Vec<AppGroup> {
    let mut groups: Vec<AppGroup> = Vec::new();
    for app in apps {
        let key = identity(app);
        match groups.iter_mut().find(|group| group.key == key) {
            Some(group) => group.connections.push(app.clone()),
            None => groups.push(AppGroup { key, connections: vec![app.clone()] }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(grant: &str, client: &str, name: Option<&str>, redirect: &str) -> ConnectedApp {
        ConnectedApp {
            grant_id: grant.into(),
            client_id: client.into(),
            client_name: name.map(str::to_owned),
            client_registered: true,
            redirect_uri: Some(redirect.into()),
            scope: vec!["mcp".into()],
            approved_at: 0,
            refreshed_at: None,
        }
    }

    #[test]
    fn registrations_with_the_same_name_and_redirect_host_are_one_app() {
        let apps = [
            app("g3", "c3", Some("Cursor"), "http://127.0.0.1:6001/cb"),
            app("g2", "c2", Some("Claude"), "https://claude.ai/api/mcp/auth_callback"),
            app("g1", "c1", Some("cursor "), "http://127.0.0.1:5999/cb"),
        ];
        let groups = group(&apps);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].grant_ids(), ["g3", "g1"], "ports of loopback redirects differ per run");
        assert_eq!(groups[1].grant_ids(), ["g2"]);
        assert_eq!(groups[0].newest().unwrap().grant_id, "g3");
    }

    #[test]
    fn the_same_name_at_another_host_is_another_app() {
        let apps = [
            app("g2", "c2", Some("Claude"), "https://claude.ai/cb"),
            app("g1", "c1", Some("Claude"), "https://evil.example/cb"),
        ];
        assert_eq!(group(&apps).len(), 2);
    }

    #[test]
    fn a_document_client_from_two_machines_is_one_app_whatever_its_name() {
        let url = "https://vscode.dev/oauth/client-metadata.json";
        let apps = [
            app("g2", url, Some("VS Code"), "http://127.0.0.1:33418/"),
            app("g1", url, None, "https://vscode.dev/redirect"),
            app("g0", "c0", Some("VS Code"), "http://127.0.0.1:33418/"),
        ];
        let groups = group(&apps);
        assert_eq!(groups.iter().map(AppGroup::grant_ids).collect::<Vec<_>>(), [vec!["g2", "g1"], vec!["g0"]]);
    }
}
