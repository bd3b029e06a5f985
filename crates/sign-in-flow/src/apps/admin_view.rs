//! What `/apps/admin` answers: the operator console's page (maud, every value escaped; client
//! names and filters, which are untrusted text, bidi-isolated) and the same data as JSON.

use http::StatusCode;
use maud::{Markup, html};
use oauth_core::admin::{AdminGrant, ClientBlock, Filter, Listing};
use platform::calendar::rfc3339;
use platform::web::{self, Response};
use serde_json::{Value, json};

use super::session::Session;
use super::view::{client_name, when};
use crate::pages::page_with_referrer_policy;

/// Everything the console shows.
pub struct ConsoleView<'a> {
    pub session: &'a Session,
    pub csrf_token: &'a str,
    pub filter: &'a Filter,
    pub listing: &'a Listing,
    pub blocked: &'a [ClientBlock],
    pub now: u64,
}

/// The console (200).
pub fn console_page(view: &ConsoleView<'_>) -> Response {
    let grants = &view.listing.grants;
    let user = view.filter.user_id.as_deref().unwrap_or_default();
    let client = view.filter.client_id.as_deref().unwrap_or_default();
    let body = html! {
        main.wide.console {
            header.top {
                div {
                    h1 { "Operator console" }
                    p.muted { "Signed in as " strong { bdi { (view.session.display_name()) } } " · " a href="/apps" { "Your connected apps" } }
                }
            }
            p { "Every app connection of this server. Revoking ends the tokens at once; blocking a client also stops it from signing in and refreshing until it is unblocked." }
            form.filter method="get" action="/apps/admin" aria-label="Filter" {
                div { label for="user" { "User id" } br; input id="user" type="text" name="user" value=(user); }
                div { label for="client" { "Client id" } br; input id="client" type="text" name="client" value=(client); }
                button.small type="submit" { "Filter" }
                @if !user.is_empty() || !client.is_empty() { a href="/apps/admin" { "Show all" } }
            }
            @if grants.is_empty() {
                p.empty { "No connections match." }
            } @else {
                table aria-label="Connections" {
                    thead { tr { th { "User" } th { "App" } th { "Approved" } th { "Last refreshed" } th { "Scopes" } th { "Actions" } } }
                    tbody { @for grant in grants { (grant_row(grant, view)) } }
                }
            }
            @if view.listing.truncated {
                p.muted { "More connections exist than one page shows: filter, or reload to see more." }
            }
            h2 { "Blocked clients" }
            @if view.blocked.is_empty() {
                p.muted { "No client is blocked." }
            } @else {
                table aria-label="Blocked clients" {
                    thead { tr { th { "Client id" } th { "Blocked" } th { "By" } th { "" } } }
                    tbody {
                        @for block in view.blocked {
                            tr {
                                td { code { bdi { (block.client_id) } } }
                                td { (when(block.blocked_at, view.now)) }
                                td { code { (block.blocked_by) } }
                                td { (action_form("/apps/admin/unblock", "client_id", &block.client_id, "Unblock", false, view.csrf_token)) }
                            }
                        }
                    }
                }
            }
            form.filter method="post" action="/apps/admin/block" aria-label="Block a client" {
                input type="hidden" name="csrf_token" value=(view.csrf_token);
                div { label for="block" { "Client id or metadata document URL" } br; input id="block" type="text" name="client_id"; }
                button.small.danger type="submit" { "Block client" }
            }
        }
    };
    page_with_referrer_policy(StatusCode::OK, "Operator console", body, "'self'", "same-origin")
}

fn grant_row(grant: &AdminGrant, view: &ConsoleView<'_>) -> Markup {
    let app = &grant.app;
    let csrf = view.csrf_token;
    html! {
        tr data-grant=(app.grant_id) {
            td {
                bdi { (grant.user_email.as_deref().unwrap_or(&grant.user_id)) } br;
                a href={ "/apps/admin?user=" (encode(&grant.user_id)) } { code { (grant.user_id) } }
            }
            td {
                strong { bdi { (client_name(app)) } } br;
                a href={ "/apps/admin?client=" (encode(&app.client_id)) } { code { bdi { (app.client_id) } } }
                @if let Some(host) = app.redirect_host() { br; span.muted { "returns to " (host) } }
            }
            td { (when(app.approved_at, view.now)) }
            td { @match app.refreshed_at { Some(at) => { (when(at, view.now)) } None => { "never" } } }
            td { (app.scope.join(" ")) }
            td {
                (action_form("/apps/admin/revoke", "grant_id", &app.grant_id, "Revoke", true, csrf))
                (action_form("/apps/admin/revoke-user", "user_id", &grant.user_id, "Revoke all of user", true, csrf))
                (action_form("/apps/admin/revoke-client", "client_id", &app.client_id, "Revoke all of client", true, csrf))
                (action_form("/apps/admin/block", "client_id", &app.client_id, "Block client", true, csrf))
            }
        }
    }
}

fn action_form(action: &str, field: &str, value: &str, label: &str, danger: bool, csrf_token: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name=(field) value=(value);
            input type="hidden" name="csrf_token" value=(csrf_token);
            @if danger { button.small.danger type="submit" { (label) } } @else { button.small type="submit" { (label) } }
        }
    }
}

fn encode(value: &str) -> String {
    web::encode_pairs([("", value)]).trim_start_matches('=').to_owned()
}

/// The console as JSON (see the README's "Operator console").
pub fn console_json(view: &ConsoleView<'_>) -> Response {
    let grants: Vec<Value> = view.listing.grants.iter().map(grant_json).collect();
    let blocked: Vec<Value> = view
        .blocked
        .iter()
        .map(|b| json!({ "client_id": b.client_id, "blocked_at": b.blocked_at, "blocked_by": b.blocked_by }))
        .collect();
    web::json(
        StatusCode::OK,
        &json!({
            "operator": { "id": view.session.user_id, "email": view.session.email, "role": view.session.role },
            "csrf_token": view.csrf_token,
            "filter": { "user": view.filter.user_id, "client": view.filter.client_id },
            "grants": grants,
            "truncated": view.listing.truncated,
            "blocked_clients": blocked,
        }),
    )
}

fn grant_json(grant: &AdminGrant) -> Value {
    let app = &grant.app;
    json!({
        "grant_id": app.grant_id,
        "user_id": grant.user_id,
        "user_email": grant.user_email,
        "client_id": app.client_id,
        "client_name": app.client_name,
        "redirect_host": app.redirect_host(),
        "scope": app.scope,
        "approved_at": app.approved_at,
        "approved": rfc3339(app.approved_at),
        "last_refreshed_at": app.refreshed_at,
    })
}
