//! `/apps`, "Connected apps": a signed-in user sees the MCP clients they approved and revokes
//! the ones they no longer want.
//!
//! - `GET /apps`: the list (HTML), or the same data as JSON when `Accept` asks for
//!   `application/json` and not HTML. Without a session, browsers get a sign-in button (nothing
//!   is stored), scripts a 401.
//! - `POST /apps/sign-in` (`csrf_token`): the button; the same Clerk sign-in as `/authorize`
//!   ([`sign_in`]), back with a session ([`session`]).
//! - `POST /apps/revoke` (`grant_id`, `csrf_token`): revokes one of the user's grants the way
//!   every revocation does, and forgets the user's approval of that client (every redirect URI,
//!   every browser) and this browser's hint of it.
//! - `POST /apps/sign-out` (`csrf_token`): ends the session.
//! - `/apps/admin...`: the operator console ([`admin`]), for the roles in `admin_roles`.
//!
//! The grants come from `oauth_core::connected_apps`, which only ever shows or changes the
//! signed-in user's own grants.

mod actions;
mod admin;
mod admin_view;
pub mod session;
mod sign_in;
mod view;

pub(crate) use sign_in::finish as finish_sign_in;

use http::StatusCode;
use oauth_core::connected_apps;
use platform::accept::Accept;
use platform::web::{self, Request, Response};

use self::actions::Action;
use self::session::Session;
use crate::Env;
use crate::config::FlowConfig;
use crate::pages::error_page;

/// Routes `/apps` and everything under it.
pub async fn handle(env: &Env<'_>, request: &Request) -> Response {
    // Trailing slashes are forgiven here (`/apps/` is a link people type); Spin routes
    // everything under `/apps/...` to this component.
    match (web::path(request).trim_end_matches('/'), request.method().as_str()) {
        ("/apps", "GET") => list(env, request).await,
        ("/apps", _) => web::method_not_allowed("GET"),
        ("/apps/sign-in", "POST") => sign_in::post(env, request).await,
        ("/apps/revoke", "POST") => actions::post(env, request, Action::Revoke),
        ("/apps/sign-out", "POST") => actions::post(env, request, Action::SignOut),
        ("/apps/sign-in" | "/apps/revoke" | "/apps/sign-out", _) => web::method_not_allowed("POST"),
        ("/apps/admin", "GET") => admin::page(env, request).await,
        ("/apps/admin", _) => web::method_not_allowed("GET"),
        (path, method) if path.starts_with("/apps/admin/") => match (admin::AdminAction::of_path(path), method) {
            (Some(action), "POST") => admin::post(env, request, action),
            (Some(_), _) => web::method_not_allowed("POST"),
            (None, _) => admin::not_found(),
        },
        _ => error_page(StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
    }
}

/// Who is looking at a page: the settings it needs and the signed-in session.
pub(super) struct Viewer {
    pub config: FlowConfig,
    /// This server's public origin.
    pub base: String,
    pub session: Session,
    /// The caller asked for JSON.
    pub json: bool,
}

/// The viewer of a `GET` page, or the answer instead: without a session, the sign-in page (or
/// a 401 for scripts).
pub(super) fn viewer(env: &Env<'_>, request: &Request) -> Result<Viewer, Box<Response>> {
    let json = wants_json(request);
    let failed = |status, error, description: &str| Box::new(failure(json, status, error, description));
    let config =
        env.settings.flow().map_err(|e| failed(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()))?;
    let base = web::base_url(request)
        .map_err(|e| failed(web::PublicBaseUrlRequired::STATUS, "invalid_request", &e.to_string()))?
        .url;
    match session::current(env.ports.store, env.ports.clock, request) {
        Ok(Some(session)) => Ok(Viewer { config, base, session, json }),
        Ok(None) if json => Err(Box::new(view::json_error(
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            &format!("sign in with a browser at {base}/apps, then send its session cookie"),
        ))),
        Ok(None) => Err(Box::new(sign_in::page(&config, request, &server_host(&base)))),
        Err(_) => Err(Box::new(unavailable(json))),
    }
}

/// `GET /apps`.
async fn list(env: &Env<'_>, request: &Request) -> Response {
    let Viewer { config, base, session, json } = match viewer(env, request) {
        Ok(viewer) => viewer,
        Err(answer) => return *answer,
    };
    let listing = match connected_apps::list(env.ports.store, env.ports.clock, &session.user_id) {
        Ok(listing) => listing,
        Err(_) => return unavailable(json),
    };
    let csrf_token = session.csrf_token(&config.cookie_key);
    if json {
        return view::list_json(&session, &csrf_token, &listing);
    }
    // The notice is the revoking session's, once.
    if session.revoked_notice && session::set_revoked_notice(env.ports.store, &session, false).is_err() {
        return unavailable(json);
    }
    view::list_page(&view::ListView {
        operator: env.settings.is_admin_role(session.role.as_deref()),
        session: &session,
        csrf_token: &csrf_token,
        listing: &listing,
        server_host: &server_host(&base),
        now: env.ports.clock.now_unix(),
        revoked_notice: session.revoked_notice,
    })
}

/// This server's host, as the pages name it.
fn server_host(base: &str) -> String {
    web::authority_of(base).unwrap_or_else(|| base.to_owned())
}

/// True when the client asks for JSON and not for HTML: a script's `Accept: application/json`,
/// never a browser's navigation (which names `text/html`).
fn wants_json(request: &Request) -> bool {
    let accept = Accept::of(request);
    accept.names("application/json") && !accept.names("text/html")
}

/// A failure, as a page or as JSON.
fn failure(json: bool, status: StatusCode, error: &str, description: &str) -> Response {
    if json { view::json_error(status, error, description) } else { error_page(status, "Server error", description) }
}

fn unavailable(json: bool) -> Response {
    if json {
        view::json_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "storage is unavailable")
    } else {
        sign_in::storage_unavailable()
    }
}

#[cfg(test)]
mod tests;
