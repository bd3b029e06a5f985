//! `GET /authorize` (validate; remembered approval -> Clerk, otherwise the consent page) and
//! `POST /authorize` (the consent form: deny -> `access_denied`, approve -> remember and go to
//! Clerk).

use clerk_client::ClerkError;
use http::StatusCode;
use oauth_core::rules::redirect_uri::RedirectPolicy;
use oauth_core::{AuthorizeError, ClientResolver, ValidatedAuthorization, validate_authorization_request};
use platform::secret::{hash_hex, random_token};
use platform::web::{self, Request, Response, append_header};
use platform::{AuditEvent, AuditLog, Clock, Event, HttpClient, KeyValueStore, Variables};

use crate::config::{self, FlowConfig};
use crate::pages::{self, ConsentView, error_page, unavailable_page};
use crate::records::{self, Consent, CreateError, Flow, Kind};
use crate::upstream::{self, StartError};
use crate::{Env, MAX_BODY_BYTES, cookies};

/// `GET /authorize`.
///
/// Nothing here redirects the browser to the client before its user has approved that redirect
/// URI for that client (RFC 9700 §4.11.2): a registered redirect URI is not a trusted one, since
/// anyone may register a client. Errors go back to the client only when this browser's signed
/// approval cookie names the pair; otherwise they are shown on a page.
pub async fn get<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
) -> Response {
    let base = match web::base_url(request, config::public_base_url(&env.vars).as_deref()) {
        Ok(base) => base.url,
        Err(error) => return misdirected_page(&error),
    };
    let policy = match RedirectPolicy::from_variables(&env.vars) {
        Ok(policy) => policy,
        Err(error) => return misconfigured_page(&error),
    };
    let settings = match config::cimd_settings(&env.vars, &base) {
        Ok(settings) => settings,
        Err(error) => return misconfigured_page(&error),
    };
    let clients = ClientResolver {
        store: &env.store,
        clock: &env.clock,
        http: &env.http,
        settings,
        redirect_policy: &policy,
        caller: web::client_ip(request),
    };
    let query = web::query_pairs(request);
    let validated = match validate_authorization_request(&clients, &base, &policy, &query).await {
        Ok(validated) => validated,
        Err(error) => return refused(env, request, error),
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(error) => {
            let redirect = misconfigured_redirect(&validated, &error);
            return redirect_if_approved(env, request, &validated.client_id, &validated.redirect_uri, &redirect)
                .unwrap_or_else(|| misconfigured_page(&error));
        }
    };
    let approvals = cookies::approvals(request, &config.cookie_key);
    let (browser, set_cookies) = match cookies::browser_id(request) {
        Some(id) => (id, Vec::new()),
        None => match random_token() {
            Ok(id) => (id.clone(), vec![cookies::browser_set_cookie(&id)]),
            Err(_) => return no_randomness_page(),
        },
    };
    if cookies::is_approved(&approvals, &validated.client_id, &validated.redirect_uri) {
        let approved = AuditEvent::new(Event::ConsentApproved).client_id(&validated.client_id);
        env.record(request, approved.detail("remembered approval"));
        return go_upstream(env, &config, validated, &base, &browser, set_cookies).await;
    }
    let mut response = consent(env, &config, validated, &browser);
    set_cookies.iter().for_each(|c| append_header(&mut response, "set-cookie", c));
    response
}

/// A refused request: back to the client when its error may go there and this browser approved
/// the client's redirect URI; otherwise a page.
fn refused<S, C, H, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
    error: AuthorizeError,
) -> Response {
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
fn redirect_if_approved<S, C, H, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
    client_id: &str,
    redirect_uri: &str,
    location: &str,
) -> Option<Response> {
    let key = config::cookie_key(&env.vars).ok()?;
    let approvals = cookies::approvals(request, &key);
    cookies::is_approved(&approvals, client_id, redirect_uri).then(|| web::redirect(location))
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

/// Stores the validated request behind a one-time handle and shows the consent page. Nothing
/// has been approved yet, so failures are pages, not redirects.
fn consent<S: KeyValueStore, C: Clock, H, V, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    config: &FlowConfig,
    validated: ValidatedAuthorization,
    browser: &str,
) -> Response {
    let (Ok(handle), Ok(csrf)) = (random_token(), random_token()) else {
        return no_randomness_page();
    };
    let record = Consent { validated, csrf_hash: hash_hex(&csrf), browser_hash: cookies::browser_hash(browser) };
    let expires_at = env.clock.now_unix() + records::CONSENT_TTL;
    match records::create(&env.store, Kind::Consent, &handle, &record, expires_at) {
        Ok(()) => {}
        Err(CreateError::Store(_)) => return unavailable_page(),
        Err(CreateError::Seal(_)) => return no_randomness_page(),
    }
    pages::consent_page(&ConsentView {
        validated: &record.validated,
        handle: &handle,
        csrf_token: &csrf,
        clerk_origin: &config.clerk.frontend_api,
    })
}

/// Creates the upstream state and redirects the browser to Clerk (with `set_cookies`).
pub(crate) async fn go_upstream<S: KeyValueStore, C: Clock, H: HttpClient, V, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    config: &FlowConfig,
    validated: ValidatedAuthorization,
    base: &str,
    browser: &str,
    set_cookies: Vec<String>,
) -> Response {
    match upstream::start(env, config, base, browser, Flow::Authorize(Box::new(validated.clone()))).await {
        Ok(url) => upstream::redirect_with_cookies(&url, &set_cookies),
        Err(StartError::Random) => web::redirect(&validated.error_redirect("server_error", "no randomness")),
        Err(StartError::Clerk(e)) => web::redirect(&clerk_failure(&validated, &e)),
        Err(StartError::Store) => {
            web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable"))
        }
    }
}

/// The client-facing error for a broken configuration: generic (the variable is named in the
/// log, for the operator, not to a client app).
pub(crate) fn misconfigured_redirect(validated: &ValidatedAuthorization, error: &impl std::fmt::Display) -> String {
    log_failure("misconfigured", error);
    validated.error_redirect("server_error", "the server is misconfigured")
}

/// Writes an internal failure to the component's log, where the operator sees what the
/// client's generic description leaves out.
pub(crate) fn log_failure(what: &str, detail: &impl std::fmt::Display) {
    platform::log::failure("clerk-callback", what, detail);
}

/// The client-facing error for a Clerk failure: retryable ones are `temporarily_unavailable`.
/// The description is generic; what Clerk (or the network) said goes to the log.
pub(crate) fn clerk_failure(validated: &ValidatedAuthorization, error: &ClerkError) -> String {
    log_failure("signing in with Clerk failed", error);
    match error {
        ClerkError::UserGone { .. } => validated.error_redirect("access_denied", "this account may not sign in"),
        e if e.is_temporary() => {
            validated.error_redirect("temporarily_unavailable", "the sign-in service (Clerk) is unavailable")
        }
        _ => validated.error_redirect("server_error", "signing in with Clerk failed"),
    }
}

/// `POST /authorize`: the consent form.
pub async fn post<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
) -> Response {
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
    // Same browser, right CSRF token, then used up.
    let right_token = |consent: &Consent| cookies::same_secret(&hash_hex(csrf), &consent.csrf_hash);
    let consent = match records::take_for_browser(&env.store, &env.clock, Kind::Consent, handle, request, right_token) {
        Ok(consent) => consent,
        Err(error) => return pages::cannot_use(Kind::Consent, error),
    };
    if decision == "deny" {
        env.record(request, AuditEvent::new(Event::ConsentDenied).client_id(&consent.validated.client_id));
        return web::redirect(&consent.validated.error_redirect("access_denied", "the user denied the request"));
    }
    let approved = AuditEvent::new(Event::ConsentApproved).client_id(&consent.validated.client_id);
    env.record(request, approved.detail("on the consent page"));
    approve(env, request, consent).await
}

fn bad_form(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This consent form is not valid", message)
}

/// Approve: remember the (client, redirect URI) pair in the signed cookie, then go to Clerk.
async fn approve<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
    consent: Consent,
) -> Response {
    let validated = consent.validated;
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => return web::redirect(&misconfigured_redirect(&validated, &e)),
    };
    let Some(browser) = cookies::browser_id(request) else {
        return bad_form("This browser's cookie is missing.");
    };
    let existing = cookies::approvals(request, &config.cookie_key);
    let remember =
        cookies::approval_set_cookie(&config.cookie_key, &existing, &validated.client_id, &validated.redirect_uri);
    let base = match web::base_url(request, config.public_base_url.as_deref()) {
        Ok(base) => base.url,
        Err(error) => return misdirected_page(&error),
    };
    go_upstream(env, &config, validated, &base, &browser, remember.into_iter().collect()).await
}
