//! `/apps/admin`, the operator console: users whose Clerk role is in `admin_roles` see every
//! grant of the deployment, filtered by user or by client, revoke one grant, all of a user's or
//! all of a client's, and block or unblock a client. Same session, `Origin` and CSRF rules as
//! `/apps` (the session is the `/apps` one; its role is the one Clerk reported at sign-in).
//!
//! - `GET /apps/admin[?user=<user id>&client=<client id>]`: the page, or JSON (`Accept:
//!   application/json`).
//! - `POST /apps/admin/revoke` (`grant_id`), `/apps/admin/revoke-user` (`user_id`),
//!   `/apps/admin/revoke-client` (`client_id`), `/apps/admin/block` (`client_id`: a
//!   registration id or a metadata document URL), `/apps/admin/unblock` (`client_id`); each with
//!   `csrf_token`.
//!
//! Without `admin_roles` there is no console: 404. A session whose role is not listed: 403,
//! nothing shown, nothing changed. Every action leaves an audit line (`admin.revoked`,
//! `admin.client_blocked`, `admin.client_unblocked`) naming the operator in `user_id`.

use http::StatusCode;
use oauth_core::admin::{self, BlockError, Filter};
use platform::web::{self, Request, Response};
use platform::{AuditEvent, Event};
use serde_json::json;

use super::actions::{self, Checked, refuse};
use super::session::Session;
use super::{Viewer, admin_view, unavailable, viewer, wants_json};
use crate::Env;
use crate::pages::error_page;

/// The longest filter value accepted (a document URL client id included).
const MAX_FILTER_LEN: usize = 2048;

/// An operator's form posts.
#[derive(Debug, Clone, Copy)]
pub(super) enum AdminAction {
    RevokeGrant,
    RevokeUser,
    RevokeClient,
    Block,
    Unblock,
}

impl AdminAction {
    /// The route of each.
    pub(super) fn of_path(path: &str) -> Option<Self> {
        Some(match path {
            "/apps/admin/revoke" => AdminAction::RevokeGrant,
            "/apps/admin/revoke-user" => AdminAction::RevokeUser,
            "/apps/admin/revoke-client" => AdminAction::RevokeClient,
            "/apps/admin/block" => AdminAction::Block,
            "/apps/admin/unblock" => AdminAction::Unblock,
            _ => return None,
        })
    }

    /// The form field naming what the action is about.
    fn field(self) -> &'static str {
        match self {
            AdminAction::RevokeGrant => "grant_id",
            AdminAction::RevokeUser => "user_id",
            AdminAction::RevokeClient | AdminAction::Block | AdminAction::Unblock => "client_id",
        }
    }
}

/// 404 when the deployment has no console, 403 when `session` is not an operator's.
fn operator_only(env: &Env<'_>, json: bool, session: &Session) -> Result<(), Box<Response>> {
    if env.settings.admin_roles.is_empty() {
        return Err(Box::new(no_console(json)));
    }
    if !env.settings.is_admin_role(session.role.as_deref()) {
        let message = "The operator console is for the roles in admin_roles; your account has none of them.";
        return Err(Box::new(refuse(json, StatusCode::FORBIDDEN, "Not an operator", message)));
    }
    Ok(())
}

fn no_console(json: bool) -> Response {
    refuse(json, StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
}

/// `GET /apps/admin`.
pub(super) async fn page(env: &Env<'_>, request: &Request) -> Response {
    let json = wants_json(request);
    if env.settings.admin_roles.is_empty() {
        return no_console(json);
    }
    let Viewer { config, session, .. } = match viewer(env, request) {
        Ok(viewer) => viewer,
        Err(answer) => return *answer,
    };
    if let Err(refused) = operator_only(env, json, &session) {
        return *refused;
    }
    let filter = match filter(request) {
        Some(filter) => filter,
        None => return refuse(json, StatusCode::BAD_REQUEST, "Bad filter", "A filter is repeated or too long."),
    };
    let (store, clock) = (env.ports.store, env.ports.clock);
    let (listing, blocked) = match (admin::list(store, clock, &filter), admin::blocked_clients(store, clock)) {
        (Ok(listing), Ok(blocked)) => (listing, blocked),
        _ => return unavailable(json),
    };
    let view = admin_view::ConsoleView {
        session: &session,
        csrf_token: &session.csrf_token(&config.cookie_key),
        filter: &filter,
        listing: &listing,
        blocked: &blocked,
        now: clock.now_unix(),
    };
    if json { admin_view::console_json(&view) } else { admin_view::console_page(&view) }
}

/// The query's `user` and `client` filters; `None` when one is repeated or too long.
fn filter(request: &Request) -> Option<Filter> {
    let query = web::query_pairs(request);
    let value = |name: &str| -> Option<Option<String>> {
        let value = web::single_value(&query, name).ok()?;
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        if value.is_some_and(|v| v.len() > MAX_FILTER_LEN) {
            return None;
        }
        Some(value.map(str::to_owned))
    };
    Some(Filter { user_id: value("user")?, client_id: value("client")? })
}

/// A form post to one of the console's actions: every `/apps` check, the operator's role, then
/// the action.
pub(super) fn post(env: &Env<'_>, request: &Request, action: AdminAction) -> Response {
    if env.settings.admin_roles.is_empty() {
        return no_console(wants_json(request));
    }
    let checked = match actions::check(env, request) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    if let Err(refused) = operator_only(env, checked.json, &checked.session) {
        return *refused;
    }
    let target = match web::single_value(&checked.form, action.field()) {
        Ok(Some(value)) if !value.trim().is_empty() && value.len() <= MAX_FILTER_LEN => value.trim().to_owned(),
        _ => {
            let message = format!("The form needs one {}.", action.field());
            return refuse(checked.json, StatusCode::BAD_REQUEST, "Incomplete form", &message);
        }
    };
    act(env, request, &checked, action, &target)
}

fn act(env: &Env<'_>, request: &Request, checked: &Checked, action: AdminAction, target: &str) -> Response {
    let (store, clock, json) = (env.ports.store, env.ports.clock, checked.json);
    let operator = checked.session.user_id.as_str();
    let event = |event: Event| AuditEvent::new(event).user_id(operator);
    let (audit, answer) = match action {
        AdminAction::RevokeGrant => match admin::revoke_grant(store, clock, target) {
            Ok(Some(revoked)) => (
                event(Event::AdminRevoked).grant_id(target).client_id(&revoked.client_id).detail("one grant revoked"),
                json!({ "revoked_grant": target, "user_id": revoked.user_id, "client_id": revoked.client_id }),
            ),
            Ok(None) => return refuse(json, StatusCode::NOT_FOUND, "No such grant", "No live grant has this id."),
            Err(_) => return unavailable(json),
        },
        AdminAction::RevokeUser => match admin::revoke_user(store, clock, target) {
            Ok(changed) => (
                event(Event::AdminRevoked).caller_text(target).detail("every grant of the user revoked"),
                json!({ "revoked_user": target, "grants": changed.grants, "complete": changed.complete }),
            ),
            Err(_) => return unavailable(json),
        },
        AdminAction::RevokeClient => match admin::revoke_client(store, clock, target) {
            Ok(changed) => (
                event(Event::AdminRevoked).client_id(target).detail("every grant of the client revoked"),
                json!({ "revoked_client": target, "grants": changed.grants, "complete": changed.complete }),
            ),
            Err(_) => return unavailable(json),
        },
        AdminAction::Block => match admin::block_client(store, clock, target, operator) {
            Ok(changed) => (
                event(Event::ClientBlocked).client_id(target).detail("client blocked, its grants revoked"),
                json!({ "blocked_client": target, "grants": changed.grants, "complete": changed.complete }),
            ),
            Err(BlockError::Store(_)) => return unavailable(json),
            Err(error) => return refuse(json, StatusCode::BAD_REQUEST, "Cannot block", &error.to_string()),
        },
        AdminAction::Unblock => match admin::unblock_client(store, clock, target) {
            Ok(true) => (event(Event::ClientUnblocked).client_id(target), json!({ "unblocked_client": target })),
            Ok(false) => return refuse(json, StatusCode::NOT_FOUND, "Not blocked", "This client is not blocked."),
            Err(_) => return unavailable(json),
        },
    };
    env.record(request, audit);
    if json {
        web::json(StatusCode::OK, &answer)
    } else {
        web::response(StatusCode::SEE_OTHER, &[("location", "/apps/admin"), ("cache-control", "no-store")], "")
    }
}

/// A console path that is not a route.
pub(super) fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
}
