//! `GET /authorize` (validate; an approval this browser remembers -> Clerk, otherwise the
//! consent page, which stores nothing) and `POST /authorize` (the consent form: deny -> our own
//! page, approve -> Clerk, or, on a consent page shown after sign-in, straight to the client).

use http::StatusCode;
use oauth_core::{AuthorizeError, ValidatedAuthorization, validate_authorization_request};
use platform::secret::{hash_hex, random_token};
use platform::web::{self, Request, Response, append_header};
use platform::{AuditEvent, Clock, Event};

use crate::complete::{self, clerk_failure, misconfigured_redirect};
use crate::config::FlowConfig;
use crate::consent::{self, CONSENT_TTL, ConsentForm, SignedInUser};
use crate::pages::{self, ConsentView, OneTime, error_page, unavailable_page};
use crate::records::{Flow, TakeError};
use crate::scope_lines::{Account, scope_lines};
use crate::upstream::{self, StartError};
use crate::{Env, MAX_BODY_BYTES, approvals, cookies};

/// `GET /authorize`.
///
/// Nothing here redirects the browser to the client before its user has approved that redirect
/// URI for that client (RFC 9700 §4.11.2): a registered redirect URI is not a trusted one, since
/// anyone may register a client. Errors go back to the client only when this browser's signed
/// approval cookie names the pair; otherwise they are shown on a page.
pub async fn get(env: &Env<'_>, request: &Request) -> Response {
    let base = match web::base_url(request) {
        Ok(base) => base.url,
        Err(error) => return misdirected_page(&error),
    };
    let clients = match &env.settings.clients {
        Ok(clients) => clients,
        Err(error) => return misconfigured_page(error),
    };
    let resolver = clients.resolver(&env.ports, &base, web::client_ip(request));
    let query = web::query_pairs(request);
    let validated = match validate_authorization_request(&resolver, &base, &clients.redirect_policy, &query).await {
        Ok(validated) => validated,
        Err(error) => return refused(env, request, error),
    };
    let config = match env.settings.flow() {
        Ok(config) => config,
        Err(error) => {
            let approved = approved_by_browser(env, request, &validated.client_id, &validated.redirect_uri);
            return if approved { misconfigured_redirect(&validated, &error) } else { misconfigured_page(&error) };
        }
    };
    let Ok((browser, set_cookies)) = cookies::browser_or_new(request) else {
        return no_randomness_page();
    };
    // Only a hint: after sign-in, the server checks its own record of this user's approval.
    if cookies::approvals(request, &config.cookie_key).contains(&validated.client_id, &validated.redirect_uri) {
        if let Some(refused) = crate::admit_sign_in(env, request) {
            return refused;
        }
        return go_upstream(env, &config, validated, &base, &browser, false, set_cookies).await;
    }
    let mut response = consent_page(env.ports.clock, &config, validated, &browser, None);
    set_cookies.iter().for_each(|c| append_header(&mut response, "set-cookie", c));
    response
}

/// A refused request: back to the client when its error may go there and this browser approved
/// the client's redirect URI; otherwise a page.
fn refused(env: &Env<'_>, request: &Request, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Redirect(redirect) => {
            let location = redirect.location();
            redirect_if_approved(env, request, &redirect.client_id, &redirect.redirect_uri, &location)
                .unwrap_or_else(|| invalid_request_page(&redirect.error_description))
        }
        AuthorizeError::Store(_) => unavailable_page(),
        AuthorizeError::Document(refused) => {
            // One sentence whatever went wrong: the reason may quote the document server or the
            // caller, and would map the network behind this server; it goes to the log.
            let mut page = error_page(StatusCode::BAD_REQUEST, "This app could not be verified", DOCUMENT_REFUSED);
            platform::diagnostic::attach(&mut page, &refused.to_string());
            page
        }
        AuthorizeError::Limited(limited) => {
            let event = AuditEvent::new(Event::RateLimited).limit(limited.limit.name).retry_after(limited.retry_after);
            env.record(request, event);
            pages::too_many_requests(limited.retry_after)
        }
        other => invalid_request_page(&other.to_string()),
    }
}

/// A redirect to `location` if this browser approved `redirect_uri` for `client_id` (checked with
/// the cookie key alone, so a broken Clerk configuration still reaches the client).
fn redirect_if_approved(
    env: &Env<'_>,
    request: &Request,
    client_id: &str,
    redirect_uri: &str,
    location: &str,
) -> Option<Response> {
    approved_by_browser(env, request, client_id, redirect_uri).then(|| web::redirect(location))
}

/// Whether this browser's approval cookie names `redirect_uri` for `client_id`.
fn approved_by_browser(env: &Env<'_>, request: &Request, client_id: &str, redirect_uri: &str) -> bool {
    env.settings.cookie_key().is_ok_and(|key| cookies::approvals(request, key).contains(client_id, redirect_uri))
}

/// What the page says when an app's client ID metadata document cannot be used.
const DOCUMENT_REFUSED: &str = "The app identifies itself by a web address, and what that address describes could not be used. The server's log says why.";

fn invalid_request_page(problem: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid",
        &format!("The app asked for something this server cannot accept: {}", sentence(problem)),
    )
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

fn no_randomness_page() -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Please try again in a moment.")
}

/// A request to an authority this server does not know it has: a page (never a redirect, as the
/// request may come from a DNS-rebinding page) naming the variable to set.
fn misdirected_page(error: &web::PublicBaseUrlRequired) -> Response {
    error_page(
        web::PublicBaseUrlRequired::STATUS,
        "This server does not answer for this address",
        &sentence(&error.to_string()),
    )
}

/// A configuration error, for the operator: it names the variable (never its value).
fn misconfigured_page(error: &impl std::fmt::Display) -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "This server is misconfigured", &sentence(&error.to_string()))
}

/// The consent page for `validated`, shown to `browser` (before sign-in, or after it for
/// `signed_in`): its form is sealed into the page, so nothing is stored. Nothing has been
/// approved yet, so failures are pages, not redirects.
pub(crate) fn consent_page(
    clock: &dyn Clock,
    config: &FlowConfig,
    validated: ValidatedAuthorization,
    browser: &str,
    signed_in: Option<SignedInUser>,
) -> Response {
    let Ok(csrf) = random_token() else {
        return no_randomness_page();
    };
    let form = ConsentForm {
        expires_at: clock.now_unix() + CONSENT_TTL,
        browser_hash: cookies::browser_hash(browser),
        csrf_hash: hash_hex(&csrf),
        validated,
        signed_in,
    };
    let Ok(handle) = form.seal(&config.cookie_key) else {
        return no_randomness_page();
    };
    let account =
        form.signed_in.as_ref().map(|user| Account { role: user.role.as_deref(), approved: &user.approved_before });
    let scopes = scope_lines(&form.validated.scope, &config.scopes, account);
    pages::consent_page(&ConsentView {
        validated: &form.validated,
        handle: &handle,
        csrf_token: &csrf,
        clerk_origin: &config.clerk.frontend_api,
        signed_in_as: form.signed_in.as_ref().map(|user| user.display_name.as_str()),
        scopes: &scopes,
    })
}

/// Creates the upstream state and redirects the browser to Clerk (with `set_cookies`).
/// `approved_on_page`: the user just approved on the consent page (otherwise the browser only
/// remembered an approval, which `/callback` checks for the user Clerk signs in).
pub(crate) async fn go_upstream(
    env: &Env<'_>,
    config: &FlowConfig,
    validated: ValidatedAuthorization,
    base: &str,
    browser: &str,
    approved_on_page: bool,
    set_cookies: Vec<String>,
) -> Response {
    let flow = Flow::Authorize(Box::new(validated.clone()));
    match upstream::start(env, config, base, browser, flow, approved_on_page).await {
        Ok(url) => upstream::redirect_with_cookies(&url, &set_cookies),
        Err(StartError::Random) => web::redirect(&validated.error_redirect("server_error", "no randomness")),
        Err(StartError::Clerk(e)) => clerk_failure(&validated, &e),
        Err(StartError::Store) => {
            web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable"))
        }
    }
}

/// `POST /authorize`: the consent form.
pub async fn post(env: &Env<'_>, request: &Request) -> Response {
    if web::media_type(request).as_deref() != Some("application/x-www-form-urlencoded") {
        return bad_form("The form was not submitted as a form.");
    }
    if request.body().len() > MAX_BODY_BYTES {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "Request too large", "The form is larger than expected.");
    }
    let form = web::decode_pairs(request.body());
    let field = |name: &str| web::single_value(&form, name).ok().flatten();
    let (Some(handle), Some(csrf), Some(decision)) = (field("handle"), field("csrf_token"), field("decision")) else {
        return bad_form("The form is incomplete.");
    };
    if decision != "approve" && decision != "deny" {
        return bad_form("Choose Approve or Deny.");
    }
    let key = match env.settings.cookie_key() {
        Ok(key) => key,
        Err(error) => return misconfigured_page(error),
    };
    // Sealed by this server, shown to this browser, with this form's token, then used up.
    let Some(form) = ConsentForm::open(key, handle, env.ports.clock.now_unix()) else {
        return pages::cannot_use(OneTime::ConsentForm, TakeError::Missing);
    };
    if !(cookies::is_same_browser(request, &form.browser_hash) && form.has_token(csrf)) {
        return pages::cannot_use(OneTime::ConsentForm, TakeError::Refused(()));
    }
    if let Some(refused) = crate::admit_sign_in(env, request) {
        return refused;
    }
    if let Err(error) = consent::claim(env.ports.store, env.ports.clock, csrf, &form) {
        return pages::cannot_use(OneTime::ConsentForm, error);
    }
    let client_id = form.validated.client_id.clone();
    if decision == "deny" {
        env.record(request, AuditEvent::new(Event::ConsentDenied).client_id(&client_id));
        return deny(env, request, key, &form);
    }
    let approved = AuditEvent::new(Event::ConsentApproved).client_id(&client_id);
    match form.signed_in {
        Some(user) => {
            env.record(request, approved.detail("on the consent page after sign-in"));
            complete::approve_signed_in(env, request, &form.validated, user).await
        }
        None => {
            env.record(request, approved.detail("on the consent page"));
            approve(env, request, form.validated).await
        }
    }
}

/// Deny: our own page, unless this browser (and the signed-in user, when the page came after
/// sign-in) already approved this client and redirect URI, whose `access_denied` then goes back
/// to the client. Anything else would redirect to a URI nobody approved.
fn deny(env: &Env<'_>, request: &Request, key: &[u8], form: &ConsentForm) -> Response {
    let v = &form.validated;
    let browser_approved = cookies::approvals(request, key).contains(&v.client_id, &v.redirect_uri);
    let user_approved = form.signed_in.as_ref().is_none_or(|user| {
        approvals::is_approved(env.ports.store, env.ports.clock, &user.user_id, &v.client_id, &v.redirect_uri)
            .unwrap_or(false)
    });
    if browser_approved && user_approved {
        web::redirect(&v.error_redirect("access_denied", "the user denied the request"))
    } else {
        pages::denied_page(v)
    }
}

fn bad_form(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This consent form is not valid", message)
}

/// Approve before sign-in: go to Clerk. The approval is recorded (server-side for the user, and
/// as a hint in this browser) when the sign-in completes.
async fn approve(env: &Env<'_>, request: &Request, validated: ValidatedAuthorization) -> Response {
    let config = match env.settings.flow() {
        Ok(config) => config,
        Err(e) => return misconfigured_redirect(&validated, &e),
    };
    let Some(browser) = cookies::browser_id(request) else {
        return bad_form("This browser's cookie is missing.");
    };
    let base = match web::base_url(request) {
        Ok(base) => base.url,
        Err(error) => return misdirected_page(&error),
    };
    go_upstream(env, &config, validated, &base, &browser, true, Vec::new()).await
}
