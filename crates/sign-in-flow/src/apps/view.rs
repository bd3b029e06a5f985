//! What `/apps` answers: the HTML page (maud, every value escaped; client names, which are
//! untrusted text, also bidi-isolated in `<bdi>`) and the same data as JSON for scripts.

use http::StatusCode;
use maud::{Markup, html};
use oauth_core::connected_apps::{self, AppGroup, ConnectedApp, Listing};
use serde_json::{Value, json};

use super::session::Session;
use crate::pages::{page, page_with_referrer_policy};
use platform::calendar::{UtcTime, rfc3339};
use platform::web::{self, Response};

/// Forms post only to this origin; nothing else is allowed.
const FORM_ACTION: &str = "'self'";
/// The page's form posts carry its real `Origin` (checked), and no referrer leaves the origin.
const REFERRER_POLICY: &str = "same-origin";

/// Everything the list shows.
pub struct ListView<'a> {
    pub session: &'a Session,
    pub csrf_token: &'a str,
    pub listing: &'a Listing,
    /// This server's host, as the intro names it.
    pub server_host: &'a str,
    pub now: u64,
    /// Show "access revoked" (after a revocation redirected here).
    pub revoked_notice: bool,
    /// The user's role opens the operator console: link to it.
    pub operator: bool,
}

/// The connected-apps page (200).
pub fn list_page(view: &ListView<'_>) -> Response {
    let apps = &view.listing.apps;
    let groups = connected_apps::group(apps);
    let body = html! {
        main.wide {
            header.top {
                div {
                    h1 { "Connected apps" }
                    p.muted {
                        "Signed in as " strong { bdi { (view.session.display_name()) } }
                        @if view.operator { " · " a href="/apps/admin" { "Operator console" } }
                    }
                }
                form.inline method="post" action="/apps/sign-out" {
                    input type="hidden" name="csrf_token" value=(view.csrf_token);
                    button.small type="submit" { "Sign out" }
                }
            }
            @if view.revoked_notice {
                p.notice role="status" {
                    "Access revoked. That app's tokens no longer work, and it must ask you again before it can reconnect."
                }
            }
            p {
                "These apps can use the MCP tools of " strong { (view.server_host) } " on your behalf. "
                "Revoke the ones you do not use: their access ends at once."
            }
            @if apps.is_empty() {
                p.empty { "No apps are connected to your account." }
            } @else {
                ul.apps aria-label="Connected apps" {
                    @for group in &groups { (group_row(group, view)) }
                }
            }
            @if view.listing.truncated {
                p.muted { "More apps are connected than one page shows. Reload to see the rest." }
            }
            p.muted.foot {
                "This page's session ends " (when(view.session.expires_at, view.now)) ". "
                "Signing out here does not sign you out of Clerk."
            }
        }
    };
    page_with_referrer_policy(StatusCode::OK, "Connected apps", body, FORM_ACTION, REFERRER_POLICY)
}

/// One app: named by its most recent connection; with several connections (approved on two
/// computers, or a client that registers anew for each connection), each listed under it.
fn group_row(group: &AppGroup, view: &ListView<'_>) -> Markup {
    let Some(app) = group.newest() else { return html! {} };
    let name = client_name(app);
    let several = group.connections.len() > 1;
    html! {
        li.app data-grant=(app.grant_id) {
            span.avatar aria-hidden="true" { (initial(name)) }
            div.info {
                p.name {
                    bdi { (name) }
                    @if let Some(host) = app.verified_host() {
                        " " span.badge title="The app is identified by a document fetched from this host" {
                            "fetched from " (host)
                        }
                    }
                }
                p.meta {
                    @match app.redirect_host() {
                        Some(host) => {
                            "Returns to " strong { (host) }
                            @if app.redirect_is_loopback() { " (an app on your computer)" }
                        }
                        None => { "Redirect address not recorded" }
                    }
                    @if !app.client_registered { " · registration expired" }
                }
                @if several {
                    p.meta {
                        "Approved " (group.connections.len()) " times: each approval is a connection of its own "
                        "(the app used on another computer, or an app that registers anew each time). "
                        "Revoke the ones you no longer use."
                    }
                    ul.connections aria-label={ "Connections of " (name) } {
                        @for (number, connection) in group.connections.iter().enumerate() {
                            li data-grant=(connection.grant_id) {
                                span.meta { (connection_meta(connection, view)) }
                                (revoke_form(&[connection], &format!("Revoke {name} connection {}", number + 1), "Revoke", view))
                            }
                        }
                    }
                } @else {
                    p.meta { (connection_meta(app, view)) }
                }
            }
            @if several {
                (revoke_form(&group.connections.iter().collect::<Vec<_>>(), &format!("Revoke all connections of {name}"), "Revoke all", view))
            } @else {
                (revoke_form(&[app], &format!("Revoke {name}"), "Revoke", view))
            }
        }
    }
}

/// What a grant's scopes allow, in the consent page's words.
fn scope_words(scopes: &[String]) -> String {
    let words: Vec<&str> =
        scopes.iter().filter_map(|s| oauth_core::rules::scope::capability(s)).map(|c| c.consent).collect();
    if words.is_empty() { "nothing (no scope)".to_owned() } else { words.join("; ") }
}

/// When a connection was approved and last refreshed, and its scopes.
fn connection_meta(app: &ConnectedApp, view: &ListView<'_>) -> Markup {
    html! {
        "Approved " (when(app.approved_at, view.now)) " · "
        @match app.refreshed_at {
            Some(at) => { "last refreshed " (when(at, view.now)) }
            None => { "never refreshed" }
        }
        " · May: " (scope_words(&app.scope))
    }
}

/// A form revoking `connections` (their grant ids).
fn revoke_form(connections: &[&ConnectedApp], label: &str, text: &str, view: &ListView<'_>) -> Markup {
    html! {
        form.inline method="post" action="/apps/revoke" {
            @for connection in connections { input type="hidden" name="grant_id" value=(connection.grant_id); }
            input type="hidden" name="csrf_token" value=(view.csrf_token);
            button.small.danger type="submit" aria-label=(label) { (text) }
        }
    }
}

pub(super) fn client_name(app: &ConnectedApp) -> &str {
    app.client_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or("An unnamed MCP client")
}

/// The first letter or digit of the name, for its avatar.
fn initial(name: &str) -> String {
    name.chars().find(|c| c.is_alphanumeric()).map(|c| c.to_uppercase().collect()).unwrap_or_else(|| "?".into())
}

/// A `<time>` with the UTC date and time, reading as relative time ("3 days ago").
pub(super) fn when(at: u64, now: u64) -> Markup {
    html! { time datetime=(rfc3339(at)) title=(absolute(at)) { (relative(at, now)) } }
}

fn relative(at: u64, now: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (ahead, secs) = if at > now { (true, at - now) } else { (false, now - at) };
    let span = match secs {
        0..60 => return if ahead { "in under a minute".into() } else { "just now".into() },
        60..3_600 => plural(secs / 60, "minute"),
        3_600..86_400 => plural(secs / 3_600, "hour"),
        86_400..2_592_000 => plural(secs / 86_400, "day"),
        _ => return format!("on {}", absolute(at)),
    };
    if ahead { format!("in {span}") } else { format!("{span} ago") }
}

/// `12 Jun 2025, 14:03 UTC`.
fn absolute(at: u64) -> String {
    let time = UtcTime::from_unix(at);
    format!("{} {} {}, {:02}:{:02} UTC", time.day, time.month_abbreviation(), time.year, time.hour, time.minute)
}

/// The same list as JSON (see the README's "Connected apps").
pub fn list_json(session: &Session, csrf_token: &str, listing: &Listing) -> Response {
    let apps: Vec<Value> = listing.apps.iter().map(app_json).collect();
    let groups: Vec<Value> = connected_apps::group(&listing.apps)
        .iter()
        .map(|group| json!({ "name": group.newest().map(client_name), "grant_ids": group.grant_ids() }))
        .collect();
    web::json(
        StatusCode::OK,
        &json!({
            "user": { "id": session.user_id, "email": session.email, "name": session.name },
            "session_expires_at": session.expires_at,
            "csrf_token": csrf_token,
            "apps": apps,
            "groups": groups,
            "truncated": listing.truncated,
        }),
    )
}

fn app_json(app: &ConnectedApp) -> Value {
    json!({
        "grant_id": app.grant_id,
        "client_id": app.client_id,
        "client_name": app.client_name,
        "verified_host": app.verified_host(),
        "client_registered": app.client_registered,
        "redirect_uri": app.redirect_uri,
        "redirect_host": app.redirect_host(),
        "scope": app.scope,
        "approved_at": app.approved_at,
        "last_refreshed_at": app.refreshed_at,
    })
}

/// The page for a browser without a session (200): what `/apps` is, and a button whose form
/// post starts the sign-in (its redirect goes to Clerk, hence Clerk's origin in `form-action`).
pub fn sign_in_page(csrf_token: &str, clerk_origin: &str, server_host: &str) -> Response {
    let body = html! {
        main {
            h1 { "Connected apps" }
            p {
                "Sign in to see which apps can use the MCP tools of " strong { (server_host) }
                " on your behalf, and to revoke the ones you no longer use."
            }
            form method="post" action="/apps/sign-in" {
                input type="hidden" name="csrf_token" value=(csrf_token);
                div.actions { button.primary type="submit" { "Sign in" } }
            }
            p.muted.foot { "You sign in with Clerk. The page's session lasts 15 minutes." }
        }
    };
    let form_action = format!("{FORM_ACTION} {}", crate::pages::csp_source(clerk_origin));
    page_with_referrer_policy(StatusCode::OK, "Connected apps", body, &form_action, REFERRER_POLICY)
}

/// A short page with a message and a link back to `/apps` (signed out, sign-in cancelled,
/// session ended).
pub fn notice_page(status: StatusCode, title: &str, message: &str, link_text: &str) -> Response {
    let body = html! {
        main {
            h1 { (title) }
            p { (message) }
            p { a href="/apps" { (link_text) } }
        }
    };
    page(status, title, body, "'none'")
}

/// An error as JSON: `{"error": .., "error_description": ..}`.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    web::json(status, &json!({ "error": error, "error_description": description }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_relative_and_carry_the_exact_utc_time() {
        const T: u64 = 1_749_736_980; // 12 Jun 2025, 14:03 UTC
        assert_eq!(absolute(T), "12 Jun 2025, 14:03 UTC");
        assert_eq!(rfc3339(T), "2025-06-12T14:03:00Z");
        assert_eq!(relative(T, T + 5), "just now");
        assert_eq!(relative(T, T + 60), "1 minute ago");
        assert_eq!(relative(T, T + 7_200), "2 hours ago");
        assert_eq!(relative(T, T + 3 * 86_400), "3 days ago");
        assert_eq!(relative(T, T + 40 * 86_400), "on 12 Jun 2025, 14:03 UTC");
        assert_eq!(relative(T + 900, T), "in 15 minutes");
    }

    #[test]
    fn initials_skip_marks_and_default_to_a_question_mark() {
        assert_eq!(initial("claude desktop"), "C");
        assert_eq!(initial("\u{202e}«x»"), "X");
        assert_eq!(initial("!!"), "?");
    }
}
