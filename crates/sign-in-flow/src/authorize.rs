//! `GET /authorize` (validate; remembered approval -> Clerk, otherwise the consent page) and
//! `POST /authorize` (the consent form: deny -> `access_denied`, approve -> remember and go to
//! Clerk).

use clerk_client::ClerkError;
use http::StatusCode;
use oauth_core::{AuthorizeError, ClientResolver, ValidatedAuthorization, validate_authorization_request};
use platform::secret::{hash_hex, random_token};
use platform::web::{self, Request, Response, append_header};
use platform::{Clock, HttpClient, KeyValueStore, Variables};

use crate::config::{self, FlowConfig};
use crate::pages::{self, ConsentView, error_page, unavailable_page};
use crate::records::{self, Consent, Flow, Kind, TakeError};
use crate::upstream::{self, StartError};
use crate::{Env, MAX_BODY_BYTES, cookies};

/// `GET /authorize`.
pub async fn get<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables>(
    env: &Env<S, C, H, V>,
    request: &Request,
) -> Response {
    let base = web::base_url(request, config::public_base_url(&env.vars).as_deref());
    let settings = match config::cimd_settings(&env.vars, &base) {
        Ok(settings) => settings,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured", &e.to_string()),
    };
    let clients = ClientResolver { store: &env.store, clock: &env.clock, http: &env.http, settings };
    let validated = match validate_authorization_request(&clients, &base, &web::query_pairs(request)).await {
        Ok(validated) => validated,
        Err(error) => return refused(error),
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => return web::redirect(&validated.error_redirect("server_error", &e.to_string())),
    };
    let (browser, mut set_cookies) = match cookies::browser_id(request) {
        Some(id) => (id, Vec::new()),
        None => match random_token() {
            Ok(id) => (id.clone(), vec![cookies::browser_set_cookie(&id)]),
            Err(_) => return web::redirect(&validated.error_redirect("server_error", "no randomness")),
        },
    };
    let approvals = cookies::approvals(request, &config.cookie_key);
    if cookies::is_approved(&approvals, &validated.client_id, &validated.redirect_uri) {
        return go_upstream(env, &config, validated, &base, &browser, set_cookies).await;
    }
    let mut response = consent(env, &config, validated, &browser);
    set_cookies.drain(..).for_each(|c| append_header(&mut response, "set-cookie", &c));
    response
}

/// A request that cannot be trusted enough to redirect: a page; otherwise the client's redirect.
fn refused(error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Redirect(redirect) => web::redirect(&redirect.location()),
        AuthorizeError::Store(_) => unavailable_page(),
        AuthorizeError::Document(refused) => {
            let mut page = error_page(
                StatusCode::BAD_REQUEST,
                "This app could not be verified",
                &sentence(&format!("the app's client ID document could not be used: {}", refused.error)),
            );
            platform::diagnostic::attach(&mut page, &refused.to_string());
            page
        }
        other => error_page(StatusCode::BAD_REQUEST, "This sign-in link is not valid", &sentence(&other.to_string())),
    }
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Stores the validated request behind a one-time handle and shows the consent page.
fn consent<S: KeyValueStore, C: Clock, H, V>(
    env: &Env<S, C, H, V>,
    config: &FlowConfig,
    validated: ValidatedAuthorization,
    browser: &str,
) -> Response {
    let (Ok(handle), Ok(csrf)) = (random_token(), random_token()) else {
        return web::redirect(&validated.error_redirect("server_error", "no randomness"));
    };
    let record = Consent { validated, csrf_hash: hash_hex(&csrf), browser_hash: cookies::browser_hash(browser) };
    let expires_at = env.clock.now_unix() + records::CONSENT_TTL;
    if records::create(&env.store, Kind::Consent, &handle, &record, expires_at).is_err() {
        return web::redirect(&record.validated.error_redirect("temporarily_unavailable", "storage is unavailable"));
    }
    pages::consent_page(&ConsentView {
        validated: &record.validated,
        handle: &handle,
        csrf_token: &csrf,
        clerk_origin: &config.clerk.frontend_api,
    })
}

/// Creates the upstream state and redirects the browser to Clerk (with `set_cookies`).
pub(crate) async fn go_upstream<S: KeyValueStore, C: Clock, H: HttpClient, V>(
    env: &Env<S, C, H, V>,
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

/// The client-facing error for a Clerk failure: retryable ones are `temporarily_unavailable`.
pub(crate) fn clerk_failure(validated: &ValidatedAuthorization, error: &ClerkError) -> String {
    match error {
        ClerkError::UserGone { .. } => validated.error_redirect("access_denied", "this account may not sign in"),
        e if e.is_temporary() => {
            validated.error_redirect("temporarily_unavailable", "the sign-in service (Clerk) is unavailable")
        }
        _ => validated.error_redirect("server_error", "signing in with Clerk failed"),
    }
}

/// `POST /authorize`: the consent form.
pub async fn post<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables>(
    env: &Env<S, C, H, V>,
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
    let consent = match take_consent(env, request, handle, csrf) {
        Ok(consent) => consent,
        Err(page) => return *page,
    };
    if decision == "deny" {
        return web::redirect(&consent.validated.error_redirect("access_denied", "the user denied the request"));
    }
    approve(env, request, consent).await
}

fn bad_form(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This consent form is not valid", message)
}

/// Checks the form against the stored consent (same browser, right CSRF token), then uses it up.
fn take_consent<S: KeyValueStore, C: Clock, H, V>(
    env: &Env<S, C, H, V>,
    request: &Request,
    handle: &str,
    csrf: &str,
) -> Result<Consent, Box<Response>> {
    let check = |consent: &Consent| {
        let browser_ok = cookies::is_same_browser(request, &consent.browser_hash);
        if browser_ok && cookies::same_secret(&hash_hex(csrf), &consent.csrf_hash) { Ok(()) } else { Err(()) }
    };
    records::take(&env.store, &env.clock, Kind::Consent, handle, check).map_err(|error| {
        Box::new(match error {
            TakeError::Missing => bad_form("This consent page has expired. Start again from your app."),
            TakeError::Used => bad_form("This consent page was already used. Start again from your app."),
            TakeError::Refused(()) => error_page(
                StatusCode::FORBIDDEN,
                "Request not accepted",
                "This form was not submitted from the page this browser was shown (missing cookie or wrong token).",
            ),
            TakeError::Store(_) => unavailable_page(),
        })
    })
}

/// Approve: remember the (client, redirect URI) pair in the signed cookie, then go to Clerk.
async fn approve<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables>(
    env: &Env<S, C, H, V>,
    request: &Request,
    consent: Consent,
) -> Response {
    let validated = consent.validated;
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => return web::redirect(&validated.error_redirect("server_error", &e.to_string())),
    };
    let Some(browser) = cookies::browser_id(request) else {
        return bad_form("This browser's cookie is missing.");
    };
    let existing = cookies::approvals(request, &config.cookie_key);
    let remember =
        cookies::approval_set_cookie(&config.cookie_key, &existing, &validated.client_id, &validated.redirect_uri);
    let base = web::base_url(request, config.public_base_url.as_deref());
    go_upstream(env, &config, validated, &base, &browser, remember.into_iter().collect()).await
}
