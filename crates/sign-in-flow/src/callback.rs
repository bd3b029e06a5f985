//! `GET /callback`: Clerk sends the browser back here with `code` (or `error`) and our `state`.
//! The state is consumed once and must come from the browser that started the sign-in; it names
//! the flow to finish. For `/authorize`, the user ends up back at their client with a code or a
//! proper OAuth error, or, when the browser only remembered an approval that the server does not
//! hold for the user Clerk signed in (revoked, expired, or another person's), at a consent page
//! naming that user; for `/apps`, at the connected-apps page with a session ([`crate::apps`]).
//! Every callback of an `/authorize` sign-in ends in the audit trail as `sign_in.completed` or
//! `sign_in.failed` (with what went wrong; an `error` Clerk sent back through the browser is
//! quoted apart, as `caller_text`), or shows that consent page; so does every callback whose
//! state cannot be used.

use http::StatusCode;
use oauth_core::{UserProps, ValidatedAuthorization};
use platform::web::{self, Request, Response};
use platform::{AuditEvent, Clock, Event};

use crate::authorize::consent_page;
use crate::complete::{clerk_failure, complete, misconfigured_redirect, sign_in_failed};
use crate::config::FlowConfig;
use crate::consent::SignedInUser;
use crate::pages::{self, OneTime, error_page};
use crate::records::{self, Flow, TakeError, Upstream};
use crate::upstream::{ClerkAnswer, Unredeemed};
use crate::{Env, approvals, apps, cookies};

/// `GET /callback`.
pub async fn get(env: &Env<'_>, request: &Request) -> Response {
    let query = web::query_pairs(request);
    let Some(state) = web::first_value(&query, "state").filter(|s| !s.is_empty()) else {
        sign_in_failed(env, request, None, "invalid_state", "the callback has no state");
        return bad_callback("The sign-in response has no state.");
    };
    // This browser's sign-in, then used up.
    let taken = records::take_for_browser(env.ports.store, env.ports.clock, state, request);
    let Upstream { flow, upstream, callback_url, approved_on_page, .. } = match taken {
        Ok(upstream) => upstream,
        Err(error) => {
            let detail = "the state is unknown, expired, used or from another browser";
            sign_in_failed(env, request, None, take_error_code(&error), detail);
            return pages::cannot_use(OneTime::ClerkState, error);
        }
    };
    let answer = ClerkAnswer { query: &query, upstream: &upstream, callback_url: &callback_url };
    match flow {
        Flow::Authorize(validated) => finish_authorization(env, request, *validated, approved_on_page, &answer).await,
        Flow::Apps(_) => apps::finish_sign_in(env, &answer).await,
    }
}

/// The `/authorize` flow: the MCP client gets a code, or a proper OAuth error, or the user a
/// consent page when their approval was only remembered by the browser.
async fn finish_authorization(
    env: &Env<'_>,
    request: &Request,
    validated: ValidatedAuthorization,
    approved_on_page: bool,
    answer: &ClerkAnswer<'_>,
) -> Response {
    let (config, props) = match answer.redeem(env).await {
        Ok((config, signed_in)) => (config, signed_in.props),
        Err(unredeemed) => return not_signed_in(env, request, &validated, unredeemed),
    };
    if !approved_on_page && let Some(answer) = unless_held_by_server(env, request, &config, &validated, &props) {
        return answer;
    }
    complete(env, request, &config, &validated, props, approved_on_page)
}

/// The MCP client's answer when Clerk signed nobody in: an error redirect, and the audit line.
fn not_signed_in(
    env: &Env<'_>,
    request: &Request,
    validated: &ValidatedAuthorization,
    why: Unredeemed<'_>,
) -> Response {
    let failed = |error: &str, detail: &str| sign_in_failed(env, request, Some(&validated.client_id), error, detail);
    match why {
        Unredeemed::Refused { error, description } => {
            let (ours, ours_described) = match error {
                "access_denied" => ("access_denied", "the user cancelled the sign-in at Clerk"),
                _ => ("server_error", "Clerk reported an error during sign-in"),
            };
            // What Clerk said came back through the browser: the caller's text, kept apart.
            let clerk_said = format!("error={error} error_description={description}");
            let event =
                AuditEvent::new(Event::SignInFailed).error(ours).detail(ours_described).caller_text(&clerk_said);
            env.record(request, event.client_id(&validated.client_id));
            web::redirect(&validated.error_redirect(ours, ours_described))
        }
        Unredeemed::NoCode => {
            failed("no_code", "Clerk returned no code");
            web::redirect(&validated.error_redirect("server_error", "Clerk returned no code"))
        }
        Unredeemed::Misconfigured(e) => {
            failed("server_misconfigured", &e.to_string());
            misconfigured_redirect(validated, &e)
        }
        Unredeemed::Clerk(e) => {
            failed(e.code(), &e.log_detail());
            clerk_failure(validated, &e)
        }
    }
}

/// For an approval only the browser remembered: `None` when the server holds it for the user
/// Clerk signed in, this client, this exact redirect URI and every scope asked (recorded as
/// `consent.approved`); otherwise the answer: the consent page naming that user (asking only
/// about the scopes they have not approved, when they approved some), or
/// `temporarily_unavailable` for a store failure.
fn unless_held_by_server(
    env: &Env<'_>,
    request: &Request,
    config: &FlowConfig,
    validated: &ValidatedAuthorization,
    props: &UserProps,
) -> Option<Response> {
    let (user_id, client_id) = (&props.user_id, &validated.client_id);
    let (store, clock) = (env.ports.store, env.ports.clock);
    match approvals::approved_scopes(store, clock, user_id, client_id, &validated.redirect_uri) {
        Ok(Some(approved)) if approvals::not_yet_approved(&validated.scope, &approved).is_empty() => {
            let approved = AuditEvent::new(Event::ConsentApproved).client_id(client_id).user_id(user_id);
            env.record(request, approved.detail("remembered approval"));
            None
        }
        Ok(approved) => {
            let user = SignedInUser::new(props).with_approved(approved.unwrap_or_default());
            Some(consent_after_sign_in(env.ports.clock, request, config, validated.clone(), user))
        }
        Err(error) => {
            sign_in_failed(env, request, Some(client_id), "store_unavailable", &error.to_string());
            Some(web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable")))
        }
    }
}

/// The consent page for a user whose approval the browser remembered but the server does not
/// hold (revoked, expired, or another person's): it names who signed in, and approving it needs
/// no second trip to Clerk.
fn consent_after_sign_in(
    clock: &dyn Clock,
    request: &Request,
    config: &FlowConfig,
    validated: ValidatedAuthorization,
    user: SignedInUser,
) -> Response {
    // The state was bound to this browser, so it has its cookie.
    let Some(browser) = cookies::browser_id(request) else {
        return bad_callback("This browser's cookie is missing. Start again from your app.");
    };
    consent_page(clock, config, validated, &browser, Some(user))
}

/// The audit trail's name for why a state could not be used.
fn take_error_code(error: &TakeError<()>) -> &'static str {
    match error {
        TakeError::Missing => "invalid_state",
        TakeError::Used => "state_reused",
        TakeError::Refused(()) => "wrong_browser",
        TakeError::Store(_) => "store_unavailable",
    }
}

fn bad_callback(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This sign-in cannot continue", message)
}
