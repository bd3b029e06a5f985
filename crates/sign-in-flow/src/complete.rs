//! The end of an approved `/authorize` sign-in, whichever way it was approved (on the consent
//! page before the trip to Clerk, by an approval the server holds, or on the consent page shown
//! after sign-in): the approval remembered, the grant and its code created, the browser sent to
//! the client; and the redirects that tell the client why a sign-in could not end.

use clerk_client::{Clerk, ClerkError};
use http::StatusCode;
use oauth_core::{CompleteError, UserProps, ValidatedAuthorization, complete_authorization};
use platform::web::{self, Request, Response, append_header};
use platform::{AuditEvent, Event};

use crate::config::FlowConfig;
use crate::consent::SignedInUser;
use crate::pages::error_page;
use crate::{Env, approvals, cookies};

/// Approve on a consent page shown after sign-in: the user's profile is read again from Clerk's
/// Backend API (as a refresh does: a banned or deleted user is refused), then the sign-in
/// completes.
pub(crate) async fn approve_signed_in(
    env: &Env<'_>,
    request: &Request,
    validated: &ValidatedAuthorization,
    user: SignedInUser,
) -> Response {
    let config = match env.settings.flow() {
        Ok(config) => config,
        Err(e) => return misconfigured_redirect(validated, &e),
    };
    let clerk = Clerk::new(&config.clerk, &env.ports);
    let props = match clerk.backend().get_user(&user.user_id).await {
        Ok(clerk_user) => clerk_user.props(user.session_id),
        Err(e) => {
            sign_in_failed(env, request, Some(&validated.client_id), e.code(), &e.log_detail());
            return clerk_failure(validated, &e);
        }
    };
    complete(env, request, &config, validated, props, true)
}

/// Ends an approved sign-in: records the approval for this user when they just gave it
/// (`remember`), creates the grant and its code, and sends the browser to the client, with the
/// approval remembered in this browser for this user. A request of which the user's role may
/// hold no scope at all goes back as `invalid_scope`, with nothing stored (a scope the role may
/// not hold beside others is left out of the tokens, see `oauth_core::rules::scope`).
pub(crate) fn complete(
    env: &Env<'_>,
    request: &Request,
    config: &FlowConfig,
    validated: &ValidatedAuthorization,
    props: UserProps,
    remember: bool,
) -> Response {
    let (client_id, user_id) = (validated.client_id.clone(), props.user_id.clone());
    let failed = |detail: &str| sign_in_failed(env, request, Some(&client_id), "not_completed", detail);
    if config.scopes.for_role(&validated.scope, props.role.as_deref()).is_empty() {
        let description = "this account's role may have none of the requested scopes";
        sign_in_failed(env, request, Some(&client_id), "invalid_scope", description);
        return web::redirect(&validated.error_redirect("invalid_scope", description));
    }
    let (store, clock, uri) = (env.ports.store, env.ports.clock, &validated.redirect_uri);
    if remember && let Err(error) = approvals::remember(store, clock, &user_id, &client_id, uri, &validated.scope) {
        failed(&error.to_string());
        return web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable"));
    }
    let location = match complete_authorization(env.ports.store, env.ports.clock, validated, props) {
        Ok(location) => location,
        Err(error) => {
            failed(&error.to_string());
            return not_completed(validated, error);
        }
    };
    env.record(request, AuditEvent::new(Event::SignInCompleted).client_id(&client_id).user_id(&user_id));
    let mut response = web::redirect(&location);
    let cookie_key = &config.cookie_key;
    let existing = cookies::approvals(request, cookie_key);
    let hint = cookies::approval_set_cookie(cookie_key, &existing, &user_id, &client_id, &validated.redirect_uri);
    hint.iter().for_each(|c| append_header(&mut response, "set-cookie", c));
    response
}

/// Where a sign-in that could not complete ends.
fn not_completed(validated: &ValidatedAuthorization, error: CompleteError) -> Response {
    match error {
        CompleteError::ClientGone => {
            error_page(StatusCode::BAD_REQUEST, "The app is no longer registered", "Start again from your app.")
        }
        CompleteError::Store(_) => {
            web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable"))
        }
        CompleteError::Random(_) => web::redirect(&validated.error_redirect("server_error", "no randomness")),
    }
}

/// A `sign_in.failed` audit event: `error` is our code for what went wrong (or the one Clerk's
/// token endpoint answered, server to server), `detail` our description of it (never a code,
/// token or secret).
pub(crate) fn sign_in_failed(env: &Env<'_>, request: &Request, client_id: Option<&str>, error: &str, detail: &str) {
    let mut event = AuditEvent::new(Event::SignInFailed).error(error).detail(detail);
    if let Some(client_id) = client_id {
        event = event.client_id(client_id);
    }
    env.record(request, event);
}

/// The client-facing error for a broken configuration: generic (the variable is named in the
/// log, for the operator, not to a client app).
pub(crate) fn misconfigured_redirect(validated: &ValidatedAuthorization, error: &impl std::fmt::Display) -> Response {
    let location = validated.error_redirect("server_error", "the server is misconfigured");
    logged_redirect(&location, "misconfigured", error)
}

/// A redirect to `location`, with what the client's generic description leaves out attached
/// for the operator's log (`platform::diagnostic`: the component writes it).
pub(crate) fn logged_redirect(location: &str, what: &str, detail: &impl std::fmt::Display) -> Response {
    let mut response = web::redirect(location);
    platform::diagnostic::attach(&mut response, &format!("{what}: {detail}"));
    response
}

/// The client-facing error for a Clerk failure: retryable ones are `temporarily_unavailable`.
/// The description is generic; what Clerk (or the network) said goes to the log.
pub(crate) fn clerk_failure(validated: &ValidatedAuthorization, error: &ClerkError) -> Response {
    let location = match error {
        ClerkError::UserGone { .. } => validated.error_redirect("access_denied", "this account may not sign in"),
        e if e.is_temporary() => {
            validated.error_redirect("temporarily_unavailable", "the sign-in service (Clerk) is unavailable")
        }
        _ => validated.error_redirect("server_error", "signing in with Clerk failed"),
    };
    logged_redirect(&location, "signing in with Clerk failed", error)
}
