//! The connected-apps page (`/apps`) from a test browser: sign in through the mock Clerk, read
//! the list as JSON, post the page's forms.

use serde_json::Value;

use crate::TestApp;
use crate::browser::{Browser, form_inputs};
use crate::http::Response;

/// The session cookie of the connected-apps page.
pub const SESSION_COOKIE: &str = "__Host-mcp-apps";
/// Where the page's sessions are stored (`signin:apps-session:v1:<sha256(cookie)>`).
pub const SESSION_PREFIX: &str = "signin:apps-session:";

impl TestApp {
    /// `GET /apps` without a session (the sign-in page) -> its button (`POST /apps/sign-in`, with
    /// this server's `Origin`, as a browser sends it) -> Clerk (as `email`) -> `/callback` -> back
    /// at `/apps`, which answers the page. Panics if any step differs.
    pub fn sign_in_to_apps(&self, browser: &mut Browser, email: &str) -> Response {
        let to_clerk = self.press_apps_sign_in(browser);
        let back = self.through_clerk(browser, &to_clerk, email);
        assert_eq!(
            back.location(),
            Some("/apps"),
            "/callback did not return to /apps: {} {}",
            back.status,
            back.text()
        );
        let page = browser.get(&self.url("/apps"));
        assert_eq!(page.status, 200, "{}", page.text());
        page
    }

    /// `GET /apps` without a session, then the page's sign-in button: the answer to its post (a
    /// redirect to Clerk, or a refusal). The post carries the deployment's public origin as its
    /// `Origin`, as a browser on that origin sends it.
    pub fn press_apps_sign_in(&self, browser: &mut Browser) -> Response {
        let page = browser.get(&self.url("/apps"));
        assert_eq!(page.status, 200, "the sign-in page: {}", page.text());
        let inputs = form_inputs(&page.text());
        let pairs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body = platform::web::encode_pairs(pairs.iter().copied());
        let resource = self.mcp_resource();
        let origin = resource.strip_suffix("/mcp").unwrap_or(&resource);
        let headers = [("content-type", "application/x-www-form-urlencoded"), ("origin", origin)];
        browser.send("POST", &self.url("/apps/sign-in"), &headers, body.as_bytes())
    }

    /// `GET /apps` with `Accept: application/json`.
    pub fn apps_json(&self, browser: &mut Browser) -> Response {
        browser.send("GET", &self.url("/apps"), &[("accept", "application/json")], b"")
    }

    /// The signed-in user's list (panics unless 200): `{user, apps: [...], csrf_token, ...}`.
    pub fn apps_listing(&self, browser: &mut Browser) -> Value {
        let response = self.apps_json(browser);
        assert_eq!(response.status, 200, "{}", response.text());
        response.json()
    }

    /// `POST /apps/revoke` with `grant_id` and `csrf_token`, as the page's form does.
    pub fn revoke_app(&self, browser: &mut Browser, grant_id: &str, csrf_token: &str) -> Response {
        browser.post_form(&self.url("/apps/revoke"), &[("grant_id", grant_id), ("csrf_token", csrf_token)])
    }
}

/// The grant id of the listed app of `client_id` (panics when it is not listed).
pub fn grant_of(listing: &Value, client_id: &str) -> String {
    let apps = listing["apps"].as_array().cloned().unwrap_or_default();
    let app = apps.iter().find(|a| a["client_id"] == client_id);
    let app = app.unwrap_or_else(|| panic!("{client_id} is not listed: {listing}"));
    app["grant_id"].as_str().unwrap_or_default().to_owned()
}
