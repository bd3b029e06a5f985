//! The page's two form posts, `POST /apps/revoke` and `POST /apps/sign-out`. Both change
//! something only after every check passed: a form body, an `Origin` (when the browser sends
//! one) that is this server's ([`same_origin_form`], which the sign-in button's post passes
//! too), a live session, and that session's CSRF token. SameSite=Lax on the session cookie
//! already keeps cross-site posts from carrying it; the token and the `Origin` check hold even
//! where that does not.

use http::StatusCode;
use oauth_core::connected_apps::{self, RevokeAppError};
use platform::web::{self, Request, Response, append_header};
use serde_json::json;

use super::session::{self, Session};
use super::view::{json_error, notice_page};
use super::{unavailable, wants_json};
use crate::config::FlowConfig;
use crate::pages::error_page;
use crate::{Env, MAX_BODY_BYTES, approvals, cookies};

/// A form post from this server's own page, not yet tied to a session.
pub(super) struct FormPost {
    pub config: FlowConfig,
    /// This server's public origin.
    pub base: String,
    pub form: Vec<(String, String)>,
    /// The caller asked for JSON answers.
    pub json: bool,
}

/// A form post that passed every check.
pub(super) struct Checked {
    pub session: Session,
    pub form: Vec<(String, String)>,
    pub config: FlowConfig,
    pub json: bool,
}

/// A refusal, as a page or as JSON.
pub(super) fn refuse(json: bool, status: StatusCode, title: &str, message: &str) -> Response {
    if json {
        let code = match status {
            StatusCode::UNAUTHORIZED => "sign_in_required",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::INTERNAL_SERVER_ERROR => "server_error",
            _ => "invalid_request",
        };
        json_error(status, code, message)
    } else if status == StatusCode::UNAUTHORIZED {
        notice_page(status, title, message, "Sign in again")
    } else {
        error_page(status, title, message)
    }
}

/// The checks every form post of the page passes first: a form body of a sane size, the
/// configuration, and an `Origin` (when the browser sends one) that is this server's.
pub(super) fn same_origin_form(env: &Env<'_>, request: &Request) -> Result<FormPost, Box<Response>> {
    let json = wants_json(request);
    let refused = |status, title, message: &str| Box::new(refuse(json, status, title, message));
    if web::media_type(request).as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(refused(StatusCode::BAD_REQUEST, "Not a form", "The request was not submitted as a form."));
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Err(refused(StatusCode::PAYLOAD_TOO_LARGE, "Request too large", "The form is too large."));
    }
    let config = env
        .settings
        .flow()
        .map_err(|e| refused(StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured", &e.to_string()))?;
    let base = web::base_url(request)
        .map_err(|e| {
            refused(web::PublicBaseUrlRequired::STATUS, "This server does not answer for this address", &e.to_string())
        })?
        .url;
    if let Some(origin) = request.headers().get("origin") {
        let same = origin.to_str().ok().and_then(web::origin_of).is_some_and(|o| Some(o) == web::origin_of(&base));
        if !same {
            return Err(refused(StatusCode::FORBIDDEN, "Request not accepted", "The form came from another site."));
        }
    }
    Ok(FormPost { config, base, form: web::decode_pairs(request.body()), json })
}

pub(super) fn check(env: &Env<'_>, request: &Request) -> Result<Checked, Box<Response>> {
    let FormPost { config, form, json, .. } = same_origin_form(env, request)?;
    let refused = |status, title, message: &str| Box::new(refuse(json, status, title, message));
    let session = match session::current(env.ports.store, env.ports.clock, request) {
        Ok(Some(session)) => session,
        Ok(None) => {
            return Err(refused(
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                "Nothing was changed. Sign in again to manage your connected apps.",
            ));
        }
        Err(_) => return Err(Box::new(unavailable(json))),
    };
    let csrf_ok = web::single_value(&form, "csrf_token")
        .ok()
        .flatten()
        .is_some_and(|token| !token.is_empty() && session.csrf_matches(&config.cookie_key, token));
    if !csrf_ok {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "Request not accepted",
            "This form was not submitted from the page this session was shown (missing or wrong token).",
        ));
    }
    Ok(Checked { session, form, config, json })
}

/// The page's form posts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Action {
    Revoke,
    SignOut,
}

/// A form post to `/apps/revoke` or `/apps/sign-out`: checked first, then done.
pub(super) fn post(env: &Env<'_>, request: &Request, action: Action) -> Response {
    match (check(env, request), action) {
        (Err(refused), _) => *refused,
        (Ok(checked), Action::Revoke) => revoke(env, request, checked),
        (Ok(checked), Action::SignOut) => sign_out(env, checked),
    }
}

/// `POST /apps/revoke` (one `grant_id`, or several: all of an app's connections): the grants
/// end, and so does the user's approval of their clients (every redirect URI, every browser:
/// the client must ask again), and this browser's hint of it.
fn revoke(env: &Env<'_>, request: &Request, checked: Checked) -> Response {
    let json = checked.json;
    let grant_ids: Vec<&str> =
        checked.form.iter().filter(|(name, _)| name == "grant_id").map(|(_, value)| value.as_str()).collect();
    if grant_ids.is_empty() || grant_ids.len() > connected_apps::MAX_REVOKED_AT_ONCE {
        return refuse(json, StatusCode::BAD_REQUEST, "Incomplete form", "The form names no app to revoke.");
    }
    let user_id = &checked.session.user_id;
    let revoked = match connected_apps::revoke_all_for_user(env.ports.store, env.ports.clock, user_id, &grant_ids) {
        Ok(revoked) => revoked,
        Err(RevokeAppError::NotFound) => {
            return refuse(json, StatusCode::NOT_FOUND, "No such app", "You have no connected app with this id.");
        }
        Err(RevokeAppError::Store(_)) => return unavailable(json),
    };
    for app in &revoked {
        if approvals::forget(env.ports.store, user_id, &app.client_id).is_err() {
            return unavailable(json);
        }
    }
    if !json && session::set_revoked_notice(env.ports.store, &checked.session, true).is_err() {
        return unavailable(json);
    }
    let key = &checked.config.cookie_key;
    let clients: Vec<(&str, &[String])> =
        revoked.iter().map(|app| (app.client_id.as_str(), app.redirect_uris.as_slice())).collect();
    let forget = cookies::approvals_forget_set_cookie(key, &cookies::approvals(request, key), &clients);
    let mut response = if json {
        let client_ids: Vec<&str> = revoked.iter().map(|app| app.client_id.as_str()).collect();
        let answer = match grant_ids.as_slice() {
            [one] => json!({ "revoked": one, "client_id": client_ids[0] }),
            many => json!({ "revoked": many, "client_ids": client_ids }),
        };
        web::json(StatusCode::OK, &answer)
    } else {
        web::response(StatusCode::SEE_OTHER, &[("location", "/apps"), ("cache-control", "no-store")], "")
    };
    forget.iter().for_each(|c| append_header(&mut response, "set-cookie", c));
    response
}

/// `POST /apps/sign-out`.
fn sign_out(env: &Env<'_>, checked: Checked) -> Response {
    if session::end(env.ports.store, &checked.session).is_err() {
        return unavailable(checked.json);
    }
    let mut response = if checked.json {
        web::json(StatusCode::OK, &json!({ "signed_out": true }))
    } else {
        notice_page(
            StatusCode::OK,
            "Signed out",
            "You are signed out of the connected-apps page. Your apps keep their access.",
            "Sign in again",
        )
    };
    append_header(&mut response, "set-cookie", &session::clear_cookie());
    response
}
